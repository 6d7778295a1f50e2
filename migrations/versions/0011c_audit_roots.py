"""audit roots: audit_seal (daily roots, time-stamped, append-only) and audit_archive; audit entries may be
deleted only once archived (the append-only guard lets through rows at or below an archive's last seq)

Revision ID: 0011c
Revises: 0011b
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011c"
down_revision: str | None = "0011b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The audit trail stays append-only for everyone, the application's own role included, except that rows an
# archive covers (seq at or below an audit_archive row's last_seq) may be deleted: `shifan audit prune`.
PG_GUARD = """
CREATE OR REPLACE FUNCTION audit_entry_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.seq <= (SELECT coalesce(max(last_seq), 0) FROM audit_archive) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_entry is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$
"""
PG_GUARD_BEFORE = """
CREATE OR REPLACE FUNCTION audit_entry_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_entry is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$
"""
SQLITE_DELETE_GUARD = (
    "CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry "
    "WHEN OLD.seq > (SELECT coalesce(max(last_seq), 0) FROM audit_archive) "
    "BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END"
)
SQLITE_DELETE_GUARD_BEFORE = (
    "CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry "
    "BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END"
)


def upgrade() -> None:
    op.create_table(
        "audit_seal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_seq", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_entry_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("prev_digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("roots", sa.JSON(), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("tsa_token", sa.LargeBinary(), nullable=True),
        sa.Column("stamped_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("first_seq"),
        sa.UniqueConstraint("last_seq"),
    )
    op.create_table(
        "audit_archive",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("before", sa.Date(), nullable=False),
        sa.Column("first_seq", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_entry_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("pruned_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_archive", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_archive_last_seq"), ["last_seq"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_GUARD)
        op.execute(
            "CREATE TRIGGER audit_seal_append_only BEFORE UPDATE OR DELETE ON audit_seal "
            "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
        )
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_delete")
        op.execute(SQLITE_DELETE_GUARD)
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_seal_no_{event.lower()} BEFORE {event} ON audit_seal "
                "BEGIN SELECT RAISE(ABORT, 'audit_seal is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_seal_append_only ON audit_seal")
        op.execute(PG_GUARD_BEFORE)
    else:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_seal_no_{event}")
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_delete")
        op.execute(SQLITE_DELETE_GUARD_BEFORE)
    with op.batch_alter_table("audit_archive", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_archive_last_seq"))
    op.drop_table("audit_archive")
    op.drop_table("audit_seal")
