"""整改销号: the office closes a rectification item on its unit's evidence, sends it back, or reopens it with a
new due date; every decision is kept (RectificationDecision) and audited with who, when, comment and evidence."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlmodel import Session, col, delete, select

from app.models import Campaign, Rectification, RectificationDecision, RectificationEvidence, Unit
from app.models._base import utcnow
from app.models.rectification import (
    RectificationDecisionKind,
    RectificationDecisionPublic,
    RectificationPoolRow,
    RectificationPublic,
    RectificationReopen,
    RectificationStatus,
    RectificationVerify,
)
from app.services.access import Principal, unit_scope
from app.services.campaign import campaigns
from app.services.errors import Conflict, Invalid
from app.services.platform import audit
from app.services.review import locks, rectification
from app.services.review.rectification import CLOSING_EVIDENCE_MESSAGE, closing_evidence

S = RectificationStatus
Kind = RectificationDecisionKind
REOPENABLE = (S.done, S.verified)


def verify(
    session: Session, *, rectification_id: int, data: RectificationVerify, principal: Principal, today: date
) -> RectificationPublic:
    """The office closes a done item (销号) on its unit's evidence, or sends it back to the unit with a comment."""
    row = rectification.visible_row(session, rectification_id=rectification_id, principal=principal)
    campaigns.get_managed(session, campaign_id=row.campaign_id, principal=principal)
    if row.status != S.done:
        raise Conflict("只有已整改的事项可以核验", code="rectification_transition")
    comment = data.comment.strip()
    if not data.accept and not comment:
        raise Invalid("退回整改时请填写意见", code="comment_required")
    evidence_ids = closing_evidence(session, row)
    if data.accept and not evidence_ids:
        raise Conflict(CLOSING_EVIDENCE_MESSAGE, code="closure_evidence_required")
    kind = Kind.close if data.accept else Kind.send_back
    before = audit.snapshot(row, "status", "office_comment")
    _decide(session, row, kind=kind, comment=comment, evidence_ids=evidence_ids, due_on=row.due_on, by=principal)
    row.status = S.verified if data.accept else S.in_progress
    row.office_comment = comment
    if data.accept:
        row.verified_by, row.verified_at = principal.user_id, row.updated_at
    session.add(row)
    session.flush()
    rectification.audit_change(
        session, principal, "rectification.verify", row, before=before, decision=kind, evidence_ids=evidence_ids
    )
    return rectification.public_of(session, [row], today)[0]


def reopen(
    session: Session, *, rectification_id: int, data: RectificationReopen, principal: Principal, today: date
) -> RectificationPublic:
    """The office reopens a done or closed item: back to the unit, open, with a new due date and a comment."""
    row = rectification.visible_row(session, rectification_id=rectification_id, principal=principal)
    campaigns.get_managed(session, campaign_id=row.campaign_id, principal=principal)
    reopen_row(session, row, comment=data.comment, due_on=data.due_on, principal=principal, today=today)
    return rectification.public_of(session, [row], today)[0]


def reopen_row(
    session: Session,
    row: Rectification,
    *,
    comment: str,
    due_on: date,
    principal: Principal,
    today: date,
    check_id: int | None = None,
) -> None:
    """Reopen row (the caller authorized it): open again, due on due_on, its reopen count up by one. The evidence
    it was done or closed on stays in the decision and the audit entry; the unit attaches evidence anew."""
    if row.status not in REOPENABLE:
        raise Conflict("只有已整改或已销号的事项可以重新打开", code="rectification_transition")
    comment = comment.strip()
    if not comment:
        raise Invalid("重新打开时请填写意见", code="comment_required")
    if due_on < today:
        raise Invalid("新的整改期限不能早于今天", code="due_date_past")
    evidence_ids = sorted(
        session.exec(
            select(RectificationEvidence.evidence_id).where(RectificationEvidence.rectification_id == row.id)
        ).all()
    )
    before = audit.snapshot(row, "status", "due_on", "office_comment", "verified_at")
    _decide(
        session, row, kind=Kind.reopen, comment=comment, evidence_ids=evidence_ids, due_on=due_on, by=principal,
        check_id=check_id,
    )  # fmt: skip
    session.exec(delete(RectificationEvidence).where(col(RectificationEvidence.rectification_id) == row.id))
    row.status, row.due_on, row.office_comment = S.open, due_on, comment
    row.verified_by = row.verified_at = None
    row.reopen_count += 1
    row.reopened_at = row.updated_at
    session.add(row)
    session.flush()
    rectification.audit_change(
        session, principal, "rectification.reopen", row, before=before, evidence_ids=evidence_ids,
        follow_up_check_id=check_id, reopen_count=row.reopen_count,
    )  # fmt: skip
    campaign = session.get(Campaign, row.campaign_id)
    assert campaign is not None
    locks.open_for_reopened_work(
        session, campaign=campaign, unit_id=row.unit_id, until=due_on, reason=f"整改事项重新打开：{comment}",
        principal=principal, today=today,
    )  # fmt: skip


def _decide(
    session: Session,
    row: Rectification,
    *,
    kind: Kind,
    comment: str,
    evidence_ids: list[int],
    due_on: date,
    by: Principal,
    check_id: int | None = None,
) -> None:
    row.updated_at = utcnow()
    session.add(
        RectificationDecision(
            rectification_id=row.id,  # type: ignore[arg-type]
            kind=kind,
            comment=comment,
            evidence_ids=evidence_ids,
            status_before=row.status,
            due_on_before=row.due_on,
            due_on_after=due_on,
            follow_up_check_id=check_id,
            decided_by=by.user_id,
            decided_at=row.updated_at,
        )
    )


def history(session: Session, *, rectification_id: int, principal: Principal) -> list[RectificationDecisionPublic]:
    """Every decision on an item the caller may see, oldest first: 销号, sent back, reopened."""
    row = rectification.visible_row(session, rectification_id=rectification_id, principal=principal)
    rows = session.exec(
        select(RectificationDecision)
        .where(RectificationDecision.rectification_id == row.id)
        .order_by(col(RectificationDecision.id))
    ).all()
    return [RectificationDecisionPublic.model_validate(r) for r in rows]


def pool_by_unit(
    session: Session, *, campaign_id: int, principal: Principal, today: date
) -> list[RectificationPoolRow]:
    """The problem pool (问题池) counted per unit: open, overdue, reopened and closed items (a liaison: its unit)."""
    campaigns.get_visible(session, campaign_id=campaign_id, principal=principal)
    rows = session.exec(
        select(Rectification.unit_id, Rectification.status, Rectification.due_on, Rectification.reopen_count).where(
            Rectification.campaign_id == campaign_id, unit_scope(principal, col(Rectification.unit_id))
        )
    ).all()
    counts: dict[int, Counter[str]] = {}
    for unit_id, status, due_on, reopen_count in rows:
        tally = counts.setdefault(unit_id, Counter())
        closed = status == S.verified
        tally["closed" if closed else "open"] += 1
        tally["overdue"] += not closed and status != S.done and due_on < today
        tally["reopened"] += not closed and reopen_count > 0
    names = dict(session.exec(select(Unit.id, Unit.name).where(col(Unit.id).in_(list(counts)))).all())
    return [
        RectificationPoolRow(unit_id=u, unit_name=names.get(u, ""), **{k: c[k] for k in RectificationPoolRow.COUNTS})
        for u, c in sorted(counts.items(), key=lambda kv: (-kv[1]["open"], kv[0]))
    ]
