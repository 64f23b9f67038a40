"""Issue 9 item 4: a console form of a SENSITIVE action posted when the last second-factor check
is over 5 minutes old is answered with the re-verification page, which posts back to the same
action with every submitted field; the right code then completes the action in that request.
A wrong or replayed code is refused as POST /reverify refuses it, and nothing else changes."""

from __future__ import annotations

import html
import re
from urllib.parse import quote, urlencode

from offboard.actions.context import tenant_transaction
from offboard.queries import checklist as cl_queries
from offboard.queries import exits as exit_queries
from offboard.web.reverify import CODE_FIELD
from tests.api.conftest import CSRF_INPUT, World, sign_in
from tests.api.test_token_scopes import _exit, _member
from tests.support.db import actions_since, audit_seq

EN = {"Accept-Language": "en"}
FORM = re.compile(r'<form method="post" action="([^"]+)" class="stack">(.*?)</form>', re.S)
HIDDEN = re.compile(r'<input type="hidden" name="([^"]*)" value="([^"]*)">')


def asked_for_code(response, url: str, code_field: str = CODE_FIELD) -> list[tuple[str, str]]:
    """The re-verification page posting back to `url`; returns the fields it carries, in order."""
    assert response.status_code in (200, 401, 423, 429), f"{response.status_code} {response.text[:300]}"
    assert response.headers["content-type"].startswith("text/html")
    form = FORM.search(response.text)
    assert form, response.text[:500]
    assert html.unescape(form.group(1)) == url
    assert f'name="{code_field}"' in form.group(2) and 'inputmode="numeric"' in form.group(2)
    return [(html.unescape(name), html.unescape(value)) for name, value in HIDDEN.findall(form.group(2))]


def post(client, url: str, fields: list[tuple[str, str]]):
    """POST a form as a browser does: the fields in order, a name as often as it was given."""
    return client.post(url, content=urlencode(fields), headers={"Content-Type": "application/x-www-form-urlencoded"})


def stale_session(world: World, who: str):
    """A console session of `who` whose last code was given 6 minutes ago; (client, csrf)."""
    client = world.client()
    client.headers.update(EN)
    csrf = sign_in(client, world, world.a, who)
    world.clock.advance(minutes=6)
    return client, csrf


def signoffs(world: World, exit_id: int) -> list[str]:
    with tenant_transaction(world.services, world.a.slug) as uow:
        return sorted(cl_queries.checklist(uow.conn, uow.tenant, uow.actor, exit_id, uow.now).signoffs)


def test_issue_9_a_stale_sign_off_is_finished_with_the_code_in_the_same_request(world):
    exit_id = _exit(world, _member(world))
    client, csrf = stale_session(world, "it")
    url = f"/exits/{exit_id}/signoff"
    before = audit_seq(world.services, world.a.slug)

    asked = client.post(url, data={"csrf": csrf, "role": "it"})
    assert asked.status_code == 200  # a page to finish the form on, not an error
    carried = asked_for_code(asked, url)
    assert carried == [("csrf", csrf), ("role", "it")]
    assert "Enter your 6-digit code to record this on the exit&#39;s checklist." in asked.text
    assert audit_seq(world.services, world.a.slug) == before, "asking for the code changed something"

    wrong = post(client, url, [*carried, (CODE_FIELD, "000000")])
    assert wrong.status_code == 401
    assert asked_for_code(wrong, url) == carried
    alert = re.search(r'<div class="alert" role="alert">(.*?)</div>', wrong.text, re.S).group(1)
    assert alert.startswith("That code is wrong, expired or already used") and "bad_totp" not in alert.split("<small")[0]
    assert re.search(r'<small class="ref">[^<]*bad_totp</small>', alert), alert
    assert actions_since(world.services, world.a.slug, before) == ["auth.totp_failed"]
    assert signoffs(world, exit_id) == []

    world.clock.advance(seconds=30)
    seq = audit_seq(world.services, world.a.slug)
    done = post(client, url, [*carried, (CODE_FIELD, world.a["it"].code(world.clock))])
    assert done.status_code == 303 and done.headers["location"] == f"/exits/{exit_id}?tab=checklist&notice=signed", done.text[:300]
    assert actions_since(world.services, world.a.slug, seq) == ["auth.second_factor_verified", "exit.signed_off"]
    assert signoffs(world, exit_id) == ["it"]
    assert "Signed off." in client.get(done.headers["location"]).text


def test_issue_9_a_stale_inheritance_keeps_its_fields_through_a_wrong_code(world):
    exit_id = _exit(world, _member(world, customers=2))
    client, csrf = stale_session(world, "hr")
    url = f"/exits/{exit_id}/inherit"
    fields = [("csrf", csrf), ("kind", "external_contact"), ("to", "alpha-member")]
    carried = asked_for_code(post(client, url, fields), url)
    assert carried == fields
    before = audit_seq(world.services, world.a.slug)
    for _ in range(2):
        wrong = post(client, url, [*carried, (CODE_FIELD, "123456")])
        assert wrong.status_code == 401 and asked_for_code(wrong, url) == fields
    assert "exit.inherited" not in actions_since(world.services, world.a.slug, before)
    world.clock.advance(seconds=30)
    done = post(client, url, [*carried, (CODE_FIELD, world.a["hr"].code(world.clock))])
    assert done.status_code == 303 and done.headers["location"] == f"/exits/{exit_id}?tab=handover&notice=inherited&n=2", done.text[:300]
    assert actions_since(world.services, world.a.slug, before)[-1] == "exit.inherited"
    # Verified now: the next sensitive form within 5 minutes is not asked again.
    again = post(client, url, fields)
    assert again.status_code == 409 and "reverify_code" not in again.text  # nothing left to inherit


def test_issue_9_a_code_already_used_is_refused_and_the_form_is_not_done(world):
    """The same person in two browsers: a code that finished a form in one is refused in the other."""
    first_exit, second_exit = _exit(world, _member(world)), _exit(world, _member(world))
    one = world.client()
    csrf_one = sign_in(one, world, world.a, "it")
    world.clock.advance(seconds=30)
    two = world.client()
    csrf_two = sign_in(two, world, world.a, "it")
    world.clock.advance(minutes=6)
    code = world.a["it"].code(world.clock)
    done = one.post(f"/exits/{first_exit}/signoff", data={"csrf": csrf_one, "role": "it", CODE_FIELD: code})
    assert done.status_code == 303, done.text[:300]
    before = audit_seq(world.services, world.a.slug)
    replayed = two.post(f"/exits/{second_exit}/signoff", data={"csrf": csrf_two, "role": "it", CODE_FIELD: code})
    assert replayed.status_code == 401 and "bad_totp" in replayed.text
    assert asked_for_code(replayed, f"/exits/{second_exit}/signoff") == [("csrf", csrf_two), ("role", "it")]
    assert actions_since(world.services, world.a.slug, before) == ["auth.totp_replayed"]
    assert signoffs(world, second_exit) == []


def test_issue_9_a_code_is_checked_only_on_a_form_of_this_site(world):
    exit_id = _exit(world, _member(world))
    client, _csrf = stale_session(world, "it")
    before = audit_seq(world.services, world.a.slug)
    forged = client.post(f"/exits/{exit_id}/signoff", data={"csrf": "forged", "role": "it", CODE_FIELD: world.a["it"].code(world.clock)})
    assert forged.status_code == 403 and "csrf_failed" in forged.text
    assert audit_seq(world.services, world.a.slug) == before


def test_issue_9_confirming_a_long_exit_plan_after_the_code_keeps_the_reason_and_the_acceptors(world):
    """A 1,500-character reason and three acceptors, far past what a link back could carry."""
    member = _member(world, customers=1)
    reason = ("合同到期,不再续签;交接已与部门负责人确认。" * 70)[:1490] + ' "<&>"\nend'
    assert len(reason) == 1500
    acceptors = [("external_contact", "alpha-member"), ("document", "alpha-it"), ("calendar", "alpha-hr")]
    client, csrf = stale_session(world, "hr")
    typed = [("csrf", csrf), ("reason_category", "contract_end"), ("reason", reason), *[pair for kind, userid in acceptors for pair in (("acceptor_kind", kind), ("acceptor", userid))]]
    plan = post(client, f"/members/{member}/exit/plan", typed)
    assert plan.status_code == 200, plan.text[:300]
    confirm = re.search(r'<form method="post" action="/exits" class="form-actions">(.*?)</form>', plan.text, re.S)
    assert confirm, "the plan offers to start the exit"
    fields = [(html.unescape(n), html.unescape(v)) for n, v in HIDDEN.findall(confirm.group(1))]

    asked = post(client, "/exits", fields)
    carried = asked_for_code(asked, "/exits")
    assert carried == fields and dict(carried)["reason"] == reason
    assert [v for n, v in carried if n == "acceptor_kind"] == [k for k, _u in acceptors] and [v for n, v in carried if n == "acceptor"] == [u for _k, u in acceptors]
    assert "Enter your 6-digit code to start the exit as planned." in asked.text

    world.clock.advance(seconds=30)
    done = post(client, "/exits", [*carried, (CODE_FIELD, world.a["hr"].code(world.clock))])
    assert done.status_code == 303 and re.fullmatch(r"/exits/\d+\?notice=started", done.headers["location"]), done.text[:300]
    exit_id = int(done.headers["location"].split("/")[2].split("?")[0])
    with tenant_transaction(world.services, world.a.slug) as uow:
        started = exit_queries.exit_summary(uow.conn, uow.tenant_id, exit_id)
    assert started.member.id == member and started.reason == reason and started.reason_category == "contract_end"
    assert set(started.acceptors) == {k for k, _u in acceptors}


def test_issue_9_a_link_that_is_not_a_form_still_re_verifies_at_reverify(world):
    client, csrf = stale_session(world, "hr")
    page = client.get("/reverify?next=/inbox")
    assert page.status_code == 200 and asked_for_code(page, "/reverify", "code") == [("csrf", CSRF_INPUT.search(page.text).group(1)), ("next", "/inbox")]
    wrong = client.post("/reverify", data={"csrf": csrf, "next": "/inbox", "code": "000000"})
    assert wrong.status_code == 401 and re.search(r'<small class="ref">[^<]*bad_totp</small>', wrong.text)
    world.clock.advance(seconds=30)
    done = client.post("/reverify", data={"csrf": csrf, "next": "/inbox", "code": world.a["hr"].code(world.clock)})
    assert done.status_code == 303 and done.headers["location"] == "/inbox"


def test_issue_9_wrong_codes_in_a_row_are_throttled_on_the_same_page_with_retry_after(world):
    """The second factor's own throttle (actions.auth), as POST /reverify applies it."""
    exit_id = _exit(world, _member(world))
    client, csrf = stale_session(world, "it")
    url = f"/exits/{exit_id}/signoff"
    fields = [("csrf", csrf), ("role", "it")]
    statuses = []
    for _ in range(8):
        answer = post(client, url, [*fields, (CODE_FIELD, "000000")])
        statuses.append(answer.status_code)
        if answer.status_code != 401:
            break
    assert statuses[:5] == [401] * 5 and statuses[-1] == 429, statuses
    assert int(answer.headers["Retry-After"]) > 0
    assert asked_for_code(answer, url) == fields and re.search(r'<small class="ref">[^<]*too_many_attempts</small>', answer.text)
    # Even the right code waits until then; the sign-off is not done. After the wait, it is.
    code = world.a["it"].code(world.clock)
    waiting = post(client, url, [*fields, (CODE_FIELD, code)])
    assert waiting.status_code == 429 and signoffs(world, exit_id) == []
    world.clock.advance(seconds=int(waiting.headers["Retry-After"]))
    done = post(client, url, [*fields, (CODE_FIELD, world.a["it"].code(world.clock))])
    assert done.status_code == 303 and signoffs(world, exit_id) == ["it"], done.text[:300]


def test_issue_9_an_htmx_request_is_still_sent_to_reverify_and_back(world):
    """A form sent by htmx cannot show a page in place: it is redirected as before."""
    exit_id = _exit(world, _member(world))
    client, csrf = stale_session(world, "it")
    answer = client.post(f"/exits/{exit_id}/signoff", data={"csrf": csrf, "role": "it"}, headers={"HX-Request": "true"})
    assert answer.status_code == 204 and answer.headers["HX-Redirect"] == "/reverify?next=" + quote(f"/exits/{exit_id}?tab=checklist")
    assert signoffs(world, exit_id) == []
