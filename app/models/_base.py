"""Column helpers shared by the table families."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Column, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field


def utcnow() -> datetime:
    """Now, timezone-aware, in UTC."""
    return datetime.now(UTC)


# Where the counties are: the zone their offices read a day in (timestamps are stored and sent in UTC)
COUNTY_ZONE = ZoneInfo("Asia/Shanghai")


def local_date(moment: datetime) -> date:
    """The day a timestamp falls on in the counties (China Standard Time); a naive one is taken as it is."""
    return moment.astimezone(COUNTY_ZONE).date() if moment.tzinfo is not None else moment.date()


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp on every backend: PostgreSQL keeps the zone, SQLite (the zero-setup
    default) does not, so what it hands back is marked UTC, which is what was written."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        # in UTC whatever the database server's time zone (psycopg hands values over in the session's zone, asyncpg
        # in UTC): the API writes every timestamp the same way, as ...Z
        return value.astimezone(UTC)


def created_at_field() -> Any:
    """A timezone-aware creation timestamp column."""
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


def json_list_field() -> Any:
    """A JSON list column (portable between SQLite and PostgreSQL)."""
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


def json_doc_field() -> Any:
    """A nullable JSON document column (a configuration validated by its own schema)."""
    return Field(default=None, sa_column=Column(JSON, nullable=True))
