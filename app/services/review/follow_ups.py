"""回头看: the office draws a repeatable random sample of closed rectification items and approved assignments,
and hands each drawn object to a checker (its own staff or an engaged evaluator).

The draw is reproducible by anyone holding the audit entry: the population is every closed item and approved
assignment of the campaign (of one unit, when named) in a fixed order (rectifications, then assignments, each by
id), its sha256 digest is recorded, and random.Random(seed).sample(population, k) picks the sample (Python seeds
a str through SHA-512, the same on every platform and version since 3.2). Same seed + same population → same
sample, in the same order."""

from __future__ import annotations

import hashlib
import math
import random
import secrets
from collections import Counter

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.models import Assignment, Campaign, Engagement, FollowUp, FollowUpCheck, Rectification, User
from app.models.campaign import AssignmentStatus
from app.models.follow_up import (
    CheckResult,
    FollowUpCheckPublic,
    FollowUpCreate,
    FollowUpPublic,
    FollowUpTarget,
)
from app.models.rectification import RectificationStatus
from app.models.user import Role
from app.services.access import Principal, campaign_scope
from app.services.campaign import campaigns, units
from app.services.errors import Conflict, Forbidden, Invalid, NotFound
from app.services.platform import audit

T = FollowUpTarget
Drawn = tuple[str, int, int]  # (target, id, unit id)


def population(session: Session, *, campaign_id: int, targets: list[T], unit_id: int | None) -> list[Drawn]:
    """What a 回头看 draws from, in its fixed order: closed (verified) rectifications, then approved assignments."""
    found: list[Drawn] = []
    if T.rectification in targets:
        query = select(Rectification.id, Rectification.unit_id).where(
            Rectification.campaign_id == campaign_id, Rectification.status == RectificationStatus.verified
        )
        if unit_id is not None:
            query = query.where(Rectification.unit_id == unit_id)
        found += [(T.rectification.value, i, u) for i, u in session.exec(query.order_by(Rectification.id)).all()]
    if T.assignment in targets:
        query = select(Assignment.id, Assignment.unit_id).where(
            Assignment.campaign_id == campaign_id, Assignment.status == AssignmentStatus.approved
        )
        if unit_id is not None:
            query = query.where(Assignment.unit_id == unit_id)
        found += [(T.assignment.value, i, u) for i, u in session.exec(query.order_by(Assignment.id)).all()]
    return found


def digest(drawn_from: list[Drawn]) -> str:
    """The population's fingerprint: sha256 of "target:id" lines in draw order."""
    return hashlib.sha256("\n".join(f"{t}:{i}" for t, i, _ in drawn_from).encode()).hexdigest()


def draw(drawn_from: list[Drawn], *, size: int, seed: str) -> list[Drawn]:
    """The sample: the same for the same seed and population."""
    return random.Random(seed).sample(drawn_from, size)


def _size(data: FollowUpCreate, available: int) -> int:
    if data.share is not None:
        if not 0 < data.share <= 1:
            raise Invalid("抽取比例须大于 0 且不超过 1", code="sample_share_invalid")
        size = max(1, math.ceil(data.share * available))
    else:
        size = data.size or 0
    if size < 1:
        raise Invalid("抽取数量至少为 1", code="sample_size_invalid")
    if available == 0:
        raise Conflict("没有可抽取的对象：本次创建活动尚无已销号的整改事项或已通过的任务", code="population_empty")
    if size > available:
        raise Invalid(f"抽取数量 {size} 超过可抽取的总数 {available}", code="sample_too_large")
    return size


def _checkers(session: Session, campaign: Campaign, ids: list[int]) -> list[int]:
    """The checkers named, each the county's office staff or an evaluator engaged for the campaign."""
    refused = Invalid(
        "复查人须是本县依法治县办的人员，或受托参与本次创建活动的第三方评估机构", code="checker_not_allowed"
    )
    for user_id in ids:
        user = session.get(User, user_id)
        if user is None or not user.is_active:
            raise refused
        if user.role == Role.office and user.county_id == campaign.county_id:
            continue
        if user.role == Role.evaluator and session.get(Engagement, (campaign.id, user_id)) is not None:
            continue
        raise refused
    return ids


def create(session: Session, *, campaign_id: int, data: FollowUpCreate, principal: Principal) -> FollowUpPublic:
    """Open a 回头看 round: draw the sample, assign its checks in turn to the checkers (office)."""
    campaign = campaigns.get_managed(session, campaign_id=campaign_id, principal=principal)
    if data.unit_id is not None:
        units.get_unit_or_raise(session, unit_id=data.unit_id, county_id=campaign.county_id)
    targets = sorted(set(data.targets), key=list(T).index)
    checkers = _checkers(session, campaign, list(dict.fromkeys(data.checker_ids)) or [principal.user_id])
    drawn_from = population(session, campaign_id=campaign_id, targets=targets, unit_id=data.unit_id)
    size = _size(data, len(drawn_from))
    seed = data.seed or secrets.token_hex(8)
    sample = draw(drawn_from, size=size, seed=seed)
    row = FollowUp(
        campaign_id=campaign_id,
        name=data.name.strip(),
        seed=seed,
        targets=[t.value for t in targets],
        unit_id=data.unit_id,
        population_size=len(drawn_from),
        population_digest=digest(drawn_from),
        sample_size=size,
        created_by=principal.user_id,
    )
    session.add(row)
    session.flush()
    session.add_all(
        FollowUpCheck(
            follow_up_id=row.id,  # type: ignore[arg-type]
            position=n,
            target=target,
            target_id=target_id,
            unit_id=unit_id,
            checker_id=checkers[n % len(checkers)],
        )
        for n, (target, target_id, unit_id) in enumerate(sample)
    )
    session.flush()
    audit.record(
        session,
        principal=principal,
        action="follow_up.create",
        object_type="follow_up",
        object_id=row.id,  # type: ignore[arg-type]
        county_id=campaign.county_id,
        campaign_id=campaign_id,
        after={
            **(audit.snapshot(row, "name", "seed", "targets", "unit_id", "population_size", "population_digest") or {}),
            "requested": {"size": data.size, "share": data.share},
            "sample_size": size,
            "sample": [[t, i] for t, i, _ in sample],
            "checker_ids": checkers,
        },
    )
    return _public(session, [row])[0]


def visible(session: Session, *, follow_up_id: int, principal: Principal) -> FollowUp:
    """The round, if the caller may read its campaign and is not a unit (another county's is not found)."""
    row = session.exec(
        select(FollowUp)
        .join(Campaign, col(Campaign.id) == FollowUp.campaign_id)
        .where(FollowUp.id == follow_up_id, campaign_scope(principal))
    ).first()
    if row is None:
        raise NotFound("未找到该回头看", code="follow_up_not_found")
    refuse_units(principal)
    return row


def refuse_units(principal: Principal) -> None:
    """Forbidden for a unit's liaison: 回头看 is the office's and its checkers' work."""
    if principal.role == Role.liaison:
        raise Forbidden("回头看由县依法治县办组织，责任单位无权查看", code="follow_up_not_for_units")


def get(session: Session, *, follow_up_id: int, principal: Principal) -> FollowUpPublic:
    """One 回头看 round with its progress."""
    return _public(session, [visible(session, follow_up_id=follow_up_id, principal=principal)])[0]


def list_for_campaign(session: Session, *, campaign_id: int, principal: Principal) -> list[FollowUpPublic]:
    """The campaign's 回头看 rounds, newest first."""
    campaigns.get_visible(session, campaign_id=campaign_id, principal=principal)
    refuse_units(principal)
    rows = session.exec(select(FollowUp).where(FollowUp.campaign_id == campaign_id).order_by(col(FollowUp.id).desc()))
    return _public(session, list(rows.all()))


def checks(
    session: Session, *, follow_up_id: int, principal: Principal, result: CheckResult | None = None
) -> list[FollowUpCheckPublic]:
    """The round's checks in draw order (filtered by result when given)."""
    row = visible(session, follow_up_id=follow_up_id, principal=principal)
    query = select(FollowUpCheck).where(FollowUpCheck.follow_up_id == row.id)
    if result is not None:
        query = query.where(FollowUpCheck.result == result)
    return [FollowUpCheckPublic.model_validate(c) for c in session.exec(query.order_by(FollowUpCheck.position))]


def _public(session: Session, rows: list[FollowUp]) -> list[FollowUpPublic]:
    counts: dict[int, Counter[str]] = {r.id: Counter() for r in rows}  # type: ignore[misc]
    for follow_up_id, result, n in session.exec(
        select(FollowUpCheck.follow_up_id, FollowUpCheck.result, func.count())
        .where(col(FollowUpCheck.follow_up_id).in_(list(counts)))
        .group_by(FollowUpCheck.follow_up_id, FollowUpCheck.result)
    ).all():
        counts[follow_up_id][result] = n
    return [
        FollowUpPublic.model_validate(r, update={k.value: counts[r.id][k.value] for k in CheckResult})  # type: ignore[index]
        for r in rows
    ]
