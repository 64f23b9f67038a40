"""What the bulk seeders share: the people of the plan with their ids, random sources, and
one executemany per table with one audit event per kind (SPEC §8: a bulk step is audited
per kind, not per row)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from faker import Faker
from sqlalchemy import Table, insert, select

from offboard.actions.context import UnitOfWork
from offboard.demo.org import CompanyPlan
from offboard.store.ids import next_ids
from offboard.store.tables import departments, members

WORKDAYS = 20


@dataclass(frozen=True)
class Person:
    id: int
    userid: str
    name: str
    title: str
    department: str  # primary
    division: str
    city: str
    manager: str | None
    leads: str | None


@dataclass
class Seeder:
    uow: UnitOfWork
    plan: CompanyPlan
    fake: Faker
    people: list[Person]
    by_userid: dict[str, Person]
    dept_ids: dict[str, int]
    rng: random.Random = field(init=False)
    tz: ZoneInfo = field(init=False)
    counts: dict[str, int] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)  # internal group name -> id, for the messages

    def __post_init__(self) -> None:
        self.rng = self.fake.random  # Faker's seeded generator, without its proxy on every call
        self.tz = ZoneInfo(self.uow.tenant.timezone)

    @property
    def now(self) -> datetime:
        return self.uow.now

    def insert(self, table: Table, kind: str, rows: list[dict[str, Any]]) -> list[int]:
        """Insert rows with fresh ids (when the table has them) in one executemany, audited once."""
        tid = self.uow.tenant_id
        new_ids = next_ids(self.uow.conn, table, tid, len(rows)) if "id" in table.c else []
        for i, row in enumerate(rows):
            row["tenant_id"] = tid
            if new_ids:
                row["id"] = new_ids[i]
        if rows:
            self.uow.conn.execute(insert(table), rows)
        self.uow.audit("demo.seeded", [f"tenant:{tid}"], {"kind": kind, "count": len(rows)})
        self.counts[kind] = len(rows)
        return new_ids

    # Helpers for plausible values.

    def person(self, userid: str) -> Person:
        return self.by_userid[userid]

    def in_subtree(self, dept_name: str) -> list[Person]:
        """People whose departments lie in this department's subtree (each once)."""
        names = self._subtree_names(dept_name)
        by_plan = {m.userid: m for m in self.plan.members}
        return [p for p in self.people if names & set(by_plan[p.userid].departments)]

    def _subtree_names(self, dept_name: str) -> set[str]:
        names, frontier = {dept_name}, [dept_name]
        while frontier:
            parent = frontier.pop()
            for d in self.plan.departments:
                if d.parent == parent:
                    names.add(d.name)
                    frontier.append(d.name)
        return names

    def leader_of(self, dept_name: str) -> Person:
        return self.person(next(d.leader for d in self.plan.departments if d.name == dept_name))

    def reports_of(self, userid: str) -> list[Person]:
        return [p for p in self.people if p.manager == userid]

    def days_ago(self, low: int, high: int) -> datetime:
        return self.now - timedelta(days=self.rng.randint(low, high), minutes=self.rng.randint(0, 1439))

    def workdays(self) -> list[date]:
        """The last WORKDAYS weekdays before today in the tenant's time zone, oldest first."""
        day = self.now.astimezone(self.tz).date()
        result: list[date] = []
        while len(result) < WORKDAYS:
            day -= timedelta(days=1)
            if day.weekday() < 5:
                result.append(day)
        return result[::-1]

    def local(self, day: date, hour: int, minute: int) -> datetime:
        """A wall-clock time in the tenant's zone, as the aware datetime the columns store."""
        return datetime.combine(day, time(hour, minute), self.tz)

    def work_time(self, days: list[date]) -> datetime:
        return self.local(self.rng.choice(days), self.rng.randint(9, 19), self.rng.randint(0, 59))


def make_seeder(uow: UnitOfWork, plan: CompanyPlan, seed: int) -> Seeder:
    fake = Faker("zh_CN")
    fake.seed_instance(seed + 1)  # its own stream: the plan's draws never shift the records'
    ids = dict(uow.conn.execute(select(members.c.userid, members.c.id).where(members.c.tenant_id == uow.tenant_id, members.c.status == "active")).all())
    dept_ids = dict(uow.conn.execute(select(departments.c.name, departments.c.id).where(departments.c.tenant_id == uow.tenant_id)).all())
    people = [Person(ids[m.userid], m.userid, m.name, m.title, m.departments[0], m.division, m.city or "上海", m.manager, m.leads) for m in plan.members]
    return Seeder(uow, plan, fake, people, {p.userid: p for p in people}, dept_ids)
