"""The rectification list: the office opens items (from findings or returns), units report measures
and evidence, the office verifies closure or sends the item back."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_
from sqlmodel import Session, col, select

from app.models import Campaign, Evidence, Item, Rectification, RectificationEvidence, Review, Score
from app.models._base import utcnow
from app.models.evidence import EvidenceStatus
from app.models.rectification import (
    RectificationCreate,
    RectificationPool,
    RectificationProgress,
    RectificationPublic,
    RectificationSource,
    RectificationStatus,
)
from app.models.user import Role
from app.services.access import Principal, campaign_scope, unit_scope
from app.services.calendar import lights
from app.services.campaign import campaigns, units
from app.services.errors import Conflict, Forbidden, Invalid, NotFound
from app.services.platform import audit

S = RectificationStatus
_CLOSED = col(Rectification.status) == S.verified
POOL: dict[RectificationPool, ColumnElement[bool]] = {
    RectificationPool.open: ~_CLOSED,
    RectificationPool.closed: _CLOSED,
    RectificationPool.reopened: and_(~_CLOSED, col(Rectification.reopen_count) > 0),
}
# What the unit may move its item to, from each status (the office alone verifies or reopens "done").
UNIT_MOVES: dict[S, set[S]] = {S.open: {S.in_progress, S.done}, S.in_progress: {S.in_progress, S.done}}


def _source(
    session: Session, data: RectificationCreate, campaign: Campaign
) -> tuple[RectificationSource, int | None, str, int | None]:
    """(source, source id, problem text, item id) from a score's finding, a review's comment, or the body."""
    if data.from_score_id is not None and data.from_review_id is not None:
        raise Invalid("问题来源只能选择一个", code="rectification_invalid")
    if data.from_score_id is not None:
        score = session.get(Score, data.from_score_id)
        if score is None or score.campaign_id != campaign.id:
            raise NotFound("未找到该评分记录", code="score_not_found")
        return RectificationSource.score, score.id, data.problem or score.finding or score.comment, score.item_id
    if data.from_review_id is not None:
        review = session.get(Review, data.from_review_id)
        evidence = session.get(Evidence, review.evidence_id) if review else None
        if review is None or evidence is None or evidence.campaign_id != campaign.id:
            raise NotFound("未找到该审核记录", code="review_not_found")
        return RectificationSource.review, review.id, data.problem or review.comment, data.item_id
    return RectificationSource.manual, None, data.problem, data.item_id


def create(
    session: Session, *, campaign_id: int, data: RectificationCreate, principal: Principal
) -> RectificationPublic:
    """Open a rectification item for a unit (office)."""
    campaign = campaigns.get_managed(session, campaign_id=campaign_id, principal=principal)
    units.get_unit_or_raise(session, unit_id=data.unit_id, county_id=campaign.county_id)
    source, source_id, problem, item_id = _source(session, data, campaign)
    if not problem.strip():
        raise Invalid("请填写问题描述", code="problem_required")
    if item_id is not None:
        item = session.get(Item, item_id)
        if item is None or item.framework_id != campaign.framework_id:
            raise Invalid("该指标不属于本次创建活动的指标体系", code="item_not_in_framework")
    row = Rectification(
        campaign_id=campaign_id,
        unit_id=data.unit_id,
        item_id=item_id,
        source=source,
        source_id=source_id,
        problem=problem.strip(),
        due_on=data.due_on,
        created_by=principal.user_id,
    )
    session.add(row)
    session.flush()
    audit_change(session, principal, "rectification.create", row, before=None)
    return public_of(session, [row], date.min)[0]


def visible_row(session: Session, *, rectification_id: int, principal: Principal) -> Rectification:
    """The row, if the caller may see it (another county's or unit's is not found)."""
    row = session.exec(
        select(Rectification)
        .join(Campaign, col(Campaign.id) == Rectification.campaign_id)
        .where(
            Rectification.id == rectification_id,
            campaign_scope(principal),
            unit_scope(principal, col(Rectification.unit_id)),
        )
    ).first()
    if row is None:
        raise NotFound("未找到该整改事项", code="rectification_not_found")
    return row


def get(session: Session, *, rectification_id: int, principal: Principal, today: date) -> RectificationPublic:
    """One rectification item the caller may see."""
    return public_of(session, [visible_row(session, rectification_id=rectification_id, principal=principal)], today)[0]


def list_visible(
    session: Session,
    *,
    campaign_id: int,
    principal: Principal,
    today: date,
    status: S | None,
    unit_id: int | None,
    pool: RectificationPool | None = None,
) -> list[RectificationPublic]:
    """The campaign's rectification list, its problem pool (问题池), as the caller may see it (a liaison: its unit's).
    Items belong to the campaign, not to a scoring round: an open one stays listed whatever rounds follow."""
    campaigns.get_visible(session, campaign_id=campaign_id, principal=principal)
    query = select(Rectification).where(
        Rectification.campaign_id == campaign_id, unit_scope(principal, col(Rectification.unit_id))
    )
    if status is not None:
        query = query.where(Rectification.status == status)
    if unit_id is not None:
        query = query.where(Rectification.unit_id == unit_id)
    if pool is not None:
        query = query.where(POOL[pool])
    return public_of(session, list(session.exec(query.order_by(Rectification.due_on, Rectification.id)).all()), today)


def progress(
    session: Session, *, rectification_id: int, data: RectificationProgress, principal: Principal, today: date
) -> RectificationPublic:
    """The unit's liaison reports work under way or done, with measures and evidence of its own."""
    row = visible_row(session, rectification_id=rectification_id, principal=principal)
    if principal.role != Role.liaison:
        raise Forbidden("整改情况由责任单位的联络员填报", code="not_unit_liaison")
    if data.status not in UNIT_MOVES.get(S(row.status), set()):
        raise Conflict(f"当前状态“{row.status}”不能改为“{data.status}”", code="rectification_transition")
    measures = data.measures.strip() or row.measures
    if data.status == S.done and not measures:
        raise Invalid("标记为已整改前请填写整改措施", code="measures_required")
    if data.evidence_ids:
        found = session.exec(
            select(Evidence.id).where(
                col(Evidence.id).in_(data.evidence_ids),
                Evidence.unit_id == row.unit_id,
                Evidence.campaign_id == row.campaign_id,
            )
        ).all()
        if set(found) != set(data.evidence_ids):
            raise Invalid("所附资料须是本单位在本次创建活动中提交的资料", code="evidence_not_yours")
        linked = set(
            session.exec(
                select(RectificationEvidence.evidence_id).where(RectificationEvidence.rectification_id == row.id)
            ).all()
        )
        session.add_all(
            RectificationEvidence(rectification_id=row.id, evidence_id=e)  # type: ignore[arg-type]
            for e in set(data.evidence_ids) - linked
        )
        session.flush()
    if data.status == S.done and not closing_evidence(session, row):
        raise Conflict(CLOSING_EVIDENCE_MESSAGE, code="closure_evidence_required")
    before = audit.snapshot(row, "status", "measures")
    row.status, row.measures, row.updated_at = data.status, measures, utcnow()
    session.add(row)
    session.flush()
    audit_change(session, principal, "rectification.progress", row, before=before)
    return public_of(session, [row], today)[0]


CLOSING_EVIDENCE_MESSAGE = (
    "整改销号须附本单位在本次创建活动中报送的整改佐证资料（待审核或已通过，不含已撤回、已退回的资料）"
)


def closing_evidence(session: Session, row: Rectification) -> list[int]:
    """The attached evidence an item can be closed on: its own unit's, in its campaign, with a version handed in
    and standing (waiting for review or approved; not withdrawn, not returned)."""
    return list(
        session.exec(
            select(Evidence.id)
            .join(RectificationEvidence, col(RectificationEvidence.evidence_id) == Evidence.id)
            .where(
                RectificationEvidence.rectification_id == row.id,
                Evidence.unit_id == row.unit_id,
                Evidence.campaign_id == row.campaign_id,
                col(Evidence.status).in_([EvidenceStatus.submitted, EvidenceStatus.approved]),
            )
            .order_by(Evidence.id)
        ).all()
    )


WAITING = (S.open, S.in_progress)  # still the unit's to do


def light_of(book: lights.LightBook) -> ColumnElement[str]:
    """SQL: a rectification item's light today by its campaign's rules: its due date, and how often the office or a
    回头看 reopened it after it was closed or marked done (as an assignment's returns count)."""
    return book.expression(
        campaign=col(Rectification.campaign_id),
        due=col(Rectification.due_on),
        waiting=col(Rectification.status).in_(WAITING),
        returned=col(Rectification.reopen_count),
    )


def public_of(session: Session, rows: list[Rectification], today: date) -> list[RectificationPublic]:
    """The rows as the API shows them, with their light and evidence (one query each for all)."""
    lit: dict[int, str] = {}
    if rows and today != date.min:
        book = lights.book(session, today=today, where=col(Campaign.id).in_({r.campaign_id for r in rows}))
        lit = dict(
            session.exec(
                select(Rectification.id, light_of(book)).where(col(Rectification.id).in_([r.id for r in rows]))
            ).all()  # type: ignore[arg-type]
        )
    links: dict[int, list[int]] = defaultdict(list)
    for r_id, e_id in session.exec(
        select(RectificationEvidence.rectification_id, RectificationEvidence.evidence_id).where(
            col(RectificationEvidence.rectification_id).in_([r.id for r in rows])
        )
    ).all():
        links[r_id].append(e_id)
    return [
        RectificationPublic.model_validate(
            {
                **r.model_dump(),
                "overdue": r.status in WAITING and r.due_on < today,
                "light": lit.get(r.id, "none"),  # type: ignore[arg-type]
                "evidence_ids": sorted(links[r.id]),  # type: ignore[index]
            }
        )
        for r in rows
    ]


def audit_change(
    session: Session, principal: Principal, action: str, row: Rectification, *, before: dict | None, **extra: Any
) -> None:
    """An audit entry of a change to row (extra: what else the decision was taken on)."""
    campaign = session.get(Campaign, row.campaign_id)  # already in the session: no query
    assert campaign is not None
    audit.record(
        session,
        principal=principal,
        action=action,
        object_type="rectification",
        object_id=row.id,  # type: ignore[arg-type]
        county_id=campaign.county_id,
        campaign_id=row.campaign_id,
        before=before,
        after={
            **(audit.snapshot(row, "unit_id", "item_id", "status", "measures", "due_on", "office_comment") or {}),
            **extra,
        },
    )
