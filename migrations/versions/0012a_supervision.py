"""supervision (督办): lights' rules per campaign, returns counted per assignment, a unit's leader contact, yellow and
red cards, numbered 督办单 with their 回执, and the office's 督办单 template

Revision ID: 0012a
Revises: 0011d
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012a"
down_revision: str | None = "0012c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaign") as batch:
        batch.add_column(sa.Column("supervision", sa.JSON(), nullable=True))
    with op.batch_alter_table("assignment") as batch:
        batch.add_column(sa.Column("returned_count", sa.Integer(), server_default="0", nullable=False))
        batch.create_index("ix_assignment_returned_count", ["returned_count"])
    with op.batch_alter_table("unit") as batch:
        batch.add_column(sa.Column("leader_contact", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
    op.create_table(
        "supervision_card",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("light", sa.String(length=8), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("returned_count", sa.Integer(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"]),
        sa.ForeignKeyConstraint(["county_id"], ["region.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"]),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_supervision_card_campaign_id", "supervision_card", ["campaign_id"])
    op.create_index("ix_supervision_card_unit_id", "supervision_card", ["unit_id"])
    op.create_table(
        "supervision_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.Integer(), nullable=True),
        sa.Column("planned_completion_on", sa.Date(), nullable=True),
        sa.Column("reply", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("escalations", sa.Integer(), nullable=False),
        sa.Column("last_escalated_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["card_id"], ["supervision_card.id"]),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"]),
        sa.ForeignKeyConstraint(["county_id"], ["region.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"]),
        sa.ForeignKeyConstraint(["acknowledged_by"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("card_id"),
        sa.UniqueConstraint("county_id", "year", "number"),
    )
    op.create_index("ix_supervision_notice_campaign_id", "supervision_notice", ["campaign_id"])
    op.create_index("ix_supervision_notice_unit_id", "supervision_notice", ["unit_id"])
    op.create_table(
        "notice_counter",
        sa.Column("county_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["county_id"], ["region.id"]),
        sa.PrimaryKeyConstraint("county_id", "year"),
    )
    op.create_table(
        "notice_template",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"]),
        sa.ForeignKeyConstraint(["uploaded_by"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("campaign_id"),
    )


def downgrade() -> None:
    op.drop_table("notice_template")
    op.drop_table("notice_counter")
    op.drop_index("ix_supervision_notice_unit_id", table_name="supervision_notice")
    op.drop_index("ix_supervision_notice_campaign_id", table_name="supervision_notice")
    op.drop_table("supervision_notice")
    op.drop_index("ix_supervision_card_unit_id", table_name="supervision_card")
    op.drop_index("ix_supervision_card_campaign_id", table_name="supervision_card")
    op.drop_table("supervision_card")
    with op.batch_alter_table("unit") as batch:
        batch.drop_column("leader_contact")
    with op.batch_alter_table("assignment") as batch:
        batch.drop_index("ix_assignment_returned_count")
        batch.drop_column("returned_count")
    with op.batch_alter_table("campaign") as batch:
        batch.drop_column("supervision")
