"""`offboard scim token create|revoke`: the bearer token an identity provider (Entra ID, Okta, …)
sends to /scim/v2; hashed at rest, its secret printed once."""

from __future__ import annotations

from typing import Annotated

import typer

from offboard.actions import scim as scim_actions
from offboard.actions import tokens as token_actions
from offboard.cli.common import ByOpt, JsonOpt, act, ok
from offboard.cli.output import emit_json

scim_app = typer.Typer(help="SCIM 2.0 provisioning by an identity provider (/scim/v2).", no_args_is_help=True)
token_app = typer.Typer(help="The identity provider's SCIM token.", no_args_is_help=True)
scim_app.add_typer(token_app, name="token")


@token_app.command("create")
def scim_token_create(
    name: Annotated[str, typer.Option("--name", help="Which identity provider it is for, e.g. Entra ID.")] = "SCIM",
    by: ByOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create the token an identity provider sends as `Authorization: Bearer …`; printed once."""
    created = act(lambda u: scim_actions.create_token(u, name), by)
    if json_out:
        emit_json(created)
        return
    ok("SCIM token {id} created. Enter it in the identity provider with the URL https://<this host>/scim/v2; copy it now, it is not shown again:", id=created.id)
    typer.echo(created.token)


@token_app.command("revoke")
def scim_token_revoke(token_id: int, by: ByOpt = None) -> None:
    """Revoke a SCIM token: the identity provider is refused (401) from its next request on."""
    act(lambda u: token_actions.revoke_token(u, token_id), by)
    ok("Token {id} revoked.", id=token_id)
