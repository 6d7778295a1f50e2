"""Campaigns: creation with phases, launch (resolve unit cells → assignments), engagements."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import insert
from sqlmodel import Session, col, select

from app.models import Assignment, Campaign, Engagement, FrameworkSection, Item, Phase, User
from app.models.campaign import (
    AssessmentPeriod,
    AssignmentRole,
    CampaignCreate,
    CampaignPublic,
    CampaignStatus,
    PhasePublic,
)
from app.models.framework import LeadRule
from app.models.user import Role
from app.services.access import Principal, campaign_scope
from app.services.accounts import regions
from app.services.campaign.units import Resolver
from app.services.errors import Invalid, NotFound
from app.services.indicators import frameworks
from app.services.messages import problem
from app.services.platform import audit


def create(session: Session, *, data: CampaignCreate, principal: Principal | None) -> Campaign:
    """A draft campaign of a county on a framework, with its phases."""
    county_id = data.county_id
    if principal is not None:
        principal.require(Role.system_admin, Role.office)
        if principal.role == Role.office:
            county_id = principal.county_id
    if county_id is None:
        raise Invalid("请指定创建活动所属的县", code="county_required")
    regions.get_county_or_raise(session, county_id=county_id)
    frameworks.get_or_raise(session, framework_id=data.framework_id)
    problems = [
        problem(("phases", i, "ends_on"), f"阶段“{p.name}”的结束日期早于开始日期")
        for i, p in enumerate(data.phases)
        if p.ends_on < p.starts_on
    ]
    if sum(p.is_submission for p in data.phases) > 1:
        problems.append(problem(("phases",), "只能有一个资料报送阶段"))
    if (data.assessment_start is None) != (data.assessment_end is None):
        problems.append(problem(("assessment_end",), "考核期的开始日期和结束日期须同时填写"))
    elif data.assessment_start and data.assessment_end and data.assessment_end < data.assessment_start:
        problems.append(problem(("assessment_end",), "考核期的结束日期早于开始日期"))
    if problems:
        raise Invalid("活动阶段设置有误", code="phases_invalid", errors=problems, in_body=True)
    campaign = Campaign(
        county_id=county_id,
        framework_id=data.framework_id,
        name=data.name,
        materials_deadline=data.materials_deadline,
        assessment_start=data.assessment_start,
        assessment_end=data.assessment_end,
    )
    session.add(campaign)
    session.flush()
    for pos, phase in enumerate(data.phases):
        session.add(Phase.model_validate(phase, update={"campaign_id": campaign.id, "position": pos}))
    session.flush()
    _audit(session, principal, "campaign.create", campaign, after=audit.snapshot(data))
    return campaign


def get_visible(session: Session, *, campaign_id: int, principal: Principal) -> Campaign:
    """The campaign if the caller may see it; NotFound otherwise (never says it exists)."""
    campaign = session.exec(select(Campaign).where(Campaign.id == campaign_id, campaign_scope(principal))).first()
    if campaign is None:
        raise NotFound("未找到该创建活动", code="campaign_not_found")
    return campaign


def get_managed(session: Session, *, campaign_id: int, principal: Principal) -> Campaign:
    """The campaign if the caller may change it: its county's office (or an admin)."""
    campaign = get_visible(session, campaign_id=campaign_id, principal=principal)
    principal.require(Role.system_admin, Role.office)
    return campaign


def list_visible(session: Session, *, principal: Principal, county_ids: list[int] | None = None) -> list[Campaign]:
    """Every campaign the caller may see (of the named counties only, when given)."""
    query = select(Campaign).where(campaign_scope(principal)).order_by(Campaign.id)
    if county_ids is not None:
        query = query.where(col(Campaign.county_id).in_(county_ids))
    return list(session.exec(query).all())


def working_in(session: Session, *, principal: Principal) -> list[Campaign]:
    """The campaigns the caller works in: an office its county's, a liaison those where its unit has assignments,
    an evaluator those it is engaged for, a province its region's, an admin every one."""
    query = select(Campaign).where(campaign_scope(principal)).order_by(Campaign.id)
    if principal.role == Role.liaison:
        mine = select(Assignment.campaign_id).where(Assignment.unit_id == principal.unit_id).distinct()
        query = query.where(col(Campaign.id).in_(mine))
    return list(session.exec(query).all())


class _Dated(Protocol):
    starts_on: date


P = TypeVar("P", bound=_Dated)


def set_assessment_period(
    session: Session, *, campaign_id: int, data: AssessmentPeriod, principal: Principal
) -> Campaign:
    """Set the campaign's assessment period (考核期); evidence dated outside it is flagged, never refused."""
    campaign = get_managed(session, campaign_id=campaign_id, principal=principal)
    if data.assessment_end < data.assessment_start:
        bad = [problem(("assessment_end",), "考核期的结束日期早于开始日期")]
        raise Invalid("考核期设置有误", code="assessment_period_invalid", errors=bad, in_body=True)
    before = audit.snapshot(campaign, "assessment_start", "assessment_end")
    campaign.assessment_start, campaign.assessment_end = data.assessment_start, data.assessment_end
    session.add(campaign)
    session.flush()
    _audit(session, principal, "campaign.assessment_period", campaign, before=before, after=audit.snapshot(data))
    return campaign


def current_phase(phases: Sequence[P], today: date) -> P | None:
    """The latest phase (in order) that has started by today; before the first one starts, the first."""
    started = [p for p in phases if p.starts_on <= today]
    return started[-1] if started else next(iter(phases), None)


def to_public(session: Session, campaign: Campaign) -> CampaignPublic:
    """The campaign with its phases in order."""
    return public_list(session, [campaign])[0]


def public_list(session: Session, items: list[Campaign]) -> list[CampaignPublic]:
    """Several campaigns with their phases, in one query for all the phases."""
    phases: dict[int, list[PhasePublic]] = defaultdict(list)
    for phase in session.exec(
        select(Phase).where(col(Phase.campaign_id).in_([c.id for c in items])).order_by(Phase.position)
    ).all():
        phases[phase.campaign_id].append(PhasePublic.model_validate(phase))
    return [CampaignPublic.model_validate(c, update={"phases": phases[c.id]}) for c in items]  # type: ignore[index]


def submission_phase(session: Session, *, campaign: Campaign) -> Phase:
    """The phase whose end is the default due date: the flagged one, else the one holding the deadline."""
    phases = session.exec(select(Phase).where(Phase.campaign_id == campaign.id).order_by(Phase.position)).all()
    for phase in phases:
        if phase.is_submission:
            return phase
    for phase in phases:
        if phase.starts_on <= campaign.materials_deadline <= phase.ends_on:
            return phase
    return phases[-1]


def _targets(item: Item, lead_rule: str) -> list[tuple[str, AssignmentRole]]:
    """The printed names of an item in order, each with the role it gives."""
    if lead_rule == LeadRule.lead_column:
        return [(n, AssignmentRole.lead) for n in item.lead_units] + [(n, AssignmentRole.co) for n in item.units]
    return [(n, AssignmentRole.lead if i == 0 else AssignmentRole.co) for i, n in enumerate(item.units)]


def launch(session: Session, *, campaign_id: int, principal: Principal | None) -> dict[str, Any]:
    """Resolve every unit cell to units and create the missing assignments; report what failed.

    Launching again after the office fixed units or groups adds only what is still missing,
    so the report can be worked down to empty.
    """
    if principal is not None:
        campaign = get_managed(session, campaign_id=campaign_id, principal=principal)
    else:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            raise NotFound("未找到该创建活动", code="campaign_not_found")
    # the campaign's row locked before the assignments are written: a change of its 督办 rules locks the row (its
    # UPDATE), then the read generation's (its trigger, migration 0012f); inserting assignments locks the generation's
    # (0013b) and, for their foreign key, only shares the campaign's, which an UPDATE does not block — so without this
    # the two could deadlock when the launch then updates the campaign. Two launches of one campaign also queue.
    session.refresh(campaign, with_for_update=True)
    framework = frameworks.get_or_raise(session, framework_id=campaign.framework_id)
    resolver = Resolver.for_county(session, county_id=campaign.county_id)
    phase = submission_phase(session, campaign=campaign)
    existing = set(
        session.exec(select(Assignment.item_id, Assignment.unit_id).where(Assignment.campaign_id == campaign.id)).all()
    )
    items = session.exec(
        select(Item, FrameworkSection.code)
        .join(FrameworkSection, col(FrameworkSection.id) == Item.section_id)
        .where(Item.framework_id == framework.id)
        .order_by(Item.position)
    ).all()
    unresolved: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for item, _section in items:
        roles: dict[int, AssignmentRole] = {}
        targets = _targets(item, framework.lead_rule)
        if not targets:
            unresolved.append({"item_key": item.key, "name": None, "reason": "no_units"})
        for name, role in targets:
            unit_ids, reason = resolver.resolve(name)
            if reason:
                unresolved.append({"item_key": item.key, "name": name, "reason": reason})
            for unit_id in unit_ids:
                if roles.get(unit_id) != AssignmentRole.lead:
                    roles[unit_id] = role
        for unit_id, role in roles.items():
            if (item.id, unit_id) not in existing:
                rows.append(
                    {
                        "campaign_id": campaign.id,
                        "item_id": item.id,
                        "unit_id": unit_id,
                        "role": role.value,
                        "phase_id": phase.id,
                        "due_on": phase.ends_on,
                        "due_overridden": False,
                        "status": "not_started",
                        "created_at": datetime.now(UTC),
                    }
                )
    if rows:
        session.execute(insert(Assignment), rows)
    by_name: dict[tuple[str, str], list[str]] = defaultdict(list)
    for entry in unresolved:
        by_name[(entry["name"] or "", entry["reason"])].append(entry["item_key"])
    report = {
        "created": len(rows),
        "total_assignments": len(existing) + len(rows),
        "items": len(items),
        "unresolved": unresolved,
        "unresolved_names": [
            {"name": name or None, "reason": reason, "items": keys} for (name, reason), keys in sorted(by_name.items())
        ],
    }
    campaign.status = CampaignStatus.launched
    campaign.launched_at = campaign.launched_at or datetime.now(UTC)
    campaign.launch_report = report
    session.add(campaign)
    session.flush()
    summary = {k: report[k] for k in ("created", "total_assignments", "items")}
    _audit(session, principal, "campaign.launch", campaign, after={**summary, "unresolved": len(unresolved)})
    return report


def engage(session: Session, *, campaign_id: int, user_id: int, principal: Principal) -> Engagement:
    """Engage a third-party evaluator for the campaign (idempotent)."""
    campaign = get_managed(session, campaign_id=campaign_id, principal=principal)
    user = session.get(User, user_id)
    if user is None or user.role != Role.evaluator:
        raise NotFound("未找到该第三方评估账号", code="evaluator_not_found")
    row = session.get(Engagement, (campaign.id, user_id))
    if row is None:
        row = Engagement(campaign_id=campaign.id, user_id=user_id)  # type: ignore[arg-type]
        session.add(row)
        session.flush()
        _audit(session, principal, "campaign.engage", campaign, after={"evaluator_id": user_id})
    return row


def _audit(
    session: Session,
    principal: Principal | None,
    action: str,
    campaign: Campaign,
    *,
    after: dict[str, Any] | None,
    before: dict[str, Any] | None = None,
) -> None:
    audit.record(
        session,
        principal=principal,
        action=action,
        object_type="campaign",
        object_id=campaign.id,  # type: ignore[arg-type]
        county_id=campaign.county_id,
        campaign_id=campaign.id,
        before=before,
        after=after,
    )
