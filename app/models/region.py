"""Regions: province → city → county. A county is the tenant of everything below it."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import String
from sqlmodel import Field, SQLModel

from app.models.text import Line


class RegionLevel(StrEnum):
    province = "province"
    city = "city"
    county = "county"


class RegionBase(SQLModel):
    """Fields a client sets."""

    name: Line = Field(min_length=1, max_length=100)
    level: RegionLevel = Field(sa_type=String(16))
    parent_id: int | None = Field(default=None, foreign_key="region.id", index=True)


class Region(RegionBase, table=True):
    """A province, city or county; path is the materialised ancestry, e.g. "/1/4/9/"."""

    id: int | None = Field(default=None, primary_key=True)
    path: str = Field(default="", max_length=255, index=True)


class RegionCreate(RegionBase):
    """Body of POST /regions."""


class RegionUpdate(SQLModel):
    """Body of PATCH /regions/{id}: a rename (level and place in the tree never change)."""

    name: Line = Field(min_length=1, max_length=100)


class RegionPublic(RegionBase):
    """A region as the API shows it."""

    id: int
