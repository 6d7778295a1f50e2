"""回头看 rounds and their checks, as the caller may see them (the office, engaged evaluators, the province)."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from app.api.graphql.pagination import Connection, connection, page
from app.api.graphql.types._base import Info, from_obj
from app.models.follow_up import CheckResult, FollowUpTarget
from app.services.review import follow_ups


@strawberry.type(name="FollowUpCheck", description="回头看中抽中的一项复查：对象、复查人、结果")
class FollowUpCheckType:
    id: int
    follow_up_id: int
    position: int = strawberry.field(description="抽取顺序（从 0 起）")
    target: FollowUpTarget
    target_id: int
    unit_id: int
    checker_id: int
    result: CheckResult
    comment: str
    new_due_on: date | None = strawberry.field(description="重新打开时给出的新期限")
    checked_at: datetime | None


@strawberry.type(
    name="FollowUp", description="一轮回头看：随机种子、总体、样本与复查进度（同一种子、同一总体抽出同一样本）"
)
class FollowUpType:
    id: int
    campaign_id: int
    name: str
    seed: str
    targets: list[FollowUpTarget]
    unit_id: int | None
    population_size: int
    population_digest: str = strawberry.field(description="总体（按固定顺序）的 SHA-256 摘要")
    sample_size: int
    created_by: int
    created_at: datetime
    pending: int
    confirmed: int
    reopened: int

    @strawberry.field(description="本轮的复查事项（按抽取顺序）")
    async def checks(
        self, info: Info, first: int | None = None, after: str | None = None, result: CheckResult | None = None
    ) -> Connection[FollowUpCheckType]:
        at = page(first, after)
        rows = await info.context.call(follow_ups.checks, follow_up_id=self.id, result=result)
        chosen = rows[at.offset : at.offset + at.limit]
        return connection([from_obj(FollowUpCheckType, c) for c in chosen], at=at, total=len(rows))
