"""Scoring rounds, scores kept per (item, scorer, round) and never overwritten, reported figures."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import model_validator
from sqlalchemy import Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models._base import UTCDateTime, created_at_field, json_doc_field
from app.models.text import Line, Text


class ScorerKind(StrEnum):
    office = "office"  # 县级初审: the office as a body (any office user may correct it)
    evaluator = "evaluator"  # 第三方评估: each evaluator account scores on its own


class ScoringRound(SQLModel, table=True):
    """A round of scoring (县级初审, 第三方评估…); released rounds are visible to all and frozen."""

    __table_args__ = (UniqueConstraint("campaign_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    number: int
    name: str = Field(max_length=100)
    created_by: int = Field(foreign_key="app_user.id")
    created_at: datetime = created_at_field()
    released_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    released_by: int | None = Field(default=None, foreign_key="app_user.id")
    # The office's figures as released (a ScoreReport without items and units): released scores and the
    # scoring configuration are frozen, so the region overview reads this instead of rolling up every score.
    # None before release, and for rounds released before migration 0009b (rolled up when read).
    summary: dict[str, Any] | None = json_doc_field()


class RoundCreate(SQLModel):
    """Body of POST /campaigns/{id}/rounds."""

    name: Line = Field(min_length=1, max_length=100)


class RoundPublic(SQLModel):
    """A scoring round as the API shows it."""

    id: int
    campaign_id: int
    number: int
    name: str
    created_at: datetime
    released_at: datetime | None


class Score(SQLModel, table=True):
    """One recorded score; a correction is a new row, the latest per (round, item, scorer) counts."""

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="scoringround.id", index=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    scorer_kind: str = Field(sa_type=String(16))
    # "office" for the office's preliminary review, "evaluator:<user id>" for each evaluator
    scorer_key: str = Field(max_length=40, index=True)
    points: float | None = None
    not_applicable: bool = False
    vetoed: bool | None = None  # veto items only: did the vetoing event occur?
    comment: str = ""
    finding: str = ""  # a problem found (发现问题), candidate for the rectification list
    recorded_by: int = Field(foreign_key="app_user.id")
    created_at: datetime = created_at_field()


class ScoreCreate(SQLModel):
    """One item's score: points (0…max), or not applicable, or for a veto item whether it occurred."""

    item_id: int
    points: float | None = Field(default=None, ge=0)
    not_applicable: bool = False
    vetoed: bool | None = None
    comment: Text = Field(default="", max_length=2000)
    finding: Text = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _na_has_no_points(self) -> ScoreCreate:
        if self.not_applicable and self.points is not None:
            raise ValueError("合理缺项不能同时填写分数")
        return self


class ScoreBatch(SQLModel):
    """Body of POST /rounds/{id}/scores: one or many items, stored all or nothing."""

    scores: list[ScoreCreate] = Field(min_length=1, max_length=1000)


class ScorePublic(SQLModel):
    """A score as the API shows it."""

    id: int
    round_id: int
    item_id: int
    item_key: str
    scorer_kind: ScorerKind
    scorer_key: str
    points: float | None
    not_applicable: bool
    vetoed: bool | None
    comment: str
    finding: str
    recorded_by: int
    created_at: datetime
    current: bool = True


class MetricFigure(SQLModel, table=True):
    """A figure a unit reports for a quantified item's metric; a correction is a new row."""

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    assignment_id: int = Field(foreign_key="assignment.id", index=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")
    metric_code: str = Field(max_length=40)
    value: float
    note: str = ""
    evidence_id: int | None = Field(default=None, foreign_key="evidence.id")
    reported_by: int = Field(foreign_key="app_user.id")
    created_at: datetime = created_at_field()


class FigureCreate(SQLModel):
    """Body of POST /assignments/{id}/figures: a figure for one declared metric of the item."""

    metric_code: str = Field(min_length=1, max_length=40, schema_extra={"pattern": r"^[a-z][a-z0-9_]*$"})
    value: float = Field(ge=-1e12, le=1e12)
    note: Text = Field(default="", max_length=1000)
    evidence_id: int | None = None


class FigurePublic(SQLModel):
    """A reported figure, judged against its threshold."""

    id: int
    assignment_id: int
    item_id: int
    unit_id: int
    metric_code: str
    value: float
    note: str
    evidence_id: int | None
    reported_by: int
    created_at: datetime
    passes: bool | None
    threshold: str | None
