"""Indicator frameworks (指标体系): sections, level-1/level-2 headings, items, material requests."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models._base import created_at_field, json_doc_field, json_list_field


class SectionKind(StrEnum):
    standard = "standard"  # scored items (陵川 三级指标, 罗平 基础/延伸)
    quantified = "quantified"  # items with measurable thresholds (罗平 量化任务清单)
    bonus = "bonus"  # 加分项
    veto = "veto"  # 否决项 / 负面清单: one occurrence fails the county


class LeadRule(StrEnum):
    first_listed = "first_listed"  # 陵川: the first unit listed leads
    lead_column = "lead_column"  # 罗平: a separate 牵头单位 column


class Framework(SQLModel, table=True):
    """One imported version of a framework; frozen once a campaign uses it."""

    __table_args__ = (UniqueConstraint("code", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, index=True)
    version: int = 1
    name: str = Field(max_length=200)
    source: str = Field(default="", max_length=500)
    lead_rule: str = Field(sa_type=String(16))
    notes: list[str] = json_list_field()
    # The default scoring configuration (ScoringConfig as JSON), from the data file's "scoring" block.
    scoring: dict[str, Any] | None = json_doc_field()
    created_at: datetime = created_at_field()
    # The county whose office imported it, which alone (with admin) versions or deletes it; None: global.
    owner_county_id: int | None = Field(default=None, foreign_key="region.id", index=True)


FIRST_LIST = 0  # FrameworkSection.position of a framework's first list (the import numbers lists from 0)


def item_label(number: int, section_name: str, section_position: int) -> str:
    """An item as every document and message names it: 第18项 in the framework's first list (陵川's 三级指标,
    罗平's 基础任务清单: the list a bare number means), 加分项第1项 or 负面清单第3项 in the others. Never the
    item's key (indicator-18): that identifies it in data files and the API, not to a clerk."""
    return items_label([(number, section_name, section_position)])


def items_label(items: list[tuple[int, str, int]]) -> str:
    """Several items (number, list name, list position) in one phrase, the numbers of one list together in the
    order given: 第26、27、28项, or 第5项，加分项第1项 across lists."""
    by_list: dict[tuple[int, str], list[str]] = {}
    for number, section_name, position in items:
        by_list.setdefault((position, section_name), []).append(str(number))
    phrases = []
    for (position, name), numbers in by_list.items():
        phrases.append(f"{'' if position == FIRST_LIST else name}第{'、'.join(numbers)}项")
    return "，".join(phrases)


class FrameworkSection(SQLModel, table=True):
    """A list of items numbered from 1 (陵川: indicator/bonus/veto; 罗平: four lists)."""

    __table_args__ = (UniqueConstraint("framework_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    framework_id: int = Field(foreign_key="framework.id", index=True)
    code: str = Field(max_length=32)
    name: str = Field(max_length=100)
    kind: str = Field(sa_type=String(16))
    position: int


class Heading(SQLModel, table=True):
    """A 一级指标 (level 1) or 二级指标 (level 2, under a level 1) as printed."""

    id: int | None = Field(default=None, primary_key=True)
    framework_id: int = Field(foreign_key="framework.id", index=True)
    level: int
    parent_id: int | None = Field(default=None, foreign_key="heading.id")
    title: str = Field(max_length=200)
    position: int


class Item(SQLModel, table=True):
    """A numbered, assessable item (三级指标 / 任务事项) with its unit cells as printed."""

    __table_args__ = (UniqueConstraint("framework_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    framework_id: int = Field(foreign_key="framework.id", index=True)
    section_id: int = Field(foreign_key="frameworksection.id", index=True)
    level1_id: int | None = Field(default=None, foreign_key="heading.id", index=True)
    level2_id: int | None = Field(default=None, foreign_key="heading.id")
    key: str = Field(max_length=64)
    number: int
    position: int
    text: str
    lead_units_cell: str = ""
    units_cell: str = ""
    lead_units: list[str] = json_list_field()
    units: list[str] = json_list_field()


class MaterialRequest(SQLModel, table=True):
    """A request for evidence (具体资料报送); may cover several items or be on-site only."""

    __table_args__ = (UniqueConstraint("framework_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    framework_id: int = Field(foreign_key="framework.id", index=True)
    key: str = Field(max_length=64)
    text: str
    onsite_only: bool = False


class MaterialRequestItem(SQLModel, table=True):
    """Which items one material request covers."""

    material_request_id: int = Field(foreign_key="materialrequest.id", primary_key=True)
    item_id: int = Field(foreign_key="item.id", primary_key=True, index=True)


class FrameworkPublic(SQLModel):
    """A framework's header as the API shows it."""

    id: int
    code: str
    version: int
    name: str
    source: str
    lead_rule: LeadRule
    notes: list[str]
    created_at: datetime
    owner_county_id: int | None = None
    in_use: bool = False
    counts: dict[str, int] = {}


class SectionPublic(SQLModel):
    """A section of a framework."""

    id: int
    code: str
    name: str
    kind: SectionKind


class HeadingPublic(SQLModel):
    """A level-1 or level-2 heading."""

    id: int
    level: int
    parent_id: int | None
    title: str


class MaterialPublic(SQLModel):
    """A material request and the item keys it covers."""

    id: int
    key: str
    text: str
    onsite_only: bool
    item_keys: list[str]


class ItemPublic(SQLModel):
    """An item as the API shows it."""

    id: int
    key: str
    section: str
    number: int
    level1_id: int | None
    level2_id: int | None
    text: str
    lead_units_cell: str
    units_cell: str
    lead_units: list[str]
    units: list[str]
    material_keys: list[str] = []
