"""round summary: the office's score figures stored when a round is released

Revision ID: 0009b
Revises: 0009a
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009b'
down_revision: str | None = '0009a'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rounds released before this revision keep NULL: the service rolls their scores up when read (the
    # rollup needs the scoring configuration in Python, which a migration must not import).
    with op.batch_alter_table('scoringround', schema=None) as batch_op:
        batch_op.add_column(sa.Column('summary', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('scoringround', schema=None) as batch_op:
        batch_op.drop_column('summary')
