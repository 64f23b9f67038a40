"""SPEC §3, §10: tenant_id leads every primary key, unique constraint, index and foreign key of
every table bound to a tenant, so the schema can be distributed by tenant (Citus) unchanged.
The migrated databases are held to the same rule in tests/integration/test_schema_migrated_keys.py."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKeyConstraint, Index, Integer, MetaData, PrimaryKeyConstraint, Table, UniqueConstraint

from offboard.store.tables import metadata
from tests.support.schema_keys import TENANTLESS, from_metadata, tenant_not_leading


def test_spec_10_tenant_id_leads_every_key_of_the_schema():
    keys = from_metadata(metadata)
    assert set(keys) - TENANTLESS, "the schema has tenant tables"
    assert tenant_not_leading(keys) == []


def test_every_tenant_table_is_keyed_by_tenant_and_the_exceptions_are_the_three_named():
    keys = from_metadata(metadata)
    assert {name for name, found in keys.items() if not any(kind == "primary key" and cols[0] == "tenant_id" for kind, cols, _ in found)} == TENANTLESS - {"alembic_version"}


def test_the_rule_catches_a_key_that_does_not_lead_with_tenant_id():
    bad = MetaData()
    Table("tenants", bad, Column("id", Integer, primary_key=True))
    Table("parents", bad, Column("tenant_id", Integer), Column("id", Integer), PrimaryKeyConstraint("tenant_id", "id"))
    Table(
        "things",
        bad,
        Column("tenant_id", Integer),
        Column("id", Integer),
        Column("parent_id", Integer),
        Column("code", Integer),
        PrimaryKeyConstraint("id", "tenant_id"),
        UniqueConstraint("code", "tenant_id"),
        Index("ix_things_code", "code"),
        ForeignKeyConstraint(["parent_id"], ["parents.id"]),
        ForeignKeyConstraint(["tenant_id", "parent_id"], ["parents.tenant_id", "parents.id"]),
    )
    assert tenant_not_leading(from_metadata(bad)) == [
        "things: foreign key (parent_id) -> parents(id)",
        "things: index (code)",
        "things: primary key (id, tenant_id)",
        "things: unique (code, tenant_id)",
    ]
