"""The data-file format of a framework (data/frameworks/*.json, "shifan-framework/1")."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.models.framework import LeadRule, SectionKind
from app.models.scoring_config import ScoringConfig
from app.models.text import Line, Text


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SectionFile(_Strict):
    code: str = Field(min_length=1, max_length=32)
    name: Line = Field(min_length=1, max_length=100)
    kind: SectionKind


class ItemFile(_Strict):
    key: str = Field(min_length=1, max_length=64)
    section: str
    number: int = Field(ge=1)
    level1: Line | None = Field(default=None, max_length=200)
    level2: Line | None = Field(default=None, max_length=200)
    text: Text = Field(min_length=1)
    lead_units_cell: str = ""
    units_cell: str = ""
    lead_units: list[str] = []
    units: list[str] = []


class MaterialFile(_Strict):
    key: str = Field(min_length=1, max_length=64)
    text: Text = Field(min_length=1)
    items: list[str] = Field(min_length=1)
    onsite_only: bool = False
    printed_at: list[str] = []


class FrameworkFile(_Strict):
    """A whole framework as one document; validated whole before anything is stored."""

    format: Literal["shifan-framework/1"]
    code: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: Line = Field(min_length=1, max_length=200)
    source: Line = ""
    lead_rule: LeadRule
    sections: list[SectionFile] = Field(min_length=1)
    items: list[ItemFile] = Field(min_length=1)
    materials: list[MaterialFile] = []
    notes: list[str] = []
    scoring: ScoringConfig | None = None
