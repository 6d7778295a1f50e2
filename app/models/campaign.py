"""Campaigns, their phases, evaluator engagements, and assignments of items to units."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, model_validator
from pydantic import Field as PydanticField
from sqlalchemy import JSON, Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models._base import UTCDateTime, created_at_field, json_doc_field
from app.models.common import Page
from app.models.evidence import ReviewDecision
from app.models.supervision import Light
from app.models.text import Line, Text


class CampaignStatus(StrEnum):
    draft = "draft"
    launched = "launched"


class AssignmentRole(StrEnum):
    lead = "lead"  # 牵头单位
    co = "co"  # 责任单位 (co-responsible)


class AssignmentStatus(StrEnum):
    """Where the work stands (the workflow); whether it is late is the separate `overdue` flag."""

    not_started = "not_started"
    submitted = "submitted"
    returned = "returned"
    approved = "approved"


# What a county office worker reads, in the ledger, the .ics feed and every export.
STATUS_LABEL = {
    AssignmentStatus.not_started: "未报送",
    AssignmentStatus.submitted: "已报送",
    AssignmentStatus.returned: "退回补充",
    AssignmentStatus.approved: "已通过",
}
OVERDUE_LABEL = "已逾期"


def status_label(status: str, *, overdue: bool) -> str:
    """The status in Chinese, with 已逾期 after it when the work is late: 退回补充（已逾期）."""
    label = STATUS_LABEL[AssignmentStatus(status)]
    return f"{label}（{OVERDUE_LABEL}）" if overdue else label


class PhaseBase(SQLModel):
    """A named phase with its dates; the submission phase gives assignments their due date."""

    name: Line = Field(min_length=1, max_length=50)
    starts_on: date
    ends_on: date
    is_submission: bool = False


class Phase(PhaseBase, table=True):
    """One phase of a campaign (动员部署, 实施推进, 县级初审…)."""

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    position: int


class PhasePublic(PhaseBase):
    """A phase as the API shows it."""

    id: int
    position: int


class Campaign(SQLModel, table=True):
    """A county's campaign on one framework."""

    id: int | None = Field(default=None, primary_key=True)
    county_id: int = Field(foreign_key="region.id", index=True)
    framework_id: int = Field(foreign_key="framework.id", index=True)
    name: str = Field(max_length=200)
    status: str = Field(default=CampaignStatus.draft, sa_type=String(16))
    materials_deadline: date
    # The assessment period (考核期): evidence whose document date falls outside it is flagged, never refused.
    assessment_start: date | None = None
    assessment_end: date | None = None
    created_at: datetime = created_at_field()
    launched_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    launch_report: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    # Set when the office freezes the campaign to submit it upward: liaisons can no longer change evidence.
    frozen_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # This campaign's scoring configuration (ScoringConfig as JSON); None: the framework's default.
    scoring: dict[str, Any] | None = json_doc_field()
    # This campaign's supervision rules (SupervisionRules as JSON: lights, points, re-escalation); None: defaults.
    supervision: dict[str, Any] | None = json_doc_field()


class CampaignCreate(SQLModel):
    """Body of POST /campaigns; county_id is the office's own unless an admin names one."""

    name: Line = Field(min_length=1, max_length=200)
    framework_id: int
    county_id: int | None = None
    materials_deadline: date
    phases: list[PhaseBase] = Field(min_length=1)
    assessment_start: date | None = Field(default=None, description="考核期开始日期（可选，可稍后设置）")
    assessment_end: date | None = Field(default=None, description="考核期结束日期")


class AssessmentPeriod(SQLModel):
    """Body of PUT /campaigns/{id}/assessment-period: the period evidence should speak for (考核期)."""

    assessment_start: date = Field(description="考核期开始日期，如 2023-01-01")
    assessment_end: date = Field(description="考核期结束日期，如 2023-12-31")


class CampaignPublic(SQLModel):
    """A campaign as the API shows it."""

    id: int
    county_id: int
    framework_id: int
    name: str
    status: CampaignStatus
    materials_deadline: date
    assessment_start: date | None = Field(default=None, description="考核期开始日期；资料的成文日期在考核期外会被标出")
    assessment_end: date | None = Field(default=None, description="考核期结束日期")
    created_at: datetime
    launched_at: datetime | None
    frozen_at: datetime | None = None
    phases: list[PhasePublic] = []


class Engagement(SQLModel, table=True):
    """A third-party evaluator engaged for a campaign."""

    campaign_id: int = Field(foreign_key="campaign.id", primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", primary_key=True, index=True)


class LateWindow(SQLModel, table=True):
    """A unit allowed to change its evidence after the materials deadline, until a date."""

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    until: date
    reason: str = Field(max_length=500)
    granted_by: int = Field(foreign_key="app_user.id")
    created_at: datetime = created_at_field()


class LateWindowCreate(SQLModel):
    """Body of POST /campaigns/{id}/late-windows."""

    unit_id: int
    until: date
    reason: Text = Field(min_length=1, max_length=500)


class LateWindowPublic(LateWindowCreate):
    """A late window as the API shows it."""

    id: int
    campaign_id: int
    granted_by: int
    created_at: datetime


class Assignment(SQLModel, table=True):
    """One item given to one unit in one campaign, as lead or co-responsible."""

    __table_args__ = (
        UniqueConstraint("campaign_id", "item_id", "unit_id"),
        # the assignment lists' order (due date, the item's place, unit, id) for an office's ledger and a liaison's
        # to-do list: a page is read off the index, not sorted from every match (issue 28)
        Index("ix_assignment_campaign_order", "campaign_id", "due_on", "item_position", "unit_id", "id"),
        Index("ix_assignment_unit_order", "unit_id", "due_on", "item_position", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    role: str = Field(sa_type=String(8))
    phase_id: int | None = Field(default=None, foreign_key="phase.id")
    due_on: date = Field(index=True)
    due_overridden: bool = False
    status: str = Field(default=AssignmentStatus.not_started, sa_type=String(16), index=True)
    # How often the office returned it (退回补充), counted as it happens: two and three returns light it.
    returned_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"}, index=True)
    # The item's place in its framework (Item.position), a sort key of the lists: set and kept by database triggers
    # from the item (migration 0013a), whoever inserts the row; never written by the application.
    item_position: int | None = Field(default=None)
    created_at: datetime = created_at_field()


class AssignmentTally(SQLModel, table=True):
    """How many of a campaign's assignments one unit has at one status and due date: kept by database
    triggers on assignment in the same transaction as every insert, update and delete (migration 0009a), so a
    region overview sums a few hundred rows per county instead of counting every assignment. Derived data:
    no foreign keys, rebuilt from assignment by app.services.campaign.tally.rebuild."""

    __tablename__ = "assignment_tally"
    campaign_id: int = Field(primary_key=True)
    unit_id: int = Field(primary_key=True)
    status: str = Field(sa_type=String(16), primary_key=True)
    due_on: date = Field(primary_key=True)
    n: int


class AssignmentCreate(SQLModel):
    """Body of POST /campaigns/{id}/assignments: the office adds an assignment by hand."""

    item_id: int
    unit_id: int
    role: AssignmentRole = AssignmentRole.co
    due_on: date | None = None


class DayUnit(StrEnum):
    calendar = "calendar"  # 自然日
    workdays = "workdays"  # 工作日: weekends and public holidays skipped, 调休 make-up days counted


class DueIn(SQLModel):
    """A deadline given as a count of calendar or working days after a date (default: today)."""

    days: int = Field(ge=0, le=366)
    unit: DayUnit = DayUnit.workdays
    from_date: date | None = None


class AssignmentUpdate(SQLModel):
    """Body of PATCH /assignments/{id}: a due date override as a date or as N (working) days;
    {"due_on": null} returns it to the submission phase's end."""

    due_on: date | None = None
    due_in: DueIn | None = None

    @model_validator(mode="after")
    def _one_way(self) -> AssignmentUpdate:
        if self.due_on is not None and self.due_in is not None:
            raise ValueError("due_on 与 due_in 只能填写一个")
        return self


class LastReview(BaseModel):
    """The office's latest decision on evidence that counts for an assignment: why it was returned, or that it
    passed, without a second request."""

    decision: ReviewDecision
    comment: str = PydanticField(description="审核意见（退回补充时必填）")
    reviewed_at: datetime = PydanticField(description="审核时间")
    reviewer_name: str = PydanticField(description="审核人")
    evidence_id: int
    evidence_title: str
    version: int = PydanticField(description="所审核的版本号")


# A plain pydantic model, not SQLModel: built from plain columns, 50 a page on the busiest read there is, where
# SQLModel's per-object hooks cost a fifth of the request.
class AssignmentPublic(BaseModel):
    """An assignment with what a to-do list needs to show it."""

    id: int
    campaign_id: int
    item_id: int
    item_key: str
    item_number: int
    item_text: str
    section: str
    level1_id: int | None
    unit_id: int
    unit_name: str
    role: AssignmentRole
    due_on: date
    due_overridden: bool
    status: AssignmentStatus  # the workflow status, whatever the date
    overdue: bool  # still waiting on the unit (not started, or returned) and past its due date
    light: Light = PydanticField(
        description="预警灯：none 无、blue 蓝（临近截止）、yellow 黄、red 红（按本活动督办规则）"
    )
    last_review: LastReview | None = PydanticField(
        default=None,
        description="最近一次审核（本任务现有资料中，撤回的不算）：结论、意见、审核时间和审核人；尚未审核为 null",
    )


class AssignmentPage(Page[AssignmentPublic]):
    """A page of assignments; provisional when its due_within_workdays horizon crossed a year whose
    holidays nobody has loaded (weekends only were counted)."""

    provisional: bool = False
