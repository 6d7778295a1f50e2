"""calendar years: the State Council's holiday notices as data

Revision ID: 0007b
Revises: 0006
Create Date: 2026-11-29 20:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0007b'
down_revision: str | None = '0007e'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('calendar_year',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('document_number', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('published_on', sa.Date(), nullable=True),
    sa.Column('source_url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('loaded_by', sa.Integer(), nullable=True),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['loaded_by'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('year')
    )
    op.create_table('calendar_day',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('festival', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.ForeignKeyConstraint(['year'], ['calendar_year.year'], ),
    sa.PrimaryKeyConstraint('day')
    )
    with op.batch_alter_table('calendar_day', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_day_year'), ['year'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('calendar_day', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_day_year'))
    op.drop_table('calendar_day')
    op.drop_table('calendar_year')
