"""What a person calls each resource of the ledger: its name or title, read in one query per
resource kind for a set of (kind, id) pairs (SPEC §10)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Column, ColumnElement, Connection, Select, select

from offboard.domain.vocabulary import ResourceKind
from offboard.store.tables import (
    approval_tasks,
    approval_templates,
    calendars,
    customer_groups,
    departments,
    documents,
    external_contacts,
    internal_groups,
    members,
    self_built_apps,
)

K = ResourceKind
TITLES: dict[ResourceKind, Column[str]] = {
    K.EXTERNAL_CONTACT: external_contacts.c.name,
    K.CUSTOMER_GROUP: customer_groups.c.name,
    K.INTERNAL_GROUP: internal_groups.c.name,
    K.DOCUMENT: documents.c.title,
    K.CALENDAR: calendars.c.name,
    K.APPROVAL_TEMPLATE: approval_templates.c.name,
    K.APPROVAL_TASK: approval_tasks.c.title,
    K.SELF_BUILT_APP: self_built_apps.c.name,
    K.DIRECT_REPORT: members.c.name,
    K.DEPARTMENT_LEADER: departments.c.name,
}


def names_of(conn: Connection, tenant_id: int, ids_by_kind: Mapping[str, Iterable[int] | Select[Any] | ColumnElement[Any]]) -> dict[tuple[str, int], str]:
    """{(kind, id): name} for the ids of each kind (a collection, or a subquery of ids)."""
    names: dict[tuple[str, int], str] = {}
    for kind, wanted in ids_by_kind.items():
        column = TITLES[ResourceKind(kind)]
        table = column.table
        ids = wanted if isinstance(wanted, (Select, ColumnElement)) else list(wanted)
        for rid, title in conn.execute(select(table.c.id, column).where(table.c.tenant_id == tenant_id, table.c.id.in_(ids))):
            names[(kind, rid)] = title
    return names
