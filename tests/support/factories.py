"""Small builders for tests: a tenant with a few departments and members."""

from __future__ import annotations

from offboard.actions import departments, members
from offboard.actions.context import Services, tenant_transaction
from offboard.actions.tenants import TenantCreated, create_tenant


def make_tenant(services: Services, slug: str = "acme", admin: str = "boss", **kwargs) -> TenantCreated:
    return create_tenant(services, slug=slug, name=kwargs.pop("name", slug.title()), admin_userid=admin, admin_name="Boss", **kwargs)


def add_department(services: Services, name: str, parent_id: int | None = None, slug: str = "acme") -> int:
    with tenant_transaction(services, slug) as uow:
        return departments.add_department(uow, name, parent_id)


def add_member(services: Services, userid: str, department_ids: list[int] | None = None, slug: str = "acme", **fields) -> int:
    with tenant_transaction(services, slug) as uow:
        return members.add_member(uow, userid=userid, name=fields.pop("name", userid.title()), department_ids=department_ids, **fields)
