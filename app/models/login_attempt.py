"""Login attempts, kept a day: the shared memory that lets every instance throttle password guessing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.models._base import created_at_field


class LoginAttempt(SQLModel, table=True):
    """One password login, by the name that was tried (existing or not) and the client address."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_username_at", "username", "at"),
        Index("ix_login_attempt_client_at", "client", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64)
    client: str = Field(max_length=64)
    succeeded: bool
    at: datetime = created_at_field()
