"""evidence versions: first-page PNG previews made by the worker (state, object key, claim lease)

Versions already stored as PDF, PNG or JPEG are marked pending, so the worker makes their previews
too; everything else has none.

Revision ID: 0008b
Revises: 0007c
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0008b'
down_revision: str | None = '0008a'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('evidenceversion', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('preview', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False, server_default='none')
        )
        batch_op.add_column(sa.Column('preview_key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
        batch_op.add_column(sa.Column('preview_attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(
            sa.Column('preview_lease_token', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True)
        )
        batch_op.add_column(sa.Column('preview_lease_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_evidenceversion_preview'), ['preview'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_evidenceversion_preview_key'), ['preview_key'])
    versions = sa.table(
        'evidenceversion',
        sa.column('extension', sa.String),
        sa.column('object_key', sa.String),
        sa.column('preview', sa.String),
    )
    op.execute(
        versions.update()
        .where(versions.c.extension.in_(['pdf', 'png', 'jpg']), versions.c.object_key.is_not(None))
        .values(preview='pending')
    )


def downgrade() -> None:
    with op.batch_alter_table('evidenceversion', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_evidenceversion_preview_key'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_evidenceversion_preview'))
        batch_op.drop_column('preview_lease_until')
        batch_op.drop_column('preview_lease_token')
        batch_op.drop_column('preview_attempts')
        batch_op.drop_column('preview_key')
        batch_op.drop_column('preview')
