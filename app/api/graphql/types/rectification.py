"""Rectification items (整改清单) as the caller may see them."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from app.models.rectification import RectificationSource, RectificationStatus
from app.models.supervision import Light


@strawberry.type(name="Rectification", description="一项整改事项")
class RectificationType:
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
    light: Light = strawberry.field(description="预警灯（按截止日期，以工作日计）")
    office_comment: str
    evidence_ids: list[int]
    created_at: datetime
    updated_at: datetime
    verified_at: datetime | None
    reopen_count: int = strawberry.field(description="被重新打开（依法治县办或回头看）的次数")
    reopened_at: datetime | None
