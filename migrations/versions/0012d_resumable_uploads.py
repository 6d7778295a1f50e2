"""resumable uploads: an upload intent's multipart upload id and part size

Revision ID: 0012d
Revises: 0011d
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012d"
down_revision: str | None = "0012b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("uploadintent", schema=None) as batch_op:
        batch_op.add_column(sa.Column("upload_id", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=True))
        batch_op.add_column(sa.Column("part_size", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("uploadintent", schema=None) as batch_op:
        batch_op.drop_column("part_size")
        batch_op.drop_column("upload_id")
