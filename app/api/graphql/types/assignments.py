"""An assignment: one item given to one unit in one campaign, with its status and evidence."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from app.api.graphql.types._base import Info
from app.models.campaign import AssignmentRole, AssignmentStatus
from app.models.evidence import ReviewDecision
from app.models.supervision import Light
from app.services.submission import evidence

if TYPE_CHECKING:
    from app.api.graphql.types.evidence import EvidenceType


@strawberry.type(name="LastReview", description="最近一次审核（本任务现有资料中，撤回的不算）")
class LastReviewType:
    decision: ReviewDecision
    comment: str = strawberry.field(description="审核意见（退回补充时必填）")
    reviewed_at: datetime = strawberry.field(description="审核时间")
    reviewer_name: str = strawberry.field(description="审核人")
    evidence_id: int
    evidence_title: str
    version: int = strawberry.field(description="所审核的版本号")


@strawberry.type(name="Assignment", description="任务分工：某单位在某活动中负责的一项指标")
class AssignmentType:
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
    status: AssignmentStatus
    overdue: bool = strawberry.field(description="已逾期：未报送或退回补充，且已过截止日期")
    light: Light = strawberry.field(description="预警灯（按本活动督办规则，以工作日计）")
    # a LastReview model of the service, read the same way as the type's own fields
    last_review: LastReviewType | None = strawberry.field(
        default=None, description="最近一次审核：结论、意见、审核时间和审核人；尚未审核为 null"
    )

    @strawberry.field(description="为该任务提交的印证资料（含所属资料清单项下的）")
    async def evidence(
        self, info: Info
    ) -> list[Annotated[EvidenceType, strawberry.lazy("app.api.graphql.types.evidence")]]:
        from app.api.graphql.types.evidence import EvidenceType

        rows = await info.context.call(evidence.list_for_assignment, assignment_id=self.id)
        return [EvidenceType.of(e) for e in rows]
