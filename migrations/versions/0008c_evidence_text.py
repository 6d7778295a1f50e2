"""evidence text for search: extracted and segmented words per version, GIN (PostgreSQL) or FTS5 (SQLite)

Revision ID: 0008c
Revises: 0008b
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0008c'
down_revision: str | None = '0008b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'evidencetext',
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('plain', sa.Text(), nullable=False),
        sa.Column('segmented', sa.Text(), nullable=False),
        sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column('extracted_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id']),
        sa.ForeignKeyConstraint(['version_id'], ['evidenceversion.id']),
        sa.PrimaryKeyConstraint('version_id'),
    )
    with op.batch_alter_table('evidencetext', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidencetext_campaign_id'), ['campaign_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        # The words as a stored tsvector: a search that hits thousands of versions (or a plan that reads
        # the table) never runs to_tsvector again at query time.
        op.execute(
            "ALTER TABLE evidencetext ADD COLUMN tsv tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, segmented)) STORED"
        )
        op.execute('CREATE INDEX ix_evidencetext_tsv ON evidencetext USING gin (tsv)')
    elif op.get_bind().dialect.name == 'sqlite':
        # An external-content FTS5 table: the words live once, in evidencetext; triggers keep the index.
        op.execute(
            "CREATE VIRTUAL TABLE evidencetext_fts USING fts5(segmented, content='evidencetext', "
            "content_rowid='version_id')"
        )
        op.execute(
            "CREATE TRIGGER evidencetext_fts_ai AFTER INSERT ON evidencetext BEGIN "
            "INSERT INTO evidencetext_fts(rowid, segmented) VALUES (new.version_id, new.segmented); END"
        )
        op.execute(
            "CREATE TRIGGER evidencetext_fts_ad AFTER DELETE ON evidencetext BEGIN "
            "INSERT INTO evidencetext_fts(evidencetext_fts, rowid, segmented) "
            "VALUES ('delete', old.version_id, old.segmented); END"
        )
        op.execute(
            "CREATE TRIGGER evidencetext_fts_au AFTER UPDATE ON evidencetext BEGIN "
            "INSERT INTO evidencetext_fts(evidencetext_fts, rowid, segmented) "
            "VALUES ('delete', old.version_id, old.segmented); "
            "INSERT INTO evidencetext_fts(rowid, segmented) VALUES (new.version_id, new.segmented); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        for trigger in ('evidencetext_fts_ai', 'evidencetext_fts_ad', 'evidencetext_fts_au'):
            op.execute(f'DROP TRIGGER IF EXISTS {trigger}')
        op.execute('DROP TABLE IF EXISTS evidencetext_fts')
    elif op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP INDEX IF EXISTS ix_evidencetext_tsv')
        op.execute('ALTER TABLE evidencetext DROP COLUMN IF EXISTS tsv')
    with op.batch_alter_table('evidencetext', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidencetext_campaign_id'))
    op.drop_table('evidencetext')
