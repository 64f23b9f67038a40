"""The migrated schema (Alembic head) read back from the database keys every tenant table by
tenant_id first, as the metadata does, and holds the same keys: migrations did not drift
(SPEC §10, Citus distribution by tenant)."""

from __future__ import annotations

from sqlalchemy import inspect

from offboard.store.db import connect
from offboard.store.tables import metadata
from tests.support.schema_keys import TENANTLESS, from_database, from_metadata, tenant_not_leading


def test_spec_10_tenant_id_leads_every_key_of_the_migrated_database(db_url):
    db = connect(db_url)
    try:
        migrated = from_database(inspect(db.engine))
    finally:
        db.dispose()
    assert tenant_not_leading(migrated) == []
    declared = from_metadata(metadata)
    assert set(migrated) - {"alembic_version"} == set(declared)
    drift = {name: (sorted(declared[name] - keys), sorted(keys - declared[name])) for name, keys in migrated.items() if name in declared and keys != declared[name]}
    assert drift == {}, "keys declared but not migrated, and migrated but not declared"
    assert set(migrated) & TENANTLESS == TENANTLESS
