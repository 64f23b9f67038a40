"""Helpers shared by the command modules: running an action in a unit of work, options."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy import Connection, Row

from offboard.actions.context import UnitOfWork, tenant_read, tenant_transaction
from offboard.cli.state import STATE
from offboard.domain.authz import Actor

T = TypeVar("T")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON only.")]
ByOpt = Annotated[str | None, typer.Option("--by", help="Userid of the person acting (recorded in the audit trail); the operator when omitted.")]
# An export leaving the data's region (R-LAW-4): where to, and the legal basis on record.
ToRegionOpt = Annotated[str | None, typer.Option("--to", help="The data region the export goes to (cn, eu, us, sg), when not the data's own.")]
LegalBasisOpt = Annotated[str | None, typer.Option("--legal-basis", help="For an export to another region: security_assessment, certification, standard_contract or separate_consent.")]
BasisRefOpt = Annotated[str | None, typer.Option("--basis-reference", help="Where the legal basis is recorded: a filing number, a contract reference.")]


def act(fn: Callable[[UnitOfWork], T], by: str | None = None) -> T:
    with tenant_transaction(STATE.services(), STATE.tenant_slug(), by) as uow:
        return fn(uow)


@contextmanager
def reading(by: str | None = None) -> Iterator[tuple[Connection, Row, Actor]]:
    with tenant_read(STATE.services(), STATE.tenant_slug(), by) as ctx:
        yield ctx


def read_file(path: Path) -> bytes:
    """A file the user named, or a clear refusal naming it."""
    from offboard.domain.errors import ValidationError, error

    try:
        return path.read_bytes()
    except OSError as exc:
        raise error(ValidationError, "file_unreadable", "Cannot read {path}: {detail}.", path=str(path), detail=exc.strerror or str(exc)) from None


def parse_ids(values: list[str] | None) -> list[int] | None:
    """Accept repeated options and comma lists: --department 3 --department 4 or --department 3,4."""
    if not values:
        return None
    result: list[int] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if part:
                result.append(_int(part))
    return result


def _int(value: str) -> int:
    from offboard.domain.errors import ValidationError, error

    try:
        number = int(value)
    except ValueError:
        raise error(ValidationError, "invalid_id", "{value!r} is not a numeric id.", value=value) from None
    if not 0 < number < 2**63:
        raise error(ValidationError, "invalid_id", "{value!r} is not a numeric id.", value=value)
    return number


def ok(message: str, **params: Any) -> None:
    from offboard.cli.output import console
    from offboard.i18n import translate

    console.print(f"[green]✓[/green] {translate(message, STATE.locale, **params)}")


def warn(message: str, **params: Any) -> None:
    from offboard.cli.output import console
    from offboard.i18n import translate

    console.print(f"[yellow]![/yellow] {translate(message, STATE.locale, **params)}")
