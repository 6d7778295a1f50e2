"""sso: pending OpenID Connect logins (state, nonce, PKCE verifier) and external identities linked to accounts

Revision ID: 0011d
Revises: 0011c
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011d"
down_revision: str | None = "0011c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sso_login_state",
        sa.Column("state_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("nonce", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("code_verifier", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("redirect_uri", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("state_hash"),
    )
    with op.batch_alter_table("sso_login_state", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sso_login_state_expires_at"), ["expires_at"], unique=False)
    op.create_table(
        "sso_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("provider", "subject", name="uq_sso_identity_subject"),
        sa.UniqueConstraint("provider", "user_id", name="uq_sso_identity_user"),
    )
    with op.batch_alter_table("sso_identity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sso_identity_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sso_identity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sso_identity_user_id"))
    op.drop_table("sso_identity")
    with op.batch_alter_table("sso_login_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sso_login_state_expires_at"))
    op.drop_table("sso_login_state")
