"""The stamp of what server processes keep in memory between requests (the working-day calendar, the campaigns'
督办 rules and where they belong, what the lists show of items and units, the lists' totals by which assignments
exist): one row, given a new random value by database triggers in the same transaction as every write to those
tables (migrations 0012f, 0013b)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel


class ReadGeneration(SQLModel, table=True):
    """The one row (id 1) whose value changes whenever the calendar, a campaign's rules, county or framework, a region,
    an item's labels, a section's code, a unit's name, or which assignments exist does:
    every request reads it with its account, so a process knows at once whether what it keeps still holds."""

    __tablename__ = "read_generation"
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    value: int = Field(sa_column=Column(BigInteger(), nullable=False))
