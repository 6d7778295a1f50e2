"""The score report: a round's current scores rolled up item → level 2 → level 1 → total.

Rules (ScoringConfig): an item's points count times its weight; a level-1 subtotal counts times its
weight in the total; not-applicable items follow the policy (rescale / full / exclude); bonus points
are added up to the cap; one veto hit fails the county whatever its points. The work is a handful of
queries and one pass in Python, so a 229-item × 60-unit campaign answers in milliseconds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Float, Integer, column, func, values
from sqlmodel import Session, col, select

from app.models import (
    Assignment,
    Campaign,
    Framework,
    FrameworkSection,
    Heading,
    Item,
    Region,
    Score,
    ScoringRound,
    Unit,
)
from app.models.framework import SectionKind, item_label
from app.models.score_report import (
    BonusResult,
    ItemResult,
    MetricResult,
    ScoreReport,
    Subtotal,
    UnitFigure,
    UnitResult,
    VetoHit,
    VetoResult,
)
from app.models.scoring_config import NotApplicablePolicy
from app.models.user import Role
from app.services.access import Principal, campaign_scope
from app.services.assessment import figures, scoring, scoring_config
from app.services.assessment.scoring_config import Scheme
from app.services.errors import Forbidden, Invalid

EVALUATORS = "evaluators"


@dataclass
class _Mark:
    points: float | None = None
    not_applicable: bool = False
    vetoed: bool | None = None
    scorers: int = 0
    comment: str = ""


def _check_source(principal: Principal, released: bool, source: str) -> None:
    if source not in (scoring.OFFICE_KEY, EVALUATORS):
        prefix, _, user = source.partition(":")
        if prefix != "evaluator" or not user.isdigit():
            raise Invalid("source 应为 office、evaluators 或 evaluator:<用户ID>", code="source_invalid")
    if principal.role == Role.liaison:
        raise Forbidden("评分报告由依法治县办查看；本单位指标的得分请在发布后查看评分明细", code="report_not_for_units")
    own = principal.role == Role.evaluator and source == scoring.evaluator_key(principal.user_id)
    if not released and principal.role not in (Role.office, Role.system_admin) and not own:
        raise Forbidden("评分尚未发布", code="scores_not_released")


def _marks(rows: Iterable[Score]) -> dict[int, _Mark]:
    """One mark per item: the scorer's own, or for several evaluators their mean (a veto if any saw one)."""
    by_item: dict[int, list[Score]] = defaultdict(list)
    for s in rows:
        by_item[s.item_id].append(s)
    marks = {}
    for item_id, scores in by_item.items():
        points = [s.points for s in scores if s.points is not None and not s.not_applicable]
        marks[item_id] = _Mark(
            points=sum(points) / len(points) if points else None,
            not_applicable=all(s.not_applicable for s in scores),
            vetoed=any(s.vetoed for s in scores) if any(s.vetoed is not None for s in scores) else None,
            scorers=len(scores),
            comment="；".join(s.comment for s in scores if s.comment),
        )
    return marks


def _contribution(it: ItemResult, policy: NotApplicablePolicy) -> tuple[float, float, int]:
    """(points, max, scored) one standard item adds to a subtotal, before any rescaling."""
    weighted = it.max * it.weight
    if it.not_applicable:
        return (weighted, weighted, 0) if policy == NotApplicablePolicy.full else (0.0, 0.0, 0)
    if it.points is None:
        return 0.0, weighted, 0
    return it.points * it.weight, weighted, 1


def _subtotal(items: list[ItemResult], policy: NotApplicablePolicy) -> tuple[float, float, int, int]:
    """(points, max, scored, not applicable) of a group of standard items under the policy."""
    points = top = full = 0.0
    scored = na = 0
    for it in items:
        p, t, n = _contribution(it, policy)
        points, top, scored = points + p, top + t, scored + n
        full += it.max * it.weight
        na += it.not_applicable
    if policy == NotApplicablePolicy.rescale and 0 < top < full:
        points, top = points * full / top, full
    return points, top, scored, na


def _r(x: float) -> float:
    return round(x, 2)


_ItemRow = tuple[Item, str, str, str, int]  # item, section code, section name, section kind, section position


@dataclass
class _Basis:
    """Everything one round's rollup reads, loaded for many rounds at once."""

    round: ScoringRound
    campaign: Campaign
    county_name: str
    scheme: Scheme
    item_rows: list[_ItemRow]
    headings: dict[int, Heading]
    marks: dict[int, _Mark]


def _bases(session: Session, rounds: list[ScoringRound], source: str) -> list[_Basis]:
    """The basis of each round in five statements, whatever the number of rounds (no query per county)."""
    if not rounds:
        return []
    found = session.exec(
        select(Campaign, Region.name)
        .join(Region, col(Region.id) == Campaign.county_id)
        .where(col(Campaign.id).in_({r.campaign_id for r in rounds}))
    ).all()
    campaigns = {c.id: (c, name) for c, name in found}
    fw_ids = {c.framework_id for c, _ in found}
    frameworks = {f.id: f for f in session.exec(select(Framework).where(col(Framework.id).in_(fw_ids))).all()}
    item_rows: dict[int, list[_ItemRow]] = defaultdict(list)
    for row in session.exec(
        select(Item, FrameworkSection.code, FrameworkSection.name, FrameworkSection.kind, FrameworkSection.position)
        .join(FrameworkSection, col(FrameworkSection.id) == Item.section_id)
        .where(col(Item.framework_id).in_(fw_ids))
        .order_by(FrameworkSection.position, Item.position)
    ).all():
        item_rows[row[0].framework_id].append(row)
    headings: dict[int, dict[int, Heading]] = defaultdict(dict)
    for h in session.exec(select(Heading).where(col(Heading.framework_id).in_(fw_ids))).all():
        headings[h.framework_id][h.id] = h  # type: ignore[index]
    chosen = col(Score.scorer_kind) == "evaluator" if source == EVALUATORS else col(Score.scorer_key) == source
    by_round: dict[int, list[Score]] = defaultdict(list)
    current = col(Score.id).in_(scoring.current_ids(*(r.id for r in rounds)))  # type: ignore[misc]
    for s in session.exec(select(Score).where(current, chosen)).all():
        by_round[s.round_id].append(s)
    bases = []
    for r in rounds:
        campaign, county_name = campaigns[r.campaign_id]
        rows = item_rows[campaign.framework_id]
        config, config_source = scoring_config.in_force(campaign, frameworks.get(campaign.framework_id))
        kinds = {item.id: SectionKind(kind) for item, _, _, kind, _ in rows}
        bases.append(
            _Basis(
                round=r,
                campaign=campaign,
                county_name=county_name,
                scheme=Scheme(config=config, source=config_source, item_kinds=kinds),  # type: ignore[arg-type]
                item_rows=rows,
                headings=headings[campaign.framework_id],
                marks=_marks(by_round[r.id]),  # type: ignore[index]
            )
        )
    return bases


def default_source(principal: Principal) -> str:
    """The source a report shows when none is named: an evaluator's own scores (the ones it may read before the
    release), the office's preliminary review for everyone else."""
    return scoring.evaluator_key(principal.user_id) if principal.role == Role.evaluator else scoring.OFFICE_KEY


def build(session: Session, *, round_id: int, principal: Principal, source: str | None = None) -> ScoreReport:
    """The report of one round from one source: the office, one evaluator, or the evaluators' mean (default: see
    default_source)."""
    source = source or default_source(principal)
    row = scoring.get_round(session, round_id=round_id, principal=principal)
    _check_source(principal, row.released_at is not None, source)
    basis = _bases(session, [row], source)[0]
    report = _rollup(basis, source, _metrics(session, basis.campaign, basis.scheme, basis.item_rows))
    report.units = _units(session, basis.campaign, report.items, basis.scheme.config.not_applicable)
    return report


def latest_summaries(
    session: Session, *, campaign_ids: list[int], principal: Principal, source: str = scoring.OFFICE_KEY
) -> dict[int, ScoreReport]:
    """Per campaign, the report of its latest round the caller may read from source (drafts only for the
    office and their own author), without items' metrics and units: the figures a region overview shows.
    A fixed number of statements whatever the number of campaigns."""
    _check_source(principal, True, source)
    may_read_drafts = principal.role in (Role.office, Role.system_admin) or (
        principal.role == Role.evaluator and source == scoring.evaluator_key(principal.user_id)
    )
    query = (
        select(ScoringRound)
        .join(Campaign, col(Campaign.id) == ScoringRound.campaign_id)
        .where(col(ScoringRound.campaign_id).in_(campaign_ids), campaign_scope(principal))
        .order_by(ScoringRound.campaign_id, col(ScoringRound.number).desc())
    )
    if not may_read_drafts:
        query = query.where(col(ScoringRound.released_at).is_not(None))
    latest: dict[int, ScoringRound] = {}
    for r in session.exec(query).all():
        latest.setdefault(r.campaign_id, r)
    stored = {c: r for c, r in latest.items() if source == scoring.OFFICE_KEY and r.summary is not None}
    live = [r for c, r in latest.items() if c not in stored]
    found = {b.campaign.id: _rollup(b, source, {}) for b in _bases(session, live, source)}
    if stored:
        names = session.execute(
            select(Campaign.id, Campaign.name, Region.name)
            .join(Region, col(Region.id) == Campaign.county_id)
            .where(col(Campaign.id).in_(stored))
        ).all()
        for campaign_id, campaign_name, county_name in names:
            r = stored[campaign_id]
            found[campaign_id] = ScoreReport.model_validate(
                {**r.summary, "campaign_name": campaign_name, "county_name": county_name, "round_name": r.name}  # type: ignore[dict-item]
            )
    return found  # type: ignore[return-value]


def frozen_summary(session: Session, *, row: ScoringRound) -> dict:
    """The office's figures of a round being released, as ScoringRound.summary stores them: the report
    without items and units (names are read live, so a renamed county or round shows its new name)."""
    report = _rollup(_bases(session, [row], scoring.OFFICE_KEY)[0], scoring.OFFICE_KEY, {})
    return report.model_dump(mode="json", exclude={"items", "units"}) | {"items": [], "units": []}


def _rollup(basis: _Basis, source: str, metrics: dict[int, list[MetricResult]]) -> ScoreReport:
    """Items → level 2 → level 1 → total under the scheme; no statements (units are added by the caller)."""
    scheme, item_rows, headings, campaign = basis.scheme, basis.item_rows, basis.headings, basis.campaign
    config = scheme.config
    results = _items(scheme, item_rows, basis.marks, metrics)

    level1_groups: dict[str, list[ItemResult]] = defaultdict(list)
    level2_groups: dict[str, list[ItemResult]] = defaultdict(list)
    titles: dict[str, tuple[str, int]] = {}
    section_names = {code: name for _, code, name, _, _ in item_rows}
    for it in results:
        if it.kind in (SectionKind.bonus, SectionKind.veto):
            continue
        key1 = f"h{it.level1_id}" if it.level1_id else f"s:{it.section}"
        titles[key1] = (headings[it.level1_id].title if it.level1_id else section_names[it.section], 1)
        level1_groups[key1].append(it)
        if it.level2_id:
            titles[f"h{it.level2_id}"] = (headings[it.level2_id].title, 2)
            level2_groups[f"h{it.level2_id}"].append(it)

    def subtotal(key: str, group: list[ItemResult], level: int) -> Subtotal:
        title = titles[key][0]
        points, top, scored, na = _subtotal(group, config.not_applicable)
        weight = config.level1_weights.get(title, 1.0) if level == 1 else 1.0
        return Subtotal(
            key=key, title=title, level=level, weight=weight, points=_r(points), max=_r(top),
            items=len(group), scored=scored, not_applicable=na,
        )  # fmt: skip

    level1 = [subtotal(k, g, 1) for k, g in level1_groups.items()]
    base = sum(s.points * s.weight for s in level1)
    base_max = sum(s.max * s.weight for s in level1)
    bonus_items = [it for it in results if it.kind == SectionKind.bonus]
    raw_bonus = sum((it.points or 0) * it.weight for it in bonus_items)
    cap = config.bonus_cap if config.bonus_cap is not None else sum(it.max * it.weight for it in bonus_items)
    hits = [
        VetoHit(item_id=it.item_id, key=it.key, text=it.text, comment=it.comment)
        for it in results
        if it.kind == SectionKind.veto and it.vetoed
    ]
    bonus = min(raw_bonus, cap)
    return ScoreReport(
        campaign_id=campaign.id,  # type: ignore[arg-type]
        campaign_name=campaign.name,
        county_name=basis.county_name,
        round_id=basis.round.id,  # type: ignore[arg-type]
        round_name=basis.round.name,
        released=basis.round.released_at is not None,
        source=source,
        config_source=scheme.source,
        not_applicable_policy=config.not_applicable.value,
        base_points=_r(base),
        base_max=_r(base_max),
        percent=_r(100 * base / base_max) if base_max else 0.0,
        bonus=BonusResult(raw=_r(raw_bonus), cap=_r(cap), points=_r(bonus)),
        total=0.0 if hits else _r(base + bonus),  # 一票否决: the sum must not read as the result
        computed_total=_r(base + bonus),
        vetoed=bool(hits),
        veto=VetoResult(failed=bool(hits), hits=hits),
        verdict="vetoed" if hits else "scored",
        unscored=sum(
            1 for it in results if it.kind != SectionKind.veto and it.points is None and not it.not_applicable
        ),
        level1=level1,
        level2=[subtotal(k, g, 2) for k, g in level2_groups.items()],
        items=results,
        units=[],
    )


def _items(
    scheme: Scheme,
    item_rows: list[_ItemRow],
    marks: dict[int, _Mark],
    metrics: dict[int, list[MetricResult]],
) -> list[ItemResult]:
    results = []
    for item, section, section_name, _, position in item_rows:
        mark = marks.get(item.id, _Mark())  # type: ignore[arg-type]
        found = metrics.get(item.id, [])  # type: ignore[arg-type]
        results.append(
            ItemResult(
                item_id=item.id,  # type: ignore[arg-type]
                key=item.key,
                section=section,
                section_name=section_name,
                label=item_label(item.number, section_name, position),
                kind=scheme.item_kinds[item.id],  # type: ignore[index]
                number=item.number,
                text=item.text,
                level1_id=item.level1_id,
                level2_id=item.level2_id,
                max=scheme.max_of(item),
                weight=scheme.weight_of(item),
                points=_r(mark.points) if mark.points is not None else None,
                not_applicable=mark.not_applicable and mark.scorers > 0,
                vetoed=mark.vetoed,
                scorers=mark.scorers,
                comment=mark.comment,
                metrics=found,
                metrics_pass=_all_pass(found),
            )
        )
    return results


def _all_pass(found: list[MetricResult]) -> bool | None:
    """False if any metric fails, True once every metric has figures that pass, else None."""
    if any(m.passes is False for m in found):
        return False
    return True if found and all(m.passes for m in found) else None


def _metrics(
    session: Session, campaign: Campaign, scheme: Scheme, item_rows: list[_ItemRow]
) -> dict[int, list[MetricResult]]:
    """Every declared metric per item id, with each unit's current figure judged."""
    keys = {item.key: item.id for item, *_ in item_rows}
    declared = {keys[k]: specs for k, specs in scheme.config.metrics.items() if k in keys}
    if not declared:
        return {}
    current = figures.latest(session, campaign_id=campaign.id)  # type: ignore[arg-type]
    names = dict(session.exec(select(Unit.id, Unit.name).where(col(Unit.id).in_({f.unit_id for f in current}))).all())
    by_metric: dict[tuple[int, str], list[UnitFigure]] = defaultdict(list)
    for f in current:
        spec = next((m for m in declared.get(f.item_id, []) if m.code == f.metric_code), None)
        if spec is not None:
            by_metric[(f.item_id, f.metric_code)].append(
                UnitFigure(
                    unit_id=f.unit_id, unit_name=names.get(f.unit_id, ""), value=f.value, passes=spec.passes(f.value)
                )
            )
    out: dict[int, list[MetricResult]] = {}
    for item_id, specs in declared.items():
        out[item_id] = []
        for spec in specs:
            found = sorted(by_metric.get((item_id, spec.code), []), key=lambda u: u.unit_id)
            out[item_id].append(
                MetricResult(
                    code=spec.code,
                    label=spec.label,
                    threshold=spec.threshold(),
                    figures=found,
                    passes=all(u.passes for u in found) if found else None,
                )
            )
    return out


def _units(
    session: Session, campaign: Campaign, results: list[ItemResult], policy: NotApplicablePolicy
) -> list[UnitResult]:
    """Per unit: the points of the standard items it is assigned, without rescaling, summed in the database
    (the item values go in as a VALUES list, so one row per unit comes back, not one per assignment). The list
    is a named CTE, `WITH per_item(cols) AS (VALUES …)`, which PostgreSQL and SQLite both read; a derived
    table `(VALUES …) AS t(cols)` is PostgreSQL-only."""
    plain = NotApplicablePolicy.full if policy == NotApplicablePolicy.full else NotApplicablePolicy.exclude
    standard = [it for it in results if it.kind not in (SectionKind.bonus, SectionKind.veto)]
    if not standard:
        return []
    per_item = values(
        column("item_id", Integer), column("points", Float), column("top", Float), column("scored", Integer),
        name="per_item",
    ).data([(it.item_id, *_contribution(it, plain)) for it in standard]).cte("per_item")  # fmt: skip
    rows = session.execute(
        select(
            Assignment.unit_id,
            Unit.name,
            func.count(),
            func.sum(per_item.c.scored),
            func.sum(per_item.c.points),
            func.sum(per_item.c.top),
        )
        .join(per_item, per_item.c.item_id == Assignment.item_id)
        .join(Unit, col(Unit.id) == Assignment.unit_id)
        .where(Assignment.campaign_id == campaign.id)
        .group_by(Assignment.unit_id, Unit.name)
        .order_by(Unit.name)
    ).all()
    failed: dict[int, int] = defaultdict(int)
    for it in results:
        for m in it.metrics:
            for f in m.figures:
                failed[f.unit_id] += not f.passes
    return [
        UnitResult(
            unit_id=unit_id,
            unit_name=name,
            items=count,
            scored=scored,
            points=_r(points),
            max=_r(top),
            percent=_r(100 * points / top) if top else 0.0,
            metrics_failed=failed[unit_id],
        )
        for unit_id, name, count, scored, points, top in rows
    ]
