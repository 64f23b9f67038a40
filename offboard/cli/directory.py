"""Commands for the directory: tenants, members, roles, departments, tokens."""

from __future__ import annotations

from typing import Annotated

import typer

from offboard.actions import departments as dept_actions
from offboard.queries import directory as directory_q
from offboard.queries import members as members_q
from offboard.actions import members as member_actions
from offboard.actions import roles as role_actions
from offboard.actions import tokens as token_actions
from offboard.actions.auth import create_operator_token
from offboard.actions.sign_in_locks import unlock_sign_in
from offboard.actions.tenants import create_tenant
from offboard.cli.common import ByOpt, JsonOpt, act, ok, parse_ids, reading
from offboard.cli.output import emit_json, kv, table
from offboard.cli.state import STATE

tenant_app = typer.Typer(help="Enterprises (tenants).", no_args_is_help=True)
member_app = typer.Typer(help="Members of the enterprise.", no_args_is_help=True)
role_app = typer.Typer(help="Roles of a member (audited; INV-1 checked under the tenant lock).", no_args_is_help=True)
department_app = typer.Typer(help="The department tree.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens: personal, or tenant service tokens.", no_args_is_help=True)
member_app.add_typer(role_app, name="role")


@tenant_app.command("create")
def tenant_create(
    slug: str,
    name: Annotated[str, typer.Option("--name", help="Enterprise name.")],
    admin: Annotated[str, typer.Option("--admin", help="Userid of the first super admin.")],
    admin_name: Annotated[str, typer.Option("--admin-name", help="Name of the first super admin.")],
    region: Annotated[str, typer.Option(help="Data region: cn, eu, us, sg.")] = "cn",
    profile: Annotated[str, typer.Option(help="Policy profile: wecom, dingtalk, feishu.")] = "wecom",
    timezone: Annotated[str, typer.Option(help="IANA time zone of leave dates.")] = "Asia/Shanghai",
    json_out: JsonOpt = False,
) -> None:
    """Create an enterprise together with its first super admin (operator)."""
    result = create_tenant(STATE.services(), slug=slug, name=name, admin_userid=admin, admin_name=admin_name, region=region, profile=profile, timezone=timezone)
    if json_out:
        emit_json(result)
    else:
        ok("Enterprise {slug} created; {admin} is its super admin.", slug=slug, admin=admin)


@tenant_app.command("list")
def tenant_list(json_out: JsonOpt = False) -> None:
    rows = directory_q.list_tenants(STATE.services())
    if json_out:
        emit_json(rows)
        return
    table(
        None,
        ["slug", "name", "region", "profile", "timezone", "status", "members", "audit events"],
        [[r.slug, r.name, r.region, r.profile, r.timezone, r.status, r.members, r.audit_events] for r in rows],
    )


@member_app.command("add")
def member_add(
    userid: str,
    name: Annotated[str, typer.Option("--name")],
    department: Annotated[list[str] | None, typer.Option("--department", "-d", help="Department id; repeat or comma-separate; the first is primary.")] = None,
    email: Annotated[str | None, typer.Option()] = None,
    mobile: Annotated[str | None, typer.Option()] = None,
    title: Annotated[str | None, typer.Option()] = None,
    region: Annotated[str | None, typer.Option(help="Data region; the enterprise's by default.")] = None,
    manager: Annotated[str | None, typer.Option(help="Userid of the direct manager.")] = None,
    external_id: Annotated[str | None, typer.Option("--external-id", help="HR system id (SCIM externalId).")] = None,
    by: ByOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Add a member."""
    member_id = act(
        lambda u: member_actions.add_member(
            u,
            userid=userid,
            name=name,
            department_ids=parse_ids(department),
            email=email,
            mobile=mobile,
            title=title,
            region=region,
            manager_userid=manager,
            external_id=external_id,
        ),
        by,
    )
    if json_out:
        emit_json({"id": member_id, "userid": userid})
    else:
        ok("Member {userid} added (id {id}).", userid=userid, id=member_id)


@member_app.command("update")
def member_update(
    userid: str,
    name: Annotated[str | None, typer.Option()] = None,
    email: Annotated[str | None, typer.Option()] = None,
    mobile: Annotated[str | None, typer.Option()] = None,
    title: Annotated[str | None, typer.Option()] = None,
    region: Annotated[str | None, typer.Option()] = None,
    external_id: Annotated[str | None, typer.Option("--external-id")] = None,
    department: Annotated[list[str] | None, typer.Option("--department", "-d", help="Replace departments; the first is primary.")] = None,
    manager: Annotated[str | None, typer.Option(help="Userid of the new direct manager.")] = None,
    no_manager: Annotated[bool, typer.Option("--no-manager", help="Clear the direct manager.")] = False,
    by: ByOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Change a member's profile, departments or manager."""
    changes = {k: val for k, val in {"name": name, "email": email, "mobile": mobile, "title": title, "region": region, "external_id": external_id}.items() if val is not None}
    result = act(
        lambda u: member_actions.update_member(u, userid, changes=changes, department_ids=parse_ids(department), manager_userid=manager, clear_manager=no_manager),
        by,
    )
    if json_out:
        emit_json(result)
    elif result["changed"]:
        ok("Member {userid} updated: {fields}.", userid=userid, fields=", ".join(result["changed"]))
    else:
        ok("Nothing to change for {userid}.", userid=userid)


@member_app.command("list")
def member_list(
    status: Annotated[str | None, typer.Option(help="active, frozen, exited, finalized or erased.")] = None,
    department: Annotated[int | None, typer.Option(help="Department id (its whole subtree).")] = None,
    role: Annotated[str | None, typer.Option(help="super_admin, admin, hr or it.")] = None,
    search: Annotated[str | None, typer.Option("--search", "-q", help="Part of userid, name or email.")] = None,
    limit: Annotated[int, typer.Option(help="Page size (1-500).")] = 500,
    offset: Annotated[int, typer.Option()] = 0,
    by: ByOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List members, with filters and pages."""
    with reading(by) as (conn, tenant, actor):
        page = members_q.list_members(conn, tenant.id, actor, status=status, department_id=department, role=role, query=search, limit=limit, offset=offset)
    if json_out:
        emit_json(page)
        return
    table(
        f"{page.offset + 1}-{page.offset + len(page.items)} / {page.total}" if page.items else "0",
        ["id", "userid", "name", "department", "title", "status", "roles"],
        [[m.id, m.userid, m.name, m.department, m.title, m.status, ", ".join(m.roles)] for m in page.items],
    )


@member_app.command("show")
def member_show(userid: str, by: ByOpt = None, json_out: JsonOpt = False) -> None:
    """A member with departments, roles and owned resources by kind."""
    with reading(by) as (conn, tenant, actor):
        data = members_q.show_member(conn, tenant.id, actor, userid, now=STATE.services().clock.now())
    if json_out:
        emit_json(data)
        return
    kv(
        f"{data.name} ({data.userid})",
        [
            ("id", data.id),
            ("status", data.status),
            ("email", data.email),
            ("mobile", data.mobile),
            ("title", data.title),
            ("region", data.region),
            ("manager", data.manager),
            ("external_id", data.external_id),
            ("departments", ", ".join(f"{d.name}{' *' if d.primary else ''}" for d in data.departments)),
            ("roles", ", ".join(r.role + (f":{r.rank}" if r.rank else "") for r in data.roles) or "-"),
            *([("emergency powers until", data.emergency_until)] if data.emergency_until else []),
        ],
    )
    table(None, ["resource kind", "owned"], [[k, n] for k, n in data.resources.items()])


@member_app.command("unlock")
def member_unlock(userid: str, by: ByOpt = None, json_out: JsonOpt = False) -> None:
    """Lift the sign-in lock of a member after too many wrong passwords or 6-digit codes."""
    cleared = act(lambda u: unlock_sign_in(u, userid), by)
    if json_out:
        emit_json({"userid": userid, "locks_cleared": cleared})
    else:
        ok("Sign-in of {userid} is unlocked.", userid=userid)


@role_app.command("add")
def role_add(
    userid: str,
    role: Annotated[str, typer.Argument(help="super_admin, admin, hr or it.")],
    rank: Annotated[str | None, typer.Option(help="super_admin only: primary or backup.")] = None,
    scope: Annotated[list[str] | None, typer.Option("--scope", help="admin only: department ids.")] = None,
    permission: Annotated[list[str] | None, typer.Option("--permission", help="admin only: audit_read, manage_members, export.")] = None,
    by: ByOpt = None,
) -> None:
    """Grant a role."""
    act(lambda u: role_actions.grant_role(u, userid, role, rank=rank, scope=parse_ids(scope), permissions=permission), by)
    ok("{userid} now holds {role}.", userid=userid, role=role)


@role_app.command("remove")
def role_remove(userid: str, role: str, by: ByOpt = None) -> None:
    """Remove a role; the last active super admin can never be demoted (INV-1)."""
    act(lambda u: role_actions.remove_role(u, userid, role), by)
    ok("{userid} no longer holds {role}.", userid=userid, role=role)


@department_app.command("add")
def department_add(
    name: str,
    parent: Annotated[int | None, typer.Option(help="Parent department id; the root by default.")] = None,
    by: ByOpt = None,
    json_out: JsonOpt = False,
) -> None:
    dept_id = act(lambda u: dept_actions.add_department(u, name, parent), by)
    if json_out:
        emit_json({"id": dept_id, "name": name})
    else:
        ok("Department {name} added (id {id}).", name=name, id=dept_id)


@department_app.command("move")
def department_move(department_id: int, parent: Annotated[int, typer.Option("--parent", help="New parent department id.")], by: ByOpt = None) -> None:
    """Move a department (and its subtree) under another parent."""
    act(lambda u: dept_actions.move_department(u, department_id, parent), by)
    ok("Department {id} moved under {parent}.", id=department_id, parent=parent)


@department_app.command("leader")
def department_leader(department_id: int, leader: Annotated[str | None, typer.Argument(help="Userid; omit to clear.")] = None, by: ByOpt = None) -> None:
    """Set or clear a department's leader."""
    act(lambda u: dept_actions.set_leader(u, department_id, leader), by)
    ok("Leader of department {id} set.", id=department_id)


@department_app.command("list")
def department_list(by: ByOpt = None, json_out: JsonOpt = False) -> None:
    """The department tree with headcount and status."""
    with reading(by) as (conn, tenant, actor):
        rows = directory_q.list_departments(conn, tenant.id, actor)
    if json_out:
        emit_json(rows)
        return
    table(None, ["id", "department", "headcount", "status", "leader"], [[r.id, "  " * r.depth + r.name, r.headcount, r.status, r.leader] for r in rows])


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option("--name", help="What the token is for.")] = "cli",
    service: Annotated[bool, typer.Option("--service", help="A tenant service token (survives exits) instead of a personal one.")] = False,
    operator: Annotated[bool, typer.Option("--operator", help="An operator token, bound to no enterprise (manages enterprises over the API).")] = False,
    scope: Annotated[list[str] | None, typer.Option("--scope", help="What the token may do; repeat for more (at least one): " + ", ".join(token_actions.SCOPES) + ".")] = None,
    expires_days: Annotated[int | None, typer.Option("--expires-days")] = None,
    by: ByOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create an API token; its secret is printed once."""
    if operator:
        if by or service:
            raise typer.BadParameter("--operator excludes --by and --service")
        operator_token = create_operator_token(STATE.services(), name)
        if json_out:
            emit_json(operator_token)
        else:
            ok("Operator token created. Copy it now, it is not shown again:")
            typer.echo(operator_token.token)
        return
    result = act(lambda u: token_actions.create_token(u, name=name, service=service, scopes=scope or [], expires_days=expires_days), by)
    if json_out:
        emit_json(result)
    else:
        ok("Token {id} created. Copy it now, it is not shown again:", id=result.id)
        typer.echo(result.token)


@token_app.command("list")
def token_list(by: ByOpt = None, json_out: JsonOpt = False) -> None:
    with reading(by) as (conn, tenant, actor):
        rows = directory_q.list_tokens(conn, tenant.id, actor)
    if json_out:
        emit_json(rows)
        return
    table(
        None,
        ["id", "name", "owner", "prefix", "scopes", "created", "revoked"],
        [[r.id, r.name, r.owner or "(service)", r.prefix, ",".join(r.scopes), r.created_at[:19], (r.revoked_at or "")[:19]] for r in rows],
    )


@token_app.command("revoke")
def token_revoke(token_id: int, by: ByOpt = None) -> None:
    act(lambda u: token_actions.revoke_token(u, token_id), by)
    ok("Token {id} revoked.", id=token_id)


@member_app.command("credentials")
def member_credentials(
    userid: str,
    password: Annotated[bool, typer.Option("--password", help="Set a new password (asked twice, never echoed).")] = False,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the new password from standard input.")] = False,
    new_totp: Annotated[bool, typer.Option("--new-totp", help="Enrol a new TOTP secret and print it once, with its otpauth:// URI.")] = False,
    by: ByOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Set a member's password and/or enrol their authenticator app (TOTP)."""
    import sys

    import pyotp

    from offboard.crypto.secrets import new_totp_secret

    secret_value = None
    if password_stdin:
        secret_value = sys.stdin.readline().rstrip("\n")
    elif password:
        secret_value = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    totp_secret = new_totp_secret() if new_totp else None
    if secret_value is None and totp_secret is None:
        raise typer.BadParameter("give --password, --password-stdin or --new-totp")
    act(lambda u: member_actions.set_credentials(u, userid, password=secret_value, totp_secret=totp_secret), by)
    result = {"userid": userid, "password_set": secret_value is not None}
    if totp_secret:
        result["totp_secret"] = totp_secret
        result["otpauth_uri"] = pyotp.TOTP(totp_secret).provisioning_uri(name=userid, issuer_name=f"offboard ({STATE.tenant_slug()})")
    if json_out:
        emit_json(result)
        return
    ok("Credentials of {userid} updated.", userid=userid)
    if totp_secret:
        typer.echo(f"TOTP secret: {totp_secret}")
        typer.echo(result["otpauth_uri"])


@department_app.command("dissolve")
def department_dissolve(department_id: int, by: ByOpt = None) -> None:
    """Dissolve an empty department and its empty sub-departments (R-ORG-1)."""
    n = act(lambda u: dept_actions.dissolve_department(u, department_id), by)
    ok("{n} department(s) dissolved.", n=n)
