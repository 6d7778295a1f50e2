"""A county's campaign: phases, progress, deadlines, the score summary, items, assignments, evidence."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from app.api.graphql.pagination import Connection, connection, page
from app.api.graphql.types._base import Info, from_obj
from app.models.campaign import AssignmentStatus, CampaignPublic, CampaignStatus
from app.models.evidence import EvidenceStatus
from app.models.progress import DeadlineBoard, ProgressRow
from app.models.rectification import RectificationPool, RectificationStatus
from app.services.assessment import scoring
from app.services.campaign import assignments, campaigns, progress
from app.services.indicators import frameworks
from app.services.review import follow_ups, rectification, reuse
from app.services.search import query as search
from app.services.submission import evidence
from app.services.supervision import ranking

if TYPE_CHECKING:
    from app.api.graphql.types.assignments import AssignmentType
    from app.api.graphql.types.evidence import EvidenceType, ReusedFileType, SearchHitType
    from app.api.graphql.types.follow_up import FollowUpType
    from app.api.graphql.types.frameworks import CampaignItemType, FrameworkType
    from app.api.graphql.types.rectification import RectificationType
    from app.api.graphql.types.regions import RegionType
    from app.api.graphql.types.scoring import RoundType, ScoreSummaryType
    from app.api.graphql.types.supervision import LightCountsType, UnitRankType

_TYPES = "app.api.graphql.types."


@strawberry.type(name="Phase", description="创建阶段")
class PhaseType:
    id: int
    position: int
    name: str
    starts_on: date
    ends_on: date
    is_submission: bool


@strawberry.type(
    name="Progress", description="任务进度：四个流程状态之和等于 total；overdue 另计（未报送或退回补充且已过期）"
)
class ProgressType:
    total: int
    not_started: int
    submitted: int
    returned: int
    approved: int
    overdue: int
    submitted_pct: float = strawberry.field(description="报送率（已报送或已通过 / 总数，%）")
    approved_pct: float = strawberry.field(description="完成率（已通过 / 总数，%）")

    @staticmethod
    def of(row: ProgressRow | None) -> ProgressType:
        if row is None:
            return ProgressType(
                total=0, not_started=0, submitted=0, returned=0, approved=0, overdue=0, submitted_pct=0, approved_pct=0
            )
        return from_obj(ProgressType, row)


@strawberry.type(name="DeadlineRow", description="一个单位或一级指标的催办数字")
class DeadlineRowType:
    id: int | None = strawberry.field(description="单位、一级指标或创建活动的编号；未归入一级指标的一组为 null")
    label: str
    overdue: int
    due_soon: int
    returned: int

    @strawberry.field(deprecation_reason="请改用 id（整数）", description="id 的文字形式；无 id 时为 none")
    def key(self) -> str:
        return "none" if self.id is None else str(self.id)


@strawberry.type(name="DeadlineBoard", description="逾期、临期（N 个工作日内到期）与退回待补充")
class DeadlineBoardType:
    as_of: date
    due_soon_until: date
    provisional: bool = strawberry.field(description="到期范围跨入尚未载入节假日安排的年份：按周末计算，仅供参考")
    totals: DeadlineRowType
    by_unit: list[DeadlineRowType]
    by_level1: list[DeadlineRowType]

    @staticmethod
    def of(board: DeadlineBoard) -> DeadlineBoardType:
        return DeadlineBoardType(
            as_of=board.as_of,
            due_soon_until=board.due_soon_until,
            provisional=board.provisional,
            totals=from_obj(DeadlineRowType, board.totals),
            by_unit=[from_obj(DeadlineRowType, r) for r in board.by_unit],
            by_level1=[from_obj(DeadlineRowType, r) for r in board.by_level1],
        )


@strawberry.type(name="Campaign", description="一个县的示范创建活动")
class CampaignType:
    id: int
    county_id: int
    framework_id: int
    name: str
    status: CampaignStatus
    materials_deadline: date
    assessment_start: date | None = strawberry.field(description="考核期开始日期")
    assessment_end: date | None = strawberry.field(description="考核期结束日期")
    launched_at: datetime | None
    frozen_at: datetime | None
    phases: list[PhaseType]

    @staticmethod
    def of(c: CampaignPublic) -> CampaignType:
        return from_obj(CampaignType, c, phases=[from_obj(PhaseType, p) for p in c.phases])

    @strawberry.field(description="今天所处的阶段（最近一个已开始的阶段）")
    def current_phase(self, info: Info) -> PhaseType | None:
        return campaigns.current_phase(self.phases, info.context.today)

    @strawberry.field(description="所在县")
    async def county(self, info: Info) -> Annotated[RegionType, strawberry.lazy(_TYPES + "regions")]:
        return await info.context.loaders.region.load(self.county_id)

    @strawberry.field(description="所用的指标体系")
    async def framework(self, info: Info) -> Annotated[FrameworkType, strawberry.lazy(_TYPES + "frameworks")]:
        return await info.context.loaders.framework.load(self.framework_id)

    @strawberry.field(description="全部任务的进度（联络员只看本单位）")
    async def progress(self, info: Info) -> ProgressType:
        return ProgressType.of(await info.context.loaders.progress.load(self.id))

    @strawberry.field(description="今天亮蓝、黄、红灯的任务分工和整改事项数（联络员只看本单位）")
    async def lights(self, info: Info) -> Annotated[LightCountsType, strawberry.lazy(_TYPES + "supervision")]:
        from app.api.graphql.types.supervision import LightCountsType

        return LightCountsType.of(await info.context.loaders.lights.load(self.id))

    @strawberry.field(description="责任单位督办考核排名，附每项扣分的原因（依法治县办）")
    async def unit_ranking(self, info: Info) -> list[Annotated[UnitRankType, strawberry.lazy(_TYPES + "supervision")]]:
        from app.api.graphql.types.supervision import UnitRankType

        rows = await info.context.call(ranking.ranking, campaign_id=self.id)
        return [UnitRankType.of(r) for r in rows]

    @strawberry.field(
        description="最近一轮可查看的评分汇总（source：office 县级初审、evaluators 第三方平均、evaluator:<ID>）"
    )
    async def score(
        self, info: Info, source: str = scoring.OFFICE_KEY
    ) -> Annotated[ScoreSummaryType, strawberry.lazy(_TYPES + "scoring")] | None:
        return await info.context.loaders.score.load((self.id, source))

    @strawberry.field(description="评分轮次")
    async def rounds(self, info: Info) -> list[Annotated[RoundType, strawberry.lazy(_TYPES + "scoring")]]:
        from app.api.graphql.types.scoring import RoundType

        rows = await info.context.call(scoring.list_rounds, campaign_id=self.id)
        return [from_obj(RoundType, r) for r in rows]

    @strawberry.field(description="催办看板：逾期、within 个工作日内到期、退回待补充")
    async def deadlines(self, info: Info, within: int = 3) -> DeadlineBoardType:
        board = await info.context.call(
            progress.deadline_board, campaign_id=self.id, today=info.context.today, within_workdays=within
        )
        return DeadlineBoardType.of(board)

    @strawberry.field(description="指标体系中的指标及其在本活动中的分工")
    async def items(
        self, info: Info, first: int | None = None, after: str | None = None, level1_id: int | None = None
    ) -> Connection[Annotated[CampaignItemType, strawberry.lazy(_TYPES + "frameworks")]]:
        from app.api.graphql.types.frameworks import CampaignItemType

        at = page(first, after)
        await info.context.call(campaigns.get_visible, campaign_id=self.id)
        rows, total = await info.context.fetch(
            frameworks.list_items,
            framework_id=self.framework_id,
            section=None,
            level1_id=level1_id,
            limit=at.limit,
            offset=at.offset,
        )
        return connection([CampaignItemType.of(self.id, i) for i in rows], at=at, total=total)

    @strawberry.field(description="任务分工（联络员只看本单位）")
    async def assignments(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        status: AssignmentStatus | None = None,
        unit_id: int | None = None,
        overdue: bool | None = None,
    ) -> Connection[Annotated[AssignmentType, strawberry.lazy(_TYPES + "assignments")]]:
        from app.api.graphql.types.assignments import AssignmentType

        at = page(first, after)
        rows, total = await info.context.call(
            assignments.list_visible,
            filters=assignments.AssignmentFilter(campaign_id=self.id, status=status, unit_id=unit_id, overdue=overdue),
            today=info.context.today,
            limit=at.limit,
            offset=at.offset,
        )
        return connection([from_obj(AssignmentType, a) for a in rows], at=at, total=total)

    @strawberry.field(description="印证资料（status: SUBMITTED 即待审核队列）")
    async def evidence(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        status: EvidenceStatus | None = None,
        unit_id: int | None = None,
    ) -> Connection[Annotated[EvidenceType, strawberry.lazy(_TYPES + "evidence")]]:
        from app.api.graphql.types.evidence import EvidenceType

        at = page(first, after)
        rows, total = await info.context.call(
            evidence.list_for_campaign,
            campaign_id=self.id,
            status=status,
            unit_id=unit_id,
            limit=at.limit,
            offset=at.offset,
        )
        return connection([EvidenceType.of(e) for e in rows], at=at, total=total)

    @strawberry.field(
        description="按词检索资料（标题、情况说明、网址及文件中的文字，中文分词，须全部出现），新版本在前"
    )
    async def search_evidence(
        self, info: Info, q: str, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[SearchHitType, strawberry.lazy(_TYPES + "evidence")]]:
        from app.api.graphql.types.evidence import SearchHitType

        at = page(first, after)
        hits, total = await info.context.call(search.search, campaign_id=self.id, q=q, limit=at.limit, offset=at.offset)
        return connection([from_obj(SearchHitType, h) for h in hits], at=at, total=total)

    @strawberry.field(description="本活动中在本县被提交为多份资料的同一文件（办公室、评估专家、省级可见）")
    async def reused_evidence(
        self, info: Info
    ) -> list[Annotated[ReusedFileType, strawberry.lazy(_TYPES + "evidence")]]:
        from app.api.graphql.types.evidence import ReusedFileType, ReuseRefType

        files = await info.context.call(reuse.reused_in_campaign, campaign_id=self.id)
        return [
            ReusedFileType(sha256=f.sha256, size=f.size, uses=[from_obj(ReuseRefType, u) for u in f.uses])
            for f in files
        ]

    @strawberry.field(description="回头看（依法治县办、受托评估机构、省级可见），最新的在前")
    async def follow_ups(self, info: Info) -> list[Annotated[FollowUpType, strawberry.lazy(_TYPES + "follow_up")]]:
        from app.api.graphql.types.follow_up import FollowUpType

        rows = await info.context.call(follow_ups.list_for_campaign, campaign_id=self.id)
        return [from_obj(FollowUpType, r) for r in rows]

    @strawberry.field(description="整改清单（问题池）")
    async def rectifications(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        status: RectificationStatus | None = None,
        pool: RectificationPool | None = None,
        unit_id: int | None = None,
    ) -> Connection[Annotated[RectificationType, strawberry.lazy(_TYPES + "rectification")]]:
        from app.api.graphql.types.rectification import RectificationType

        at = page(first, after)
        rows = await info.context.call(
            rectification.list_visible,
            campaign_id=self.id,
            today=info.context.today,
            status=status,
            unit_id=unit_id,
            pool=pool,
        )
        chosen = rows[at.offset : at.offset + at.limit]
        return connection([from_obj(RectificationType, r) for r in chosen], at=at, total=len(rows))
