"""admin duties and password rules (issue 23): the one `admin` role becomes the system administrator (三员分立:
system_admin, security_admin, audit_admin); accounts get password_changed_at and must_change_password; the
password policy and each account's password history are stored.

Existing `admin` accounts become system administrators and keep working (they log in again: their tokens name
the old role). Every existing password counts as set at this upgrade, so none expires before 90 days from now.
A downgrade makes system administrators `admin` again and disables the security and audit administrators (the
old schema has no such duties, and must not turn them into the all-powerful admin).

Revision ID: 0011a
Revises: 0010b
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011a"
down_revision: str | None = "0010b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_user = sa.table(
    "app_user",
    sa.column("role", sa.String(16)),
    sa.column("is_active", sa.Boolean()),
    sa.column("password_changed_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(_user.update().values(password_changed_at=datetime.now(UTC)))
    op.execute(_user.update().where(_user.c.role == "admin").values(role="system_admin"))
    with op.batch_alter_table("app_user") as batch:
        batch.alter_column("password_changed_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch.alter_column("must_change_password", existing_type=sa.Boolean(), server_default=None)
    op.create_table(
        "password_policy",
        sa.Column("min_length", sa.Integer(), nullable=False),
        sa.Column("min_classes", sa.Integer(), nullable=False),
        sa.Column("history", sa.Integer(), nullable=False),
        sa.Column("max_age_days", sa.Integer(), nullable=False),
        sa.Column("lockout_failures", sa.Integer(), nullable=False),
        sa.Column("lockout_window_minutes", sa.Integer(), nullable=False),
        sa.Column("lockout_minutes", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["updated_by"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "password_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_password_history_user_id"), "password_history", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_password_history_user_id"), table_name="password_history")
    op.drop_table("password_history")
    op.drop_table("password_policy")
    op.execute(
        _user.update().where(_user.c.role.in_(["security_admin", "audit_admin"])).values(role="admin", is_active=False)
    )
    op.execute(_user.update().where(_user.c.role == "system_admin").values(role="admin"))
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("must_change_password")
        batch.drop_column("password_changed_at")
