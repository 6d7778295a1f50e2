"""The rectification list (回头看 问题清单): problems found, the unit's measures, the office's verification."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from app.models._base import UTCDateTime, created_at_field, json_list_field
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
    carried = "carried"  # still open in an earlier campaign, carried into this one (source_id: the origin item)


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
    # How often a closed or done item was reopened (by the office or a 回头看 check): warning lights read it.
    reopen_count: int = 0
    reopened_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class RectificationDecisionKind(StrEnum):
    close = "close"  # 销号: accepted by the office on the unit's evidence
    send_back = "send_back"  # a done item sent back to the unit (not accepted)
    reopen = "reopen"  # a done or closed item opened again, with a new due date


class RectificationDecision(SQLModel, table=True):
    """One decision on a rectification item, kept forever: 销号, sent back, or reopened (the item's history)."""

    id: int | None = Field(default=None, primary_key=True)
    rectification_id: int = Field(foreign_key="rectification.id", index=True)
    kind: str = Field(sa_type=String(16))
    comment: str = ""
    evidence_ids: list[int] = json_list_field()  # the evidence the decision was taken on
    status_before: str = Field(sa_type=String(16))
    due_on_before: date
    due_on_after: date
    follow_up_check_id: int | None = Field(default=None, foreign_key="followupcheck.id")
    decided_by: int = Field(foreign_key="app_user.id")
    decided_at: datetime = created_at_field()


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


class RectificationReopen(SQLModel):
    """Body of POST /rectifications/{id}/reopen (office): why, and by when the unit must fix it again."""

    comment: Text = Field(min_length=1, max_length=2000)
    due_on: date


class RectificationPool(StrEnum):
    """Filters of the problem pool (问题池)."""

    open = "open"  # not closed yet (open, in progress, done awaiting verification)
    closed = "closed"  # 已销号
    reopened = "reopened"  # reopened at least once and not closed again since


class RectificationDecisionPublic(SQLModel):
    """One decision in a rectification item's history."""

    id: int
    kind: RectificationDecisionKind
    comment: str
    evidence_ids: list[int]
    status_before: RectificationStatus
    due_on_before: date
    due_on_after: date
    follow_up_check_id: int | None
    decided_by: int
    decided_at: datetime


class RectificationPoolRow(SQLModel):
    """One unit's line of the problem pool: how many items are open (overdue, reopened among them) and closed."""

    COUNTS: ClassVar[tuple[str, ...]] = ("open", "overdue", "reopened", "closed")
    unit_id: int
    unit_name: str
    open: int
    overdue: int
    reopened: int
    closed: int


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
    reopen_count: int
    reopened_at: datetime | None
