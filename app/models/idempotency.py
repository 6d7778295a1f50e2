"""Idempotency records: the response a POST gave, kept under the caller's Idempotency-Key so a retry
gets the same answer instead of creating the thing twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models._base import UTCDateTime, created_at_field


class IdempotencyRecord(SQLModel, table=True):
    """One (caller, key): the request's fingerprint and, once done, the response to replay."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("owner", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    owner: str = Field(max_length=64)  # "user:<id>", the account the request authenticated as
    key: str = Field(max_length=200)
    fingerprint: str = Field(max_length=64)  # SHA-256 of method, path, query and body
    state: str = Field(default="in_progress", sa_type=String(16))
    status_code: int | None = None
    content_type: str | None = Field(default=None, max_length=120)
    body: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime = created_at_field()
    completed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
