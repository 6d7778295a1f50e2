"""evidence versions: detected extension, PDF page count, resubmitted-unchanged flag, index on sha256

Old versions keep their object keys (direct uploads recorded under the key the client wrote stay
readable; new ones are copied to a key no client can write). Their extension is filled in from the
media type they were recorded with.

Revision ID: 0007c
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0007c'
down_revision: str | None = '0007b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EXTENSIONS = {
    'application/pdf': 'pdf',
    'application/ofd': 'ofd',
    'image/jpeg': 'jpg',
    'image/png': 'png',
    'video/mp4': 'mp4',
    'application/zip': 'zip',
    'application/msword': 'doc',
    'application/vnd.ms-works': 'wps',
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
}


def upgrade() -> None:
    with op.batch_alter_table('evidenceversion', schema=None) as batch_op:
        batch_op.add_column(sa.Column('extension', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True))
        batch_op.add_column(sa.Column('page_count', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('resubmitted_unchanged', sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index(batch_op.f('ix_evidenceversion_sha256'), ['sha256'], unique=False)
    versions = sa.table('evidenceversion', sa.column('content_type', sa.String), sa.column('extension', sa.String))
    for media_type, extension in _EXTENSIONS.items():
        op.execute(versions.update().where(versions.c.content_type == media_type).values(extension=extension))
    # .xls and WPS 表格 (.et) share a media type: the name they were accepted under says which
    op.execute(
        sa.text(
            "UPDATE evidenceversion SET extension = CASE WHEN lower(filename) LIKE '%.et' THEN 'et' ELSE 'xls' END "
            "WHERE content_type = 'application/vnd.ms-excel'"
        )
    )


def downgrade() -> None:
    with op.batch_alter_table('evidenceversion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidenceversion_sha256'))
        batch_op.drop_column('resubmitted_unchanged')
        batch_op.drop_column('page_count')
        batch_op.drop_column('extension')
