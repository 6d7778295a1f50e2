"""Responsible units (责任单位) of a county and the groups their cells name (各乡镇…)."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models._base import json_list_field
from app.models.text import Line


class UnitKind(StrEnum):
    department = "department"  # 县直部门
    township = "township"  # 乡镇
    other = "other"  # 党委部门、法院、检察院…


class UnitBase(SQLModel):
    """Fields a client sets on a unit."""

    name: Line = Field(min_length=1, max_length=100)
    kind: UnitKind = Field(sa_type=String(16))
    aliases: list[Line] = json_list_field()
    # The unit's leader in charge (分管领导), named on yellow-light notices beside the liaison: 姓名 电话.
    leader_contact: Line | None = Field(default=None, max_length=100)


class Unit(UnitBase, table=True):
    """A unit of one county, with the other names documents use for it."""

    __table_args__ = (UniqueConstraint("county_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    county_id: int = Field(foreign_key="region.id", index=True)


class UnitCreate(UnitBase):
    """Body of POST /counties/{id}/units."""


class UnitPublic(UnitBase):
    """A unit as the API shows it."""

    id: int
    county_id: int


class UnitGroup(SQLModel, table=True):
    """A name that stands for several units, e.g. 各乡镇 or 县直各行政执法单位."""

    __table_args__ = (UniqueConstraint("county_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    county_id: int = Field(foreign_key="region.id", index=True)
    name: str = Field(max_length=100)
    aliases: list[str] = json_list_field()


class UnitGroupMember(SQLModel, table=True):
    """Membership of a unit in a group."""

    group_id: int = Field(foreign_key="unitgroup.id", primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", primary_key=True, index=True)


class UnitGroupCreate(SQLModel):
    """Body of POST /counties/{id}/unit-groups: members by unit id."""

    name: Line = Field(min_length=1, max_length=100)
    aliases: list[Line] = []
    member_ids: list[int] = []


class UnitGroupUpdate(SQLModel):
    """Body of PATCH /unit-groups/{id}: what is given replaces what was there."""

    aliases: list[Line] | None = None
    member_ids: list[int] | None = None


class UnitGroupPublic(SQLModel):
    """A group and its member unit ids."""

    id: int
    county_id: int
    name: str
    aliases: list[str]
    member_ids: list[int]
