"""audit hash chain: seq, prev_hash, entry_hash on audit_entry, the one-row audit_chain_head; existing
entries are chained in id order. Framework owners: framework.owner_county_id (existing ones: global)

Revision ID: 0007d
Revises: 0006
Create Date: 2026-11-29 20:40:00
"""

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0007d'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64
HASHED = ("seq", "at", "user_id", "username", "role", "action", "object_type", "object_id", "county_id",
          "campaign_id", "before", "after", "request_id", "prev_hash")  # fmt: skip

# A frozen copy of the canonical form in app/services/platform/audit_chain.py (migrations do not import app code).
entries = sa.table(
    "audit_entry",
    sa.column("id", sa.Integer),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("user_id", sa.Integer),
    sa.column("username", sa.String),
    sa.column("role", sa.String),
    sa.column("action", sa.String),
    sa.column("object_type", sa.String),
    sa.column("object_id", sa.String),
    sa.column("county_id", sa.Integer),
    sa.column("campaign_id", sa.Integer),
    sa.column("before", sa.JSON),
    sa.column("after", sa.JSON),
    sa.column("request_id", sa.String),
    sa.column("seq", sa.Integer),
    sa.column("prev_hash", sa.String),
    sa.column("entry_hash", sa.String),
)
head = sa.table("audit_chain_head", sa.column("id", sa.Integer), sa.column("seq", sa.Integer),
                sa.column("entry_hash", sa.String))  # fmt: skip


def _digest(data: dict) -> str:
    at: datetime = data["at"]
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    body = {name: data[name] for name in HASHED} | {"at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _append_only(on: bool) -> None:
    """The append-only guard of 0002: PostgreSQL's trigger enabled/disabled, SQLite's triggers (re)created."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE audit_entry {'ENABLE' if on else 'DISABLE'} TRIGGER audit_entry_append_only")
        return
    for event in ("UPDATE", "DELETE"):
        if on:
            op.execute(
                f"CREATE TRIGGER audit_entry_no_{event.lower()} BEFORE {event} ON audit_entry "
                "BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END"
            )
        else:
            op.execute(f"DROP TRIGGER IF EXISTS audit_entry_no_{event.lower()}")


def _backfill() -> tuple[int, str]:
    bind = op.get_bind()
    prev, seq = GENESIS, 0
    rows = bind.execute(sa.select(entries).order_by(entries.c.id)).mappings().all()
    for row in rows:
        seq += 1
        data = dict(row) | {"seq": seq, "prev_hash": prev}
        digest = _digest(data)
        bind.execute(
            entries.update().where(entries.c.id == row["id"]).values(seq=seq, prev_hash=prev, entry_hash=digest)
        )
        prev = digest
    return seq, prev


def upgrade() -> None:
    op.create_table('audit_chain_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('entry_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    _append_only(False)
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('entry_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    seq, last = _backfill()
    op.bulk_insert(head, [{"id": 1, "seq": seq, "entry_hash": last}])
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.alter_column('seq', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('prev_hash', existing_type=sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False)
        batch_op.alter_column('entry_hash', existing_type=sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_entry_seq'), ['seq'])
    _append_only(True)
    with op.batch_alter_table('framework', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_county_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_framework_owner_county_id'), ['owner_county_id'], unique=False)
        batch_op.create_foreign_key('fk_framework_owner_county_id_region', 'region', ['owner_county_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('framework', schema=None) as batch_op:
        batch_op.drop_constraint('fk_framework_owner_county_id_region', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_framework_owner_county_id'))
        batch_op.drop_column('owner_county_id')
    _append_only(False)
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_entry_seq'), type_='unique')
        batch_op.drop_column('entry_hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('seq')
    _append_only(True)
    op.drop_table('audit_chain_head')
