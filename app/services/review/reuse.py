"""Reused evidence: the same bytes (SHA-256) handed in as several pieces of evidence — by other units,
for other items, or in another campaign of the county. Shown to the office, evaluators, the province and
admins, never blocked (one county document may honestly serve several items); a liaison is not told
about other units' files."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.models import Assignment, Campaign, Evidence, EvidenceVersion, Item, Unit
from app.models.evidence import EvidenceKind, ReusedFile, ReuseRef, VersionState
from app.models.user import Role
from app.services import access
from app.services.access import Principal
from app.services.campaign import campaigns

SEES_REUSE = (Role.system_admin, Role.office, Role.evaluator, Role.province)


def uses_statement(principal: Principal, *, sha256_in: Any, county_id: Any) -> Any:
    """The active file versions whose SHA-256 is in sha256_in (the values, or a select of them) in the county's
    campaigns the caller may see, as ReuseRef's fields in its order: the general path and the evidence detail's
    rows read on the driver (evidence_rows) both run it."""
    return (
        select(
            col(Evidence.id).label("evidence_id"),
            Evidence.title,
            col(EvidenceVersion.number).label("version"),
            EvidenceVersion.sha256,
            Evidence.campaign_id,
            col(Campaign.name).label("campaign_name"),
            Evidence.unit_id,
            col(Unit.name).label("unit_name"),
            Evidence.assignment_id,
            col(Item.id).label("item_id"),
            col(Item.key).label("item_key"),
            Evidence.material_request_id,
        )  # fmt: skip
        .select_from(EvidenceVersion)
        .join(Evidence, col(Evidence.id) == EvidenceVersion.evidence_id)
        .join(Campaign, col(Campaign.id) == Evidence.campaign_id)
        .join(Unit, col(Unit.id) == Evidence.unit_id)
        .outerjoin(Assignment, col(Assignment.id) == Evidence.assignment_id)
        .outerjoin(Item, col(Item.id) == Assignment.item_id)
        .where(
            col(EvidenceVersion.sha256).in_(sha256_in),
            EvidenceVersion.kind == EvidenceKind.file,
            EvidenceVersion.state == VersionState.active,
            Campaign.county_id == county_id,
            access.campaign_scope(principal),
        )
        .order_by(EvidenceVersion.sha256, Evidence.id, EvidenceVersion.number)
    )


def _uses(session: Session, *, shas: Iterable[str], county_id: int, principal: Principal) -> list[ReuseRef]:
    """Every active file version with one of shas in the county's campaigns the caller may see."""
    wanted = sorted(set(shas))
    if not wanted:
        return []
    statement = uses_statement(principal, sha256_in=wanted, county_id=county_id)
    keys = statement.selected_columns.keys()
    return [ReuseRef.model_validate(dict(zip(keys, row, strict=True))) for row in session.exec(statement).all()]


def reused_in(
    session: Session, *, evidence: Evidence, versions: list[EvidenceVersion], principal: Principal | None
) -> list[ReuseRef] | None:
    """Where else the files of evidence's versions were handed in; None for a caller not shown this."""
    if principal is None or principal.role not in SEES_REUSE:
        return None
    campaign = session.get(Campaign, evidence.campaign_id)
    assert campaign is not None
    shas = {v.sha256 for v in versions if v.sha256 and v.kind == EvidenceKind.file}
    uses = _uses(session, shas=shas, county_id=campaign.county_id, principal=principal)
    return [u for u in uses if u.evidence_id != evidence.id]


def reused_in_campaign(session: Session, *, campaign_id: int, principal: Principal) -> list[ReusedFile]:
    """The campaign's files that were handed in as more than one piece of evidence in the county."""
    campaign = campaigns.get_visible(session, campaign_id=campaign_id, principal=principal)
    principal.require(*SEES_REUSE)
    in_campaign = (
        select(EvidenceVersion.sha256)
        .join(Evidence, col(Evidence.id) == EvidenceVersion.evidence_id)
        .where(Evidence.campaign_id == campaign_id, EvidenceVersion.kind == EvidenceKind.file)
    )
    shas = session.exec(
        select(EvidenceVersion.sha256)
        .join(Evidence, col(Evidence.id) == EvidenceVersion.evidence_id)
        .join(Campaign, col(Campaign.id) == Evidence.campaign_id)
        .where(
            col(EvidenceVersion.sha256).in_(in_campaign),
            EvidenceVersion.state == VersionState.active,
            Campaign.county_id == campaign.county_id,
        )
        .group_by(EvidenceVersion.sha256)
        .having(func.count(func.distinct(EvidenceVersion.evidence_id)) > 1)
    ).all()
    groups: dict[str, list[ReuseRef]] = defaultdict(list)
    for use in _uses(session, shas=[s for s in shas if s], county_id=campaign.county_id, principal=principal):
        groups[use.sha256].append(use)
    size_of = select(EvidenceVersion.sha256, func.max(EvidenceVersion.size)).where(
        col(EvidenceVersion.sha256).in_(groups)
    )
    sizes = dict(session.exec(size_of.group_by(EvidenceVersion.sha256)).all())
    return [
        ReusedFile(sha256=sha, size=sizes.get(sha), uses=uses)
        for sha, uses in sorted(groups.items())
        if len({u.evidence_id for u in uses}) > 1 and any(u.campaign_id == campaign_id for u in uses)
    ]
