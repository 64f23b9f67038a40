"""Every key of the schema, from the metadata or read back from a database, in one shape, so
one rule (SPEC §3, §10: tenant_id leads every key, for distribution by tenant) checks both."""

from __future__ import annotations

from sqlalchemy import ForeignKeyConstraint, MetaData, PrimaryKeyConstraint, UniqueConstraint
from sqlalchemy.engine.reflection import Inspector

# Bound to no tenant: the tenants themselves, operator tokens (SPEC §3.2), installation settings.
TENANTLESS = {"tenants", "operator_tokens", "instance_settings", "alembic_version"}

# (kind, columns, referred table and columns of a foreign key, else empty)
Key = tuple[str, tuple[str, ...], tuple[str, ...]]


def from_metadata(metadata: MetaData) -> dict[str, set[Key]]:
    keys: dict[str, set[Key]] = {}
    for table in metadata.sorted_tables:
        found = keys.setdefault(table.name, set())
        for c in table.constraints:
            cols = tuple(col.name for col in c.columns)
            if isinstance(c, PrimaryKeyConstraint):
                found.add(("primary key", cols, ()))
            elif isinstance(c, UniqueConstraint):
                found.add(("unique", cols, ()))
            elif isinstance(c, ForeignKeyConstraint):
                found.add(("foreign key", cols, (c.referred_table.name, *(e.column.name for e in c.elements))))
        found |= {("unique index" if ix.unique else "index", tuple(col.name for col in ix.columns), ()) for ix in table.indexes}
        found |= {("unique", (col.name,), ()) for col in table.columns if col.unique}  # Column(unique=True)
    return keys


def from_database(inspector: Inspector) -> dict[str, set[Key]]:
    keys: dict[str, set[Key]] = {}
    for name in inspector.get_table_names():
        found = keys.setdefault(name, set())
        found.add(("primary key", tuple(inspector.get_pk_constraint(name)["constrained_columns"]), ()))
        found |= {("unique", tuple(u["column_names"]), ()) for u in inspector.get_unique_constraints(name)}
        found |= {("foreign key", tuple(f["constrained_columns"]), (f["referred_table"], *f["referred_columns"])) for f in inspector.get_foreign_keys(name)}
        for ix in inspector.get_indexes(name):
            if not ix.get("duplicates_constraint"):  # PostgreSQL lists a unique constraint's index too
                found.add(("unique index" if ix["unique"] else "index", tuple(ix["column_names"]), ()))
    return keys


def tenant_not_leading(keys: dict[str, set[Key]]) -> list[str]:
    """Keys of the tenant tables that do not lead with tenant_id; a foreign key must also refer
    to a key that does (or to tenants.id itself)."""
    problems = []
    for table, found in sorted(keys.items()):
        if table in TENANTLESS:
            continue
        for kind, cols, referred in sorted(found):
            refers_well = not referred or referred[1] == "tenant_id" or referred == ("tenants", "id")
            if not cols or cols[0] != "tenant_id" or not refers_well:
                problems.append(f"{table}: {kind} ({', '.join(cols)})" + (f" -> {referred[0]}({', '.join(referred[1:])})" if referred else ""))
    return problems
