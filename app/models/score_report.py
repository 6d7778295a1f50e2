"""The score report of a round: items, level-1/level-2 subtotals, bonus, veto and units (nothing stored)."""

from __future__ import annotations

from pydantic import BaseModel, Field

TOTAL = "计分结果：触发否决项（一票否决）时为 0，否则等于 computed_total"
COMPUTED = "按评分规则算出的得分（基本分 + 加分），不计否决项；否决时仅供参考"


class UnitFigure(BaseModel):
    """One unit's current figure for a metric."""

    unit_id: int
    unit_name: str
    value: float
    passes: bool


class MetricResult(BaseModel):
    """A declared metric of an item and whether the reported figures meet it (None: nothing reported)."""

    code: str
    label: str
    threshold: str
    figures: list[UnitFigure]
    passes: bool | None


class ItemResult(BaseModel):
    """One item's score in the report, with its metrics beside it."""

    item_id: int
    key: str
    section: str
    section_name: str = Field(description="所在清单的名称，如 三级指标、加分项、负面清单")
    label: str = Field(description="文件和消息中对该项的称呼：第一个清单内为“第18项”，其他清单为“加分项第1项”")
    kind: str
    number: int
    text: str
    level1_id: int | None
    level2_id: int | None
    max: float
    weight: float
    points: float | None  # None: not scored yet
    not_applicable: bool
    vetoed: bool | None
    scorers: int
    comment: str
    metrics: list[MetricResult] = []
    metrics_pass: bool | None = None


class Subtotal(BaseModel):
    """A level-1 or level-2 group (or a list without headings, e.g. 量化任务清单)."""

    key: str
    title: str
    level: int
    weight: float
    points: float
    max: float
    items: int
    scored: int
    not_applicable: int


class BonusResult(BaseModel):
    """加分项: points as scored, and as counted under the cap."""

    raw: float
    cap: float
    points: float


class VetoHit(BaseModel):
    """A veto item that occurred."""

    item_id: int
    key: str
    text: str
    comment: str


class VetoResult(BaseModel):
    """否决项 / 负面清单: any hit fails the county whatever its points."""

    failed: bool
    hits: list[VetoHit]


class UnitResult(BaseModel):
    """Points of the items one unit is assigned (lead or co-responsible)."""

    unit_id: int
    unit_name: str
    items: int
    scored: int
    points: float
    max: float
    percent: float
    metrics_failed: int


class ScoreReport(BaseModel):
    """A round's scores rolled up per the campaign's scoring configuration."""

    campaign_id: int
    campaign_name: str
    county_name: str
    round_id: int
    round_name: str
    released: bool
    source: str  # office | evaluator:<id> | evaluators (mean of the evaluators' scores)
    config_source: str
    not_applicable_policy: str
    base_points: float
    base_max: float
    percent: float
    bonus: BonusResult
    total: float = Field(description=TOTAL)
    computed_total: float = Field(description=COMPUTED)
    vetoed: bool = Field(description="是否触发否决项；触发时 total 为 0，触发的否决项见 veto.hits")
    veto: VetoResult
    verdict: str  # "vetoed" (否决) or "scored"
    unscored: int
    level1: list[Subtotal]
    level2: list[Subtotal]
    items: list[ItemResult]
    units: list[UnitResult]
