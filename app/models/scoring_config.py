"""The scoring model as configuration: points, weights, not-applicable policy, bonus cap, metrics.

A framework carries a default (its data file's "scoring" block: the seeds give thresholds, not
points); a campaign may replace it. Nothing here is a table: the document is stored as JSON and
validated against the framework it applies to.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.models.text import Line


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NotApplicablePolicy(StrEnum):
    rescale = "rescale"  # 合理缺项: left out, the level-1 subtotal scaled back up to its full points
    full = "full"  # counted as full points
    exclude = "exclude"  # left out of both points and maximum (the total's maximum shrinks)


class MetricOp(StrEnum):
    ge = "ge"  # ≥ value
    le = "le"  # ≤ value
    eq = "eq"  # = value (e.g. 100%)
    between = "between"  # low ≤ x ≤ high (e.g. 5–15 working days)


_SYMBOL = {MetricOp.ge: "≥", MetricOp.le: "≤", MetricOp.eq: "="}


class MetricSpec(_Strict):
    """A declared measurable threshold of a quantified item (网上可办率 ≥ 90%…)."""

    code: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    label: Line = Field(min_length=1, max_length=100)
    unit: Line = Field(default="", max_length=10)
    op: MetricOp
    value: float | None = None
    low: float | None = None
    high: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> MetricSpec:
        if self.op == MetricOp.between:
            if self.low is None or self.high is None or self.low > self.high:
                raise ValueError("between 需要 low ≤ high")
        elif self.value is None:
            raise ValueError(f"{self.op} 需要 value")
        return self

    def passes(self, figure: float) -> bool:
        """Whether a reported figure meets the threshold."""
        if self.op == MetricOp.between:
            return self.low <= figure <= self.high  # type: ignore[operator]
        assert self.value is not None
        return {
            MetricOp.ge: figure >= self.value,
            MetricOp.le: figure <= self.value,
            MetricOp.eq: abs(figure - self.value) < 1e-9,
        }[self.op]

    def threshold(self) -> str:
        """The threshold as an office writes it: "≥ 90%", "5–15 工作日"."""
        if self.op == MetricOp.between:
            return f"{self.low:g}–{self.high:g}{self.unit}"
        return f"{_SYMBOL[self.op]} {self.value:g}{self.unit}"


class ItemScoring(_Strict):
    """Points and weight of one item, overriding the section's default."""

    max: float | None = Field(default=None, gt=0, le=1000)
    weight: float = Field(default=1.0, gt=0, le=100)


class ScoringConfig(_Strict):
    """How a campaign's scores roll up: item → level 2 → level 1 → total, plus bonus and veto."""

    default_max: float = Field(default=1.0, gt=0, le=1000, description="每个计分指标的默认分值")
    bonus_max: float = Field(default=1.0, gt=0, le=1000, description="每个加分项的默认分值")
    bonus_cap: float | None = Field(default=None, ge=0, le=1000, description="加分合计上限；空为各加分项分值之和")
    not_applicable: NotApplicablePolicy = NotApplicablePolicy.rescale
    items: dict[str, ItemScoring] = Field(default_factory=dict, description="按指标编号覆盖分值与权重")
    level1_weights: dict[str, float] = Field(default_factory=dict, description="一级指标名称 → 权重（默认 1）")
    metrics: dict[str, list[MetricSpec]] = Field(default_factory=dict, description="指标编号 → 量化指标")

    @model_validator(mode="after")
    def _unique_metric_codes(self) -> ScoringConfig:
        for key, specs in self.metrics.items():
            codes = [m.code for m in specs]
            if len(codes) != len(set(codes)):
                raise ValueError(f"{key} 的量化指标代码重复")
        return self


class ScoringConfigPublic(BaseModel):
    """The configuration in force and where it comes from."""

    source: str  # campaign | framework | default
    config: ScoringConfig
