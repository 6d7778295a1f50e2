"""The schema: what provincial systems and dashboards read, and the two writes a client needs in one call."""

from __future__ import annotations

from datetime import datetime

import strawberry
from graphql import GraphQLError
from pydantic import ValidationError
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter
from strawberry.types import ExecutionContext

from app.api.graphql.errors import DomainErrors
from app.api.graphql.limits import QueryLimits
from app.api.graphql.pagination import Connection, connection, page
from app.api.graphql.permissions import IntrospectionNeedsLogin, IsAuthenticated
from app.api.graphql.types._base import Info, from_obj
from app.api.graphql.types.assignments import AssignmentType
from app.api.graphql.types.campaigns import CampaignType
from app.api.graphql.types.changes import ChangeType, ViewerType
from app.api.graphql.types.evidence import EvidenceType
from app.api.graphql.types.frameworks import FrameworkType
from app.api.graphql.types.regions import RegionType
from app.api.graphql.types.scoring import ScoreType
from app.models.evidence import ReviewCreate, ReviewDecision
from app.models.scoring import ScoreBatch
from app.services.accounts import regions
from app.services.assessment import scoring
from app.services.campaign import assignments, campaigns
from app.services.errors import NotFound, invalid_from
from app.services.indicators import frameworks
from app.services.platform import audit
from app.services.review import reviews
from app.services.submission import evidence

_auth = [IsAuthenticated]


@strawberry.type
class Query:
    @strawberry.field(permission_classes=_auth, description="当前登录的账号")
    async def viewer(self, info: Info) -> ViewerType:
        return from_obj(ViewerType, await info.context.principal())

    @strawberry.field(
        permission_classes=_auth,
        description="调用者可见的县（省级账号：本省各县；可用 regionId 限定到某市），附各县创建活动的进度与评分",
    )
    async def counties(
        self, info: Info, region_id: int | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[RegionType]:
        at = page(first, after)
        rows, total = await info.context.call(
            regions.counties_visible, within=region_id, limit=at.limit, offset=at.offset
        )
        return connection([from_obj(RegionType, r) for r in rows], at=at, total=total)

    @strawberry.field(permission_classes=_auth, description="调用者可见的创建活动")
    async def campaigns(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[CampaignType]:
        at = page(first, after)
        rows = await info.context.call(campaigns.list_visible)
        chosen = await info.context.fetch(campaigns.public_list, items=rows[at.offset : at.offset + at.limit])
        return connection([CampaignType.of(c) for c in chosen], at=at, total=len(rows))

    @strawberry.field(permission_classes=_auth, description="一个创建活动（无权查看时为“未找到”）")
    async def campaign(self, info: Info, id: int) -> CampaignType:  # noqa: A002 - GraphQL's own name
        row = await info.context.call(campaigns.get_visible, campaign_id=id)
        return CampaignType.of(await info.context.fetch(campaigns.to_public, campaign=row))

    @strawberry.field(permission_classes=_auth, description="一个指标体系")
    async def framework(self, info: Info, id: int) -> FrameworkType:  # noqa: A002
        found = await info.context.fetch(frameworks.public_by_ids, framework_ids=[id])
        if id not in found:
            raise NotFound("未找到该指标体系", code="framework_not_found")
        return FrameworkType.of(found[id])

    @strawberry.field(permission_classes=_auth, description="调用者可见范围内全部逾期的任务（按到期日）")
    async def overdue_assignments(
        self, info: Info, first: int | None = None, after: str | None = None, campaign_id: int | None = None
    ) -> Connection[AssignmentType]:
        at = page(first, after)
        rows, total = await info.context.call(
            assignments.list_visible,
            filters=assignments.AssignmentFilter(campaign_id=campaign_id, overdue=True),
            today=info.context.today,
            limit=at.limit,
            offset=at.offset,
        )
        return connection([from_obj(AssignmentType, a) for a in rows], at=at, total=total)

    @strawberry.field(permission_classes=_auth, description="一份印证资料")
    async def evidence(self, info: Info, id: int) -> EvidenceType:  # noqa: A002
        found = await info.context.loaders.evidence_detail.load(id)
        return EvidenceType.of(found)

    @strawberry.field(
        permission_classes=_auth,
        description="自 since 起调用者所辖各县的变更（由旧到新），供对接系统增量同步（依法治县办、省级）",
    )
    async def changes(
        self, info: Info, since: datetime, first: int | None = None, after: str | None = None
    ) -> Connection[ChangeType]:
        at = page(first, after)
        rows, total = await info.context.call(audit.changes, since=since, limit=at.limit, offset=at.offset)
        return connection([from_obj(ChangeType, e) for e in rows], at=at, total=total)


@strawberry.input(description="一项指标的评分")
class ScoreInput:
    item_id: int
    points: float | None = None
    not_applicable: bool = False
    vetoed: bool | None = None
    comment: str = ""
    finding: str = ""


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=_auth, description="审核一份资料的当前版本（依法治县办）")
    async def review_evidence(
        self, info: Info, evidence_id: int, version: int, decision: ReviewDecision, comment: str = ""
    ) -> EvidenceType:
        try:
            data = ReviewCreate(decision=decision, version=version, comment=comment)
        except ValidationError as exc:
            raise invalid_from(exc, "审核内容不符合要求") from exc
        row = await info.context.write(reviews.review, evidence_id=evidence_id, data=data)
        return EvidenceType.of((await info.context.call(evidence.public_list, rows=[row]))[0])

    @strawberry.mutation(permission_classes=_auth, description="记录本人在某轮的评分，全部成功或全部不保存")
    async def record_scores(self, info: Info, round_id: int, scores: list[ScoreInput]) -> list[ScoreType]:
        try:
            batch = ScoreBatch.model_validate({"scores": [vars(s) for s in scores]})
        except ValidationError as exc:
            raise invalid_from(exc, "评分有误，未保存任何一项") from exc
        rows = await info.context.write(scoring.record, round_id=round_id, batch=batch)
        return [from_obj(ScoreType, s) for s in rows]


class _Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Not strawberry's log of every error: DomainErrors logs the unexpected ones, a client's mistakes
        (a refused token, a missing object) are no server error."""


schema = _Schema(
    query=Query,
    mutation=Mutation,
    extensions=[
        IntrospectionNeedsLogin,
        QueryLimits,
        lambda: MaxAliasesLimiter(max_alias_count=30),
        lambda: MaxTokensLimiter(max_token_count=5000),
        DomainErrors,
    ],
)
