"""The overview's figures as charts and as tables: the same numbers, with the link to the list
behind each one. The page hands the charts to /static/dashboard.js as JSON (the console's CSP
runs no inline script); the tables are what a screen reader and a reader without colour read."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from offboard.i18n import translate
from offboard.queries.dashboard import Dashboard, ExitsByMonth, Month
from offboard.i18n import glossary
from offboard.web.exit_views import local_time
from offboard.i18n import mark as _


NO_DEPARTMENT = _("No department")
ROOT_ONLY = _("{name} (its own members)")
TRANSFERS_LIST = "#transfers-list"


@dataclass(frozen=True)
class Cell:
    n: int
    href: str | None  # the list behind the number


@dataclass(frozen=True)
class Row:
    label: str
    cells: list[Cell]
    total: Cell


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    columns: list[str]  # the x axis: months, roles, transfer states
    rows: list[Row]  # a dataset each: reasons, departments, kinds
    stacked: bool = True
    empty: bool = field(default=False)

    def payload(self) -> dict[str, object]:
        """What dashboard.js draws: labels, and per dataset its numbers and their links."""
        return {
            "id": self.id,
            "title": self.title,
            "stacked": self.stacked,
            "labels": self.columns,
            "datasets": [{"label": r.label, "data": [c.n for c in r.cells], "links": [c.href for c in r.cells]} for r in self.rows],
        }


def exits_list(**params: object) -> str:
    pairs: list[tuple[str, object]] = []
    for key, value in params.items():
        if isinstance(value, list):
            pairs += [(key, item) for item in value]
        elif value is not None:
            pairs.append((key, value))
    return "/exits?" + urlencode(pairs)


def _month_row(label: str, counts: list[int], months: list[Month], **filters: object) -> Row:
    cells = [Cell(n, exits_list(**filters, **{"from": m.first, "to": m.last}) if n else None) for n, m in zip(counts, months)]
    total = sum(counts)
    return Row(label, cells, Cell(total, exits_list(**filters, **{"from": months[0].first, "to": months[-1].last}) if total else None))


def by_reason(found: ExitsByMonth, locale: str) -> Chart:
    rows = [_month_row(glossary.term("reason_category", s.reason_category, locale), s.counts, found.months, reason=s.reason_category, state=found.states) for s in found.by_reason if s.total]
    return Chart("exits-by-reason", translate(_("Exits per month by reason"), locale), [m.key for m in found.months], rows, empty=not rows)


def by_department(found: ExitsByMonth, locale: str) -> Chart:
    rows = []
    for s in found.by_department:
        if s.department_id is None:
            rows.append(Row(translate(NO_DEPARTMENT, locale), [Cell(n, None) for n in s.counts], Cell(s.total, None)))
            continue
        label = (s.name or "") if s.subtree else translate(ROOT_ONLY, locale, name=s.name)
        rows.append(_month_row(label, s.counts, found.months, department=s.department_id, subdepartments=None if s.subtree else "false", state=found.states))
    return Chart("exits-by-department", translate(_("Exits per month by department"), locale), [m.key for m in found.months], rows, empty=not rows)


def open_items(figures: Dashboard, locale: str) -> Chart:
    roles = [glossary.term("role", o.role, locale) for o in figures.open_items]
    cells = [Cell(o.items, f"/checklist#board-{o.role}") for o in figures.open_items]
    row = Row(translate(_("Open items"), locale), cells, Cell(sum(c.n for c in cells), "/checklist"))
    return Chart("open-items", translate(_("Open checklist items by owner"), locale), roles, [row], stacked=False, empty=False)


def customer_transfers(figures: Dashboard, locale: str) -> Chart:
    counts = figures.customer_transfers.counts
    states = list(dict.fromkeys(c.state for c in counts))
    rows = []
    for kind in dict.fromkeys(c.kind for c in counts):
        cells = [Cell(c.count, TRANSFERS_LIST if c.count else None) for state in states for c in counts if c.kind == kind and c.state == state]
        total = sum(c.n for c in cells)
        rows.append(Row(glossary.term("resource_kind", kind, locale), cells, Cell(total, TRANSFERS_LIST if total else None)))
    return Chart("customer-transfers", translate(_("Customer transfers waiting or refused"), locale), [glossary.term("ledger_state", s, locale) for s in states], rows, stacked=False, empty=False)


@dataclass(frozen=True)
class DueRow:
    exit_id: int
    name: str
    userid: str
    at: str  # in the enterprise's time zone


@dataclass(frozen=True)
class Overview:
    charts: list[Chart]
    restore_ending: list[DueRow]
    scheduled: list[DueRow]
    transfer_exits: list[dict[str, object]]

    def payload(self) -> list[dict[str, object]]:
        return [c.payload() for c in self.charts if not c.empty]


def overview(figures: Dashboard, locale: str) -> Overview:
    tz = figures.timezone
    charts = [by_reason(figures.exits_by_month, locale), by_department(figures.exits_by_month, locale), open_items(figures, locale), customer_transfers(figures, locale)]
    return Overview(
        charts=charts,
        restore_ending=[DueRow(e.exit_id, e.member.name, e.member.userid, local_time(e.at, tz)) for e in figures.restore_ending],
        scheduled=[DueRow(e.exit_id, e.member.name, e.member.userid, local_time(e.at, tz)) for e in figures.scheduled],
        transfer_exits=[
            {
                "exit_id": t.exit_id,
                "name": t.member.name,
                "userid": t.member.userid,
                "kind": glossary.term("resource_kind", t.kind, locale),
                "state": glossary.term("ledger_state", t.state, locale),
                "count": t.count,
                "href": f"/exits/{t.exit_id}?{urlencode({'tab': 'handover', 'kind': t.kind, 'state': t.state})}",
            }
            for t in figures.customer_transfers.exits
        ],
    )
