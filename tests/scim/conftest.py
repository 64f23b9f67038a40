"""A company (tests.support.exits) with a SCIM token of its own, and a client speaking SCIM to
the ASGI app, as an identity provider does."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from offboard.actions import scim as scim_actions
from offboard.actions.context import tenant_transaction
from offboard.api.app import create_app
from tests.support.exits import Company, make_company

SCIM = "application/scim+json"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


@dataclass
class Provider:
    """An identity provider's view: its client, its token and the company behind them."""

    company: Company
    client: TestClient
    token: str
    clock: object

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": SCIM, "Accept": SCIM}

    def get(self, path: str, **kwargs):
        return self.client.get(f"/scim/v2{path}", headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)

    def send(self, method: str, path: str, body: dict | None = None, **headers: str):
        return self.client.request(method, f"/scim/v2{path}", json=body, headers={**self.headers, **headers})

    def patch(self, member_id: int, *operations: dict, **headers: str):
        return self.send("PATCH", f"/Users/{member_id}", {"schemas": [PATCH_OP], "Operations": list(operations)}, **headers)


@pytest.fixture
def provider(services, clock) -> Provider:
    company = make_company(services, profile="dingtalk")
    with tenant_transaction(services, company.slug, "boss") as uow:
        token = scim_actions.create_token(uow, "Entra ID").token
    return Provider(company, TestClient(create_app(services)), token, clock)
