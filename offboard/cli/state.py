"""Global CLI options (--db, --tenant) and the services they select."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from offboard.actions.context import Services
from offboard.bootstrap import build
from offboard.domain.errors import ValidationError, error
from offboard.i18n import env_locale
from offboard.store import repo

GLOBAL_OPTIONS = ("--db", "--tenant")


@dataclass
class CliState:
    db: str | None = None
    tenant: str | None = None
    locale: str = field(default_factory=env_locale)
    _services: Services | None = None

    def services(self, *, check_schema: bool = True) -> Services:
        if self._services is None:
            self._services = build(self.db, check_schema=check_schema)
        return self._services

    def tenant_slug(self) -> str:
        """--tenant, else OFFBOARD_TENANT, else the only tenant there is."""
        slug = self.tenant or os.environ.get("OFFBOARD_TENANT")
        if slug:
            return slug
        with self.services().db.read() as conn:
            slugs = repo.tenant_slugs(conn)
        if len(slugs) == 1:
            return slugs[0]
        if not slugs:
            raise error(ValidationError, "no_tenant", "There is no enterprise yet; create one with `offboard tenant create` or run `offboard demo`.")
        raise error(ValidationError, "tenant_required", "Several enterprises exist ({slugs}); choose one with --tenant SLUG.", slugs=", ".join(slugs))

    def close(self) -> None:
        if self._services is not None:
            self._services.db.dispose()
            self._services = None


STATE = CliState()


def hoist_global_options(argv: list[str]) -> list[str]:
    """Move --db/--tenant (and their values) to the front, so they work before or after the subcommand."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        name = arg.split("=", 1)[0]
        if name in GLOBAL_OPTIONS:
            if "=" in arg:
                front.append(arg)
            elif i + 1 < len(argv):
                front.extend([arg, argv[i + 1]])
                i += 1
            else:
                rest.append(arg)
        elif arg == "--":
            rest.extend(argv[i:])
            break
        else:
            rest.append(arg)
        i += 1
    return front + rest
