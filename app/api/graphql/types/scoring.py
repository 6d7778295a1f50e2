"""Scoring rounds, scores (drafts only for those who may see them) and the score summary of a round."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.api.graphql.types._base import Info, from_obj
from app.models.score_report import COMPUTED, TOTAL, ScoreReport
from app.models.scoring import ScorerKind
from app.services.assessment import score_report, scoring


@strawberry.type(name="Score", description="一项指标的一次评分（更正追加新记录，不覆盖）")
class ScoreType:
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
    current: bool


@strawberry.type(name="Subtotal", description="一级或二级指标小计（无标题的清单自成一组）")
class SubtotalType:
    key: str
    title: str
    level: int
    weight: float
    points: float
    max: float
    items: int
    scored: int
    not_applicable: int


@strawberry.type(name="VetoHit", description="发生的否决项")
class VetoHitType:
    item_id: int
    key: str
    text: str
    comment: str


@strawberry.type(name="ScoreSummary", description="一轮评分的汇总：总分、一级指标小计、加分、否决")
class ScoreSummaryType:
    campaign_id: int
    round_id: int
    round_name: str
    released: bool
    source: str
    base_points: float
    base_max: float
    percent: float
    bonus_points: float = strawberry.field(description="计入的加分（封顶后）")
    total: float = strawberry.field(description=TOTAL)
    computed_total: float = strawberry.field(description=COMPUTED)
    vetoed: bool = strawberry.field(description="是否触发否决项（一票否决）；触发时 total 为 0")
    veto_hits: list[VetoHitType]
    verdict: str = strawberry.field(description="vetoed 否决 / scored 已评分")
    unscored: int
    level1: list[SubtotalType]
    # The report itself, for level2: built only when asked (a region overview asks for level1 of every
    # county; building both for 100 counties cost as much as the rest of the summary).
    report: strawberry.Private[ScoreReport]

    @strawberry.field
    def level2(self) -> list[SubtotalType]:
        return [from_obj(SubtotalType, s) for s in self.report.level2]

    @staticmethod
    def of(r: ScoreReport) -> ScoreSummaryType:
        return from_obj(
            ScoreSummaryType,
            r,
            bonus_points=r.bonus.points,
            veto_hits=[from_obj(VetoHitType, h) for h in r.veto.hits],
            level1=[from_obj(SubtotalType, s) for s in r.level1],
            report=r,
        )


@strawberry.type(name="ScoringRound", description="评分轮次")
class RoundType:
    id: int
    campaign_id: int
    number: int
    name: str
    created_at: datetime
    released_at: datetime | None

    @strawberry.field(description="本轮评分（发布前：依法治县办看全部，评估机构只看自己的）")
    async def scores(self, info: Info, history: bool = False, item_id: int | None = None) -> list[ScoreType]:
        rows = await info.context.call(scoring.list_scores, round_id=self.id, item_id=item_id, history=history)
        return [from_obj(ScoreType, s) for s in rows]

    @strawberry.field(description="本轮的评分汇总（与 REST 评分报告同一算法）")
    async def summary(self, info: Info, source: str | None = None) -> ScoreSummaryType:
        return ScoreSummaryType.of(await info.context.call(score_report.build, round_id=self.id, source=source))
