"""Members are found by the pinyin of their name: `members.search_key`, "cj chenjing" for 陈静
(offboard.i18n.pinyin), set by the member actions whenever a name is written.

Existing members are backfilled here, a batch of rows at a time in id order, one UPDATE
statement per batch. A later change to how the key is spelled comes with a revision of its own
that computes the keys again.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from alembic import op
import sqlalchemy as sa

from offboard.i18n.pinyin import search_key

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BATCH = 1000

_members = sa.table(
    "members",
    sa.column("tenant_id", Id),
    sa.column("id", Id),
    sa.column("name", sa.String),
    sa.column("search_key", sa.String),
)


def upgrade() -> None:
    # A plain ADD/DROP COLUMN on both databases (SQLite has both since 3.35): the table is not
    # copied, so its partial unique indexes stay as they are.
    op.add_column("members", sa.Column("search_key", sa.String(length=255), nullable=True))
    _backfill(op.get_bind())


def downgrade() -> None:
    op.drop_column("members", "search_key")


def _backfill(conn) -> None:
    m = _members
    set_key = sa.update(m).where(m.c.tenant_id == sa.bindparam("t"), m.c.id == sa.bindparam("i")).values(search_key=sa.bindparam("k"))
    after = (-1, -1)  # (tenant, id) of the last row done: keyset paging, no OFFSET
    while True:
        rows = conn.execute(sa.select(m.c.tenant_id, m.c.id, m.c.name).where(sa.tuple_(m.c.tenant_id, m.c.id) > sa.tuple_(*after)).order_by(m.c.tenant_id, m.c.id).limit(BATCH)).all()
        if not rows:
            return
        conn.execute(set_key, [{"t": r.tenant_id, "i": r.id, "k": search_key(r.name or "")} for r in rows])
        after = (rows[-1].tenant_id, rows[-1].id)
