"""follow-ups (回头看 rounds and their checks), rectification decisions (销号, sent back, reopened) and a
rectification's reopen count

Revision ID: 0012b
Revises: 0011d
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012b"
down_revision: str | None = "0011d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "followup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("seed", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("population_size", sa.Integer(), nullable=False),
        sa.Column("population_digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("sample_size", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["unit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("followup", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_followup_campaign_id"), ["campaign_id"], unique=False)

    op.create_table(
        "followupcheck",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("follow_up_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("checker_id", sa.Integer(), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("new_due_on", sa.Date(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["checker_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["follow_up_id"],
            ["followup.id"],
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["unit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("follow_up_id", "target", "target_id"),
    )
    with op.batch_alter_table("followupcheck", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_followupcheck_checker_id"), ["checker_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_followupcheck_follow_up_id"), ["follow_up_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_followupcheck_result"), ["result"], unique=False)
        batch_op.create_index(batch_op.f("ix_followupcheck_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "rectificationdecision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rectification_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("evidence_ids", sa.JSON(), nullable=False),
        sa.Column("status_before", sa.String(length=16), nullable=False),
        sa.Column("due_on_before", sa.Date(), nullable=False),
        sa.Column("due_on_after", sa.Date(), nullable=False),
        sa.Column("follow_up_check_id", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["follow_up_check_id"],
            ["followupcheck.id"],
        ),
        sa.ForeignKeyConstraint(
            ["rectification_id"],
            ["rectification.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rectificationdecision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rectificationdecision_rectification_id"), ["rectification_id"], unique=False
        )

    with op.batch_alter_table("rectification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reopen_count", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("reopened_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rectification", schema=None) as batch_op:
        batch_op.drop_column("reopened_at")
        batch_op.drop_column("reopen_count")

    with op.batch_alter_table("rectificationdecision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rectificationdecision_rectification_id"))

    op.drop_table("rectificationdecision")
    with op.batch_alter_table("followupcheck", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_followupcheck_unit_id"))
        batch_op.drop_index(batch_op.f("ix_followupcheck_result"))
        batch_op.drop_index(batch_op.f("ix_followupcheck_follow_up_id"))
        batch_op.drop_index(batch_op.f("ix_followupcheck_checker_id"))

    op.drop_table("followupcheck")
    with op.batch_alter_table("followup", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_followup_campaign_id"))

    op.drop_table("followup")
