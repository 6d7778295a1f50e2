"""webhook kinds: standard (Standard Webhooks), dingtalk and wecom chat robots; DingTalk's 加签 secret

Existing webhooks become kind 'standard' and keep their secrets as they are (64 hex digits): their
key is those ASCII bytes, which sign both the new Standard Webhooks headers and, for one more release,
X-Shifan-Signature, so receivers already deployed keep verifying. New webhooks get "whsec_" secrets.
Columns are only added (no table rebuild on SQLite, whose deliveries reference webhooks).

Revision ID: 0008a
Revises: 0007c
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0008a'
down_revision: str | None = '0007c'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('webhook', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='standard'))
        batch_op.add_column(
            sa.Column('robot_secret', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False, server_default='')
        )


def downgrade() -> None:
    op.execute("UPDATE webhook SET active = false WHERE kind <> 'standard'")  # their URLs take no signed JSON
    with op.batch_alter_table('webhook', schema=None) as batch_op:
        batch_op.drop_column('robot_secret')
        batch_op.drop_column('kind')
