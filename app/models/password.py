"""Password rules (issue 23): the policy the security administrator tightens, and each account's past passwords."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from app.models._base import UTCDateTime, created_at_field


class PasswordPolicyBase(SQLModel):
    """The rules; the defaults are the floor (等保 2.0): a change may only make them stricter."""

    min_length: int = Field(default=8, ge=8, le=64, description="最短长度（不少于 8）")
    min_classes: int = Field(default=3, ge=3, le=4, description="大写、小写、数字、符号中至少几类（3 或 4）")
    history: int = Field(default=5, ge=5, le=24, description="不得与最近几次的密码相同（不少于 5）")
    max_age_days: int = Field(default=90, ge=1, le=90, description="密码有效天数（不超过 90），到期须先改密码")
    lockout_failures: int = Field(default=5, ge=1, le=5, description="连续失败几次锁定账号（不超过 5）")
    lockout_window_minutes: int = Field(default=15, ge=15, le=1440, description="在多少分钟内累计失败次数（不少于 15）")
    lockout_minutes: int = Field(default=30, ge=30, le=1440, description="锁定多少分钟（不少于 30）")


class PasswordPolicy(PasswordPolicyBase, table=True):
    """The one stored policy (id 1); without a row the defaults apply."""

    __tablename__ = "password_policy"
    id: int = Field(default=1, primary_key=True)
    updated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    updated_by: int | None = Field(default=None, foreign_key="app_user.id")


class PasswordPolicyPublic(PasswordPolicyBase):
    """The policy as the API shows it."""

    updated_at: datetime | None = None


class PasswordHistory(SQLModel, table=True):
    """A password an account has had (its hash), so a new one may not repeat the last few."""

    __tablename__ = "password_history"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    password_hash: str = Field(max_length=255)
    set_at: datetime = created_at_field()
