"""carry-over: a version carried (沿用) from an earlier campaign names its origin version and campaign

Revision ID: 0012c
Revises: 0011d
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012c"
down_revision: str | None = "0012d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("evidenceversion", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin_version_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("origin_campaign_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_evidenceversion_origin_version_id"), ["origin_version_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_evidenceversion_origin_version_id_evidenceversion", "evidenceversion", ["origin_version_id"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_evidenceversion_origin_campaign_id_campaign", "campaign", ["origin_campaign_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("evidenceversion", schema=None) as batch_op:
        batch_op.drop_constraint("fk_evidenceversion_origin_campaign_id_campaign", type_="foreignkey")
        batch_op.drop_constraint("fk_evidenceversion_origin_version_id_evidenceversion", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_evidenceversion_origin_version_id"))
        batch_op.drop_column("origin_campaign_id")
        batch_op.drop_column("origin_version_id")
