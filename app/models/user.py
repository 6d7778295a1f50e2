"""People and integration scripts, their roles and their long-lived tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from app.models._base import UTCDateTime, created_at_field
from app.models.text import Line


class Role(StrEnum):
    # the three administrators (三员分立, issue 23): no account holds two; see app/api/duties.py
    system_admin = "system_admin"  # 系统管理员: accounts, units, regions, frameworks, calendar, webhooks
    security_admin = "security_admin"  # 安全管理员: password policy, lockouts, role grants, token revocation
    audit_admin = "audit_admin"  # 安全审计员: reads (and exports) the audit trail, changes nothing
    office = "office"
    liaison = "liaison"
    evaluator = "evaluator"
    province = "province"


ADMIN_DUTIES = frozenset({Role.system_admin, Role.security_admin, Role.audit_admin})


class UserBase(SQLModel):
    """Fields shared by the user schemas."""

    # schema_extra, not regex=: sqlmodel passes regex= on to the schema but never enforces it
    username: str = Field(min_length=2, max_length=64, schema_extra={"pattern": r"^[A-Za-z0-9_.@-]+$"})
    display_name: Line = Field(min_length=1, max_length=100)
    role: Role = Field(sa_type=String(16))
    county_id: int | None = Field(default=None, foreign_key="region.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    region_id: int | None = Field(default=None, foreign_key="region.id")


class User(UserBase, table=True):
    """An account; office and liaison are bound to a county (liaison also to a unit)."""

    __tablename__ = "app_user"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    password_hash: str = Field(max_length=255)
    is_active: bool = True
    created_at: datetime = created_at_field()
    # issue 23 (app/services/accounts/passwords.py): when the password was last set (it expires after the
    # policy's days), and whether an administrator set it, so its holder must change it before anything else
    password_changed_at: datetime = created_at_field()
    must_change_password: bool = False


class UserCreate(UserBase):
    """Body of POST /users."""

    password: str = Field(min_length=8, max_length=128)


class UserPublic(UserBase):
    """A user as the API shows it (never the hash)."""

    id: int
    is_active: bool


class ScriptToken(SQLModel, table=True):
    """A long-lived token for an integration script; revoking it stops it at once."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    name: str = Field(max_length=100)
    jti: str = Field(max_length=64, unique=True)
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class ScriptTokenPublic(SQLModel):
    """A script token as the API shows it (never the token itself)."""

    id: int
    user_id: int
    name: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
