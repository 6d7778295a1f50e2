"""Figures units report for quantified items (网上可办率, 审核工作日…), judged against the declared thresholds."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.models import Campaign, Evidence, Item, MetricFigure
from app.models.scoring import FigureCreate, FigurePublic
from app.models.scoring_config import MetricSpec, ScoringConfig
from app.models.user import Role
from app.services.access import Principal
from app.services.assessment import scoring_config
from app.services.campaign import assignments
from app.services.errors import Forbidden, Invalid
from app.services.platform import audit
from app.services.review import locks


def _specs(config: ScoringConfig, item_key: str) -> dict[str, MetricSpec]:
    return {m.code: m for m in config.metrics.get(item_key, [])}


def _public(figure: MetricFigure, spec: MetricSpec | None) -> FigurePublic:
    return FigurePublic.model_validate(
        {
            **figure.model_dump(),
            "passes": spec.passes(figure.value) if spec else None,
            "threshold": spec.threshold() if spec else None,
        }
    )


def report(
    session: Session, *, assignment_id: int, data: FigureCreate, principal: Principal, today: date
) -> FigurePublic:
    """A liaison reports a figure for one declared metric of its assignment's item (a correction appends)."""
    assignment = assignments.get_row(session, assignment_id=assignment_id, principal=principal)
    if principal.role != Role.liaison:
        raise Forbidden("量化指标数据由责任单位的联络员填报", code="not_unit_liaison")
    campaign = session.get(Campaign, assignment.campaign_id)
    item = session.get(Item, assignment.item_id)
    assert campaign is not None and item is not None
    locks.check_open(session, campaign=campaign, unit_id=assignment.unit_id, today=today)
    config, _ = scoring_config.effective(session, campaign=campaign)
    specs = _specs(config, item.key)
    if data.metric_code not in specs:
        known = "、".join(f"{m.code}（{m.label}）" for m in specs.values()) or "无"
        raise Invalid(f"指标“{item.key}”没有量化指标“{data.metric_code}”；可填报：{known}", code="metric_unknown")
    if data.evidence_id is not None:
        evidence = session.get(Evidence, data.evidence_id)
        if evidence is None or evidence.unit_id != assignment.unit_id or evidence.campaign_id != campaign.id:
            raise Invalid("所附资料不属于本单位本次创建活动", code="evidence_not_yours")
    figure = MetricFigure(
        campaign_id=campaign.id,  # type: ignore[arg-type]
        assignment_id=assignment_id,
        item_id=item.id,  # type: ignore[arg-type]
        unit_id=assignment.unit_id,
        metric_code=data.metric_code,
        value=data.value,
        note=data.note.strip(),
        evidence_id=data.evidence_id,
        reported_by=principal.user_id,
    )
    session.add(figure)
    session.flush()
    audit.record(
        session,
        principal=principal,
        action="figure.report",
        object_type="assignment",
        object_id=assignment_id,
        county_id=campaign.county_id,
        campaign_id=campaign.id,
        before=None,
        after=audit.snapshot(figure, "metric_code", "value", "evidence_id"),
    )
    return _public(figure, specs[data.metric_code])


def history(session: Session, *, assignment_id: int, principal: Principal) -> list[FigurePublic]:
    """Every figure reported for an assignment, newest first, each judged against its threshold."""
    assignment = assignments.get_row(session, assignment_id=assignment_id, principal=principal)
    campaign = session.get(Campaign, assignment.campaign_id)
    item = session.get(Item, assignment.item_id)
    assert campaign is not None and item is not None
    config, _ = scoring_config.effective(session, campaign=campaign)
    specs = _specs(config, item.key)
    rows = session.exec(
        select(MetricFigure).where(MetricFigure.assignment_id == assignment_id).order_by(col(MetricFigure.id).desc())
    ).all()
    return [_public(f, specs.get(f.metric_code)) for f in rows]


def latest(session: Session, *, campaign_id: int) -> list[MetricFigure]:
    """The current figure per (assignment, metric) of a campaign."""
    newest = (
        select(func.max(MetricFigure.id))
        .where(MetricFigure.campaign_id == campaign_id)
        .group_by(MetricFigure.assignment_id, MetricFigure.metric_code)
    )
    return list(session.exec(select(MetricFigure).where(col(MetricFigure.id).in_(newest))).all())
