"""The rectification list (回头看 问题清单): problems found, the unit's measures, the office's verification."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from app.models._base import UTCDateTime, created_at_field
from app.models.supervision import Light
from app.models.text import Text


class RectificationStatus(StrEnum):
    open = "open"  # 待整改
    in_progress = "in_progress"  # 整改中
    done = "done"  # 已整改，待核验
    verified = "verified"  # 已核验销号


class RectificationSource(StrEnum):
    review = "review"  # a return in the office's review
    score = "score"  # a finding in a score (office or evaluator)
    manual = "manual"  # entered by the office (e.g. from an on-site check)


class Rectification(SQLModel, table=True):
    """One problem to fix, owned by one unit, closed only when the office verifies it."""

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    item_id: int | None = Field(default=None, foreign_key="item.id")
    source: str = Field(sa_type=String(16))
    source_id: int | None = None
    problem: str
    measures: str = ""
    due_on: date
    status: str = Field(default=RectificationStatus.open, sa_type=String(16), index=True)
    office_comment: str = ""
    created_by: int = Field(foreign_key="app_user.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    verified_by: int | None = Field(default=None, foreign_key="app_user.id")
    verified_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class RectificationEvidence(SQLModel, table=True):
    """Evidence the unit attaches to show a rectification is done."""

    rectification_id: int = Field(foreign_key="rectification.id", primary_key=True)
    evidence_id: int = Field(foreign_key="evidence.id", primary_key=True)


class RectificationCreate(SQLModel):
    """Body of POST /campaigns/{id}/rectifications: from a score's finding, a review, or typed in."""

    unit_id: int
    due_on: date
    item_id: int | None = None
    problem: Text = Field(default="", max_length=4000)
    from_score_id: int | None = None
    from_review_id: int | None = None


class RectificationProgress(SQLModel):
    """Body of POST /rectifications/{id}/progress (the unit's liaison)."""

    status: RectificationStatus
    measures: Text = Field(default="", max_length=4000)
    evidence_ids: list[int] = Field(default_factory=list, max_length=50)


class RectificationVerify(SQLModel):
    """Body of POST /rectifications/{id}/verify (office): accept, or send back with a comment."""

    accept: bool
    comment: Text = Field(default="", max_length=2000)


class RectificationPublic(SQLModel):
    """A rectification item as the API shows it."""

    id: int
    campaign_id: int
    unit_id: int
    item_id: int | None
    source: RectificationSource
    source_id: int | None
    problem: str
    measures: str
    due_on: date
    status: RectificationStatus
    overdue: bool
    light: Light = Light.none
    office_comment: str
    evidence_ids: list[int]
    created_at: datetime
    updated_at: datetime
    verified_at: datetime | None
