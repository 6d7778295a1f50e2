"""delivery log keeps a short reason, never the receiver's body

Revision ID: 0007e
Revises: 0006
Create Date: 2026-11-29 20:40:00

Earlier versions stored up to 200 characters of a failed receiver's response body as the error. Those
texts are replaced by the status line alone ("HTTP 500"). Data only: the columns keep their type (a
table rebuild on SQLite would trip over the attempts' foreign keys), the code writes short reasons.
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0007e'
down_revision: str | None = '0007d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = (('deliveryattempt', 'error', 'status_code'), ('delivery', 'last_error', 'last_status_code'))


def upgrade() -> None:
    for table, column, code in _TABLES:
        # A body was stored exactly when the receiver answered (a status code) with a non-2xx status.
        op.execute(
            f"UPDATE {table} SET {column} = 'HTTP ' || CAST({code} AS VARCHAR(10)) "
            f"WHERE {code} IS NOT NULL AND {column} <> ''"
        )


def downgrade() -> None:
    pass  # the bodies are gone on purpose
