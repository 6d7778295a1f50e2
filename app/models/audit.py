"""The audit trail: who did what to which object, before and after, in which request."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.models._base import created_at_field


class AuditEntry(SQLModel, table=True):
    """One change, written in the same transaction as the change; never updated or deleted."""

    __tablename__ = "audit_entry"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = created_at_field()
    user_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    username: str = Field(default="", max_length=64)
    role: str = Field(default="", max_length=16)
    action: str = Field(max_length=64, index=True)
    object_type: str = Field(max_length=32)
    object_id: str = Field(max_length=64)
    county_id: int | None = Field(default=None, foreign_key="region.id", index=True)
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id", index=True)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    request_id: str = Field(default="", max_length=64)


class AuditPublic(SQLModel):
    """An audit entry as the office reads it."""

    id: int
    at: datetime
    user_id: int | None
    username: str
    role: str
    action: str
    object_type: str
    object_id: str
    county_id: int | None
    campaign_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str
