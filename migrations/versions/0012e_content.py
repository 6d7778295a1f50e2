"""content: a photo's EXIF capture time and place, a version's document date and period, the date suggested from
its file, and a campaign's assessment period (issue 26)

Revision ID: 0012e
Revises: 0011d
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012e"
down_revision: str | None = "0012a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("evidenceversion", schema=None) as batch_op:
        batch_op.add_column(sa.Column("taken_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("taken_latitude", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("taken_longitude", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("document_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("period_start", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("period_end", sa.Date(), nullable=True))
    with op.batch_alter_table("evidencetext", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suggested_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("suggested_from", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assessment_start", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("assessment_end", sa.Date(), nullable=True))
    # Scans (无文本层) and pictures read before OCR wait to be read again: the worker now reads their words (and
    # suggests their date), as migration 0008c had it read every version once.
    op.execute(
        "DELETE FROM evidencetext WHERE status = 'no_text_layer' "
        "OR version_id IN (SELECT id FROM evidenceversion WHERE extension IN ('jpg', 'png'))"
    )
    op.execute(
        "UPDATE evidenceversion SET text_attempts = 0, text_lease_until = NULL "
        "WHERE id NOT IN (SELECT version_id FROM evidencetext)"
    )


def downgrade() -> None:
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_column("assessment_end")
        batch_op.drop_column("assessment_start")
    with op.batch_alter_table("evidencetext", schema=None) as batch_op:
        batch_op.drop_column("suggested_from")
        batch_op.drop_column("suggested_date")
    with op.batch_alter_table("evidenceversion", schema=None) as batch_op:
        for name in ("period_end", "period_start", "document_date", "taken_longitude", "taken_latitude", "taken_at"):
            batch_op.drop_column(name)
