"""Column helpers shared by the table families."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime
from sqlmodel import Field


def utcnow() -> datetime:
    """Now, timezone-aware, in UTC."""
    return datetime.now(UTC)


def created_at_field() -> Any:
    """A timezone-aware creation timestamp column."""
    return Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


def json_list_field() -> Any:
    """A JSON list column (portable between SQLite and PostgreSQL)."""
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


def json_doc_field() -> Any:
    """A nullable JSON document column (a configuration validated by its own schema)."""
    return Field(default=None, sa_column=Column(JSON, nullable=True))
