"""`offboard webhook add|list|change|pause|resume|remove|test|deliveries|resend`: the endpoints the
enterprise's events are POSTed to, signed (SPEC §9), and what reached them."""

from __future__ import annotations

from typing import Annotated

import typer

from offboard.actions import webhooks as actions
from offboard.cli.common import ByOpt, JsonOpt, act, ok, reading
from offboard.cli.output import emit_json, table
from offboard.domain import webhooks as wh
from offboard.domain.vocabulary import WebhookStatus
from offboard.queries import webhooks as queries

webhook_app = typer.Typer(help="Webhooks: the enterprise's events POSTed, signed, to endpoints it subscribes.", no_args_is_help=True)

EventOpt = Annotated[list[str] | None, typer.Option("--event", help="An event to send (repeatable), or * for every event: " + ", ".join(wh.EVENTS))]
AppOpt = Annotated[str | None, typer.Option("--app", help="The third-party app the endpoint belongs to (as its grants name it): its signed callbacks acknowledge that app's grants.")]
DescriptionOpt = Annotated[str | None, typer.Option("--description", help="What the endpoint is, in a few words.")]


@webhook_app.command("add")
def webhook_add(url: str, event: EventOpt = None, app: AppOpt = None, description: DescriptionOpt = None, by: ByOpt = None, json_out: JsonOpt = False) -> None:
    """Subscribe an https endpoint to events; its signing secret is printed once."""
    created = act(lambda u: actions.create_subscription(u, url=url, events=event or [wh.ALL], description=description, app_name=app), by)
    if json_out:
        emit_json(created)
        return
    ok("Webhook endpoint {id} added for {events}. Its signing secret, shown only now:", id=created.id, events=", ".join(created.events))
    typer.echo(created.secret)


@webhook_app.command("list")
def webhook_list(by: ByOpt = None, json_out: JsonOpt = False) -> None:
    """The endpoints, with how many deliveries reached each, wait for a retry, or were given up."""
    with reading(by) as (conn, tenant, actor):
        views = queries.list_webhooks(conn, tenant.id, actor)
    if json_out:
        emit_json(views)
        return
    table(
        None,
        ["id", "url", "events", "app", "status", "delivered", "to retry", "given up", "last delivered"],
        [[w.id, w.url, ", ".join(w.events), w.app or "—", w.status, w.delivered, w.failing, w.dead, w.last_delivered_at.isoformat(timespec="seconds") if w.last_delivered_at else "—"] for w in views],
    )


@webhook_app.command("change")
def webhook_change(
    webhook_id: int,
    url: Annotated[str | None, typer.Option("--url", help="A new https endpoint.")] = None,
    event: EventOpt = None,
    app: AppOpt = None,
    description: DescriptionOpt = None,
    by: ByOpt = None,
) -> None:
    """Change an endpoint's URL, events, app or description."""
    changes = act(lambda u: actions.update_subscription(u, webhook_id, url=url, events=event, description=description, app_name=app), by)
    ok("Webhook endpoint {id}: {changed}.", id=webhook_id, changed=", ".join(sorted(changes)) or "nothing to change")


@webhook_app.command("pause")
def webhook_pause(webhook_id: int, by: ByOpt = None) -> None:
    """Send the endpoint nothing until it is resumed (events in between are not sent to it)."""
    act(lambda u: actions.update_subscription(u, webhook_id, status=WebhookStatus.PAUSED), by)
    ok("Webhook endpoint {id} paused.", id=webhook_id)


@webhook_app.command("resume")
def webhook_resume(webhook_id: int, by: ByOpt = None) -> None:
    act(lambda u: actions.update_subscription(u, webhook_id, status=WebhookStatus.ACTIVE), by)
    ok("Webhook endpoint {id} active again.", id=webhook_id)


@webhook_app.command("remove")
def webhook_remove(webhook_id: int, by: ByOpt = None) -> None:
    """Tell the endpoint nothing more; what was sent to it stays listed."""
    act(lambda u: actions.remove_subscription(u, webhook_id), by)
    ok("Webhook endpoint {id} removed.", id=webhook_id)


@webhook_app.command("test")
def webhook_test(webhook_id: int, by: ByOpt = None) -> None:
    """Send the endpoint a webhook.test event (by the next `offboard worker` pass)."""
    delivery = act(lambda u: actions.send_test(u, webhook_id), by)
    ok("Test event queued as delivery {delivery}; `offboard worker --once` sends it now.", delivery=delivery)


@webhook_app.command("deliveries")
def webhook_deliveries(
    webhook_id: Annotated[int | None, typer.Argument(help="One endpoint's deliveries; all when omitted.")] = None,
    state: Annotated[str | None, typer.Option("--state", help="pending, failing, delivered or dead.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=queries.MAX_PAGE)] = 50,
    by: ByOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Deliveries, newest first: the event, its state, attempts, the endpoint's last answer."""
    with reading(by) as (conn, tenant, actor):
        page = queries.list_deliveries(conn, tenant.id, actor, webhook_id=webhook_id, state=state, limit=limit)
    if json_out:
        emit_json(page)
        return
    table(
        None,
        ["id", "endpoint", "event", "state", "attempts", "last answer", "next attempt", "created"],
        [
            [
                d.id,
                d.webhook_id,
                d.topic,
                d.state,
                d.attempts,
                (f"HTTP {d.last_status}" if d.last_status else d.last_error or "—")[:60],
                d.next_attempt_at.isoformat(timespec="seconds") if d.next_attempt_at else "—",
                d.created_at.isoformat(timespec="seconds"),
            ]
            for d in page.items
        ],
    )


@webhook_app.command("resend")
def webhook_resend(delivery_id: int, by: ByOpt = None) -> None:
    """Send a delivery again, with a new 24 hours of retries."""
    act(lambda u: actions.resend(u, delivery_id), by)
    ok("Delivery {id} will be sent again by the next worker pass.", id=delivery_id)
