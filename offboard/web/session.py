"""The console's signed-in member: the dependency every console page takes, and the redirect
to sign in (or to give the code again) when there is none. Pages import it from here, so the
page modules never import each other."""

from __future__ import annotations

from functools import cached_property
from urllib.parse import quote

from fastapi import Request

from offboard.actions.auth import Authenticated, authenticate_session
from offboard.actions.context import tenant_read
from offboard.domain.authz import Action, needs_reverification
from offboard.domain.errors import OffboardError
from offboard.domain.policy import Policy
from offboard.http.cookies import session_token
from offboard.http.csrf import csrf_token_for
from offboard.queries import power
from offboard.queries.inbox import Inbox, inbox
from offboard.store import repo
from offboard.web import menu, reverify
from offboard.web.reverify import PostedForm

PAGE_SIZE = 25  # rows per page of the console's lists


def safe_next(target: str) -> str:
    """Only a path of this site is a place to go back to (no open redirect)."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


class SignInRequired(Exception):
    def __init__(self, target: str) -> None:
        self.target = target


class Console:
    """The signed-in member of a console request."""

    def __init__(self, request: Request, auth: Authenticated, token: str) -> None:
        self.request = request
        self.auth = auth
        self.csrf = csrf_token_for(request, token)

    def require_recent_verification(self, action: Action, back: str, form: PostedForm | None = None, purpose: str | None = None) -> None:
        """Before a form of a SENSITIVE action is handled, ask for the 6-digit code again when
        the last check is over 5 minutes old (the action would refuse it).

        With the posted `form` (Depends(reverify.posted_form)) the code is asked for in place
        and the action carries on once it is right (reverify.finish); `back` is the page the
        form is on, `purpose` what the code finishes when the action's own sentence does not
        fit (a bulk exit's cancel is START_REMOVAL too). Without a form, or for an htmx
        request, off to /reverify and then to `back`."""
        if not needs_reverification(self.auth.actor, action, self.request.app.state.services.clock.now()):
            return
        if form is None or self.request.headers.get("hx-request"):
            # /reverify takes a `next` of at most 200 characters: a longer one loses its query.
            target = safe_next(back) if len(safe_next(back)) <= 200 else safe_next(back).split("?")[0]
            raise SignInRequired("/reverify?next=" + quote(target))
        self.auth = reverify.finish(self, action, safe_next(back), form, purpose)

    @property
    def menu(self) -> list[menu.Item]:
        """The menu entries the signed-in member may open, the inbox with what asks them to act,
        the handover when one waits for their acceptance (and for a party of a live handover
        who does not manage admins, the handover page at all)."""
        part = self.handover_part
        box = self.box
        badges = {"/inbox": box.to_do, "/handover": int(part.awaits_me), "/exit-requests": len(box.approvals)}
        return menu.visible(self.auth.actor, self.request.url.path, badges, opened=("/handover",) if part.opens else (), mode=self.exit_automation)

    @cached_property
    def handover_part(self) -> power.Part:
        with self.read() as (conn, tenant, actor):
            return power.handover_part(conn, tenant.id, actor, self.request.app.state.services.clock.now())

    @cached_property
    def name(self) -> str:
        """The signed-in member's name, as the header shows it."""
        with self.read() as (conn, tenant, actor):
            assert actor.member_id is not None, "a console session is a member's"
            return repo.member_names(conn, tenant.id, {actor.member_id}).get(actor.member_id) or actor.userid or ""

    @cached_property
    def box(self) -> Inbox:
        """The member's inbox: what waits for them (R-EXIT-9)."""
        with self.read() as (conn, tenant, actor):
            return inbox(conn, tenant, actor, self.request.app.state.services.clock.now())

    @property
    def to_do(self) -> int:
        """Sign-offs, customers to accept, overdue checklist items, locked accounts and exit requests waiting for this member."""
        return self.box.to_do

    @cached_property
    def exit_automation(self) -> str:
        """How the enterprise's exits start (SPEC §6): the menu shows the exit requests where they do."""
        with self.read() as (_conn, tenant, _actor):
            return Policy.of(tenant.profile, tenant.policy).exit_automation.value

    @property
    def slug(self) -> str:
        assert self.auth.tenant_slug is not None, "a console session is bound to a tenant"
        return self.auth.tenant_slug

    def read(self):
        return tenant_read(self.request.app.state.services, self.slug, actor=self.auth.actor)


def console(request: Request) -> Console:
    token = session_token(request)
    if token is None:
        raise SignInRequired("/login?next=" + quote(request.url.path))
    try:
        auth = authenticate_session(request.app.state.services, token)
    except OffboardError:
        raise SignInRequired("/login?next=" + quote(request.url.path)) from None
    if auth.stage != "full":
        raise SignInRequired("/login/totp")
    return Console(request, auth, token)
