"""回头看: a follow-up round that re-checks a repeatable random sample of closed problems and approved items."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import model_validator
from sqlalchemy import Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models._base import UTCDateTime, created_at_field, json_list_field
from app.models.text import Line, Text

SEED_PATTERN = r"^[0-9A-Za-z_-]{1,64}$"


class FollowUpTarget(StrEnum):
    rectification = "rectification"  # a closed (verified) rectification item
    assignment = "assignment"  # an approved assignment


class CheckResult(StrEnum):
    pending = "pending"  # not checked yet
    confirmed = "confirmed"  # 整改/完成情况属实
    reopened = "reopened"  # did not hold: back to the unit


class FollowUp(SQLModel, table=True):
    """One 回头看 round of a campaign: what was drawn, from how large a population, with which seed."""

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    name: str = Field(max_length=100)
    seed: str = Field(max_length=64)
    targets: list[str] = json_list_field()  # the kinds drawn from (FollowUpTarget values)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")  # the draw restricted to one unit
    population_size: int
    population_digest: str = Field(max_length=64)  # sha256 of the ordered population: proves a repeat drew the same
    sample_size: int
    created_by: int = Field(foreign_key="app_user.id")
    created_at: datetime = created_at_field()


class FollowUpCheck(SQLModel, table=True):
    """One drawn object to re-check, its checker and the result."""

    __table_args__ = (UniqueConstraint("follow_up_id", "target", "target_id"),)
    id: int | None = Field(default=None, primary_key=True)
    follow_up_id: int = Field(foreign_key="followup.id", index=True)
    position: int  # the order of the draw
    target: str = Field(sa_type=String(16))
    target_id: int
    unit_id: int = Field(foreign_key="unit.id", index=True)
    checker_id: int = Field(foreign_key="app_user.id", index=True)
    result: str = Field(default=CheckResult.pending, sa_type=String(16), index=True)
    comment: str = ""
    new_due_on: date | None = None
    checked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class FollowUpCreate(SQLModel):
    """Body of POST /campaigns/{id}/follow-ups: how many to draw (a number or a share), from what, checked by whom."""

    name: Line = Field(min_length=1, max_length=100)
    size: int | None = Field(default=None, description="抽取数量（与 share 二选一）")
    share: float | None = Field(default=None, description="抽取比例，0–1（与 size 二选一，向上取整）")
    seed: str | None = Field(
        default=None,
        description="随机种子（不填则自动生成）；同一种子、同一总体必然抽出同一样本",
        schema_extra={"pattern": SEED_PATTERN},
    )
    targets: list[FollowUpTarget] = Field(
        default_factory=lambda: [FollowUpTarget.rectification, FollowUpTarget.assignment], min_length=1, max_length=2
    )
    unit_id: int | None = Field(default=None, description="只从该单位抽取")
    checker_ids: list[int] = Field(
        default_factory=list,
        max_length=50,
        description="复查人（本县办公室人员或受托评估专家），按顺序轮流分配；不填为本人",
    )

    @model_validator(mode="after")
    def _one_size(self) -> FollowUpCreate:
        if (self.size is None) == (self.share is None):
            raise ValueError("请填写抽取数量 size 或抽取比例 share（二选一）")
        return self


class FollowUpPublic(SQLModel):
    """A 回头看 round as the API shows it, with how far its checks are."""

    id: int
    campaign_id: int
    name: str
    seed: str
    targets: list[FollowUpTarget]
    unit_id: int | None
    population_size: int
    population_digest: str
    sample_size: int
    created_by: int
    created_at: datetime
    pending: int
    confirmed: int
    reopened: int


class FollowUpCheckPublic(SQLModel):
    """One re-check as the API shows it."""

    id: int
    follow_up_id: int
    position: int
    target: FollowUpTarget
    target_id: int
    unit_id: int
    checker_id: int
    result: CheckResult
    comment: str
    new_due_on: date | None
    checked_at: datetime | None


class CheckRecord(SQLModel):
    """Body of POST /follow-up-checks/{id}: the checker's finding; a reopen needs a comment and a new due date."""

    result: CheckResult
    comment: Text = Field(default="", max_length=2000)
    due_on: date | None = None
