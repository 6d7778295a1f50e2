"""Unified login (统一身份认证): pending OpenID Connect logins and the external identities linked to accounts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models._base import UTCDateTime, created_at_field


class SsoLoginState(SQLModel, table=True):
    """One login sent to the provider and not yet back: the state's hash, the nonce and the PKCE verifier, kept
    server-side for a few minutes and used once."""

    __tablename__ = "sso_login_state"
    state_hash: str = Field(primary_key=True, max_length=64)
    nonce: str = Field(max_length=128)
    code_verifier: str = Field(max_length=128)
    redirect_uri: str = Field(max_length=500)
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


class SsoIdentity(SQLModel, table=True):
    """An account's identity at an external provider (`oidc`: the issuer's subject; `dingtalk`: the userid or
    unionid): once linked, logins find the account by it, whatever the username claim says later."""

    __tablename__ = "sso_identity"
    __table_args__ = (
        UniqueConstraint("provider", "subject", name="uq_sso_identity_subject"),
        UniqueConstraint("provider", "user_id", name="uq_sso_identity_user"),
    )
    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=32)
    subject: str = Field(max_length=255)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    created_at: datetime = created_at_field()
    last_login_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
