"""worker lanes: heartbeats per lane, file-job failures, and a counted claim for reading search text

Versions keep why their preview failed (preview_error, "code: detail"), and reading a version's words is now
claimed under a lease with its attempts counted, like the preview, so a file that never finishes is given up.

Revision ID: 0010a
Revises: 0009b
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0010a"
down_revision: str | None = "0009b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("evidenceversion", schema=None) as batch_op:
        batch_op.add_column(sa.Column("preview_error", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True))
        batch_op.add_column(sa.Column("text_attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("text_lease_token", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True))
        batch_op.add_column(sa.Column("text_lease_until", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "workerbeat",
        sa.Column("worker", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("lane", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("busy_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("handled", sa.Integer(), nullable=False),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.PrimaryKeyConstraint("worker", "lane"),
    )


def downgrade() -> None:
    op.drop_table("workerbeat")
    with op.batch_alter_table("evidenceversion", schema=None) as batch_op:
        batch_op.drop_column("text_lease_until")
        batch_op.drop_column("text_lease_token")
        batch_op.drop_column("text_attempts")
        batch_op.drop_column("preview_error")
