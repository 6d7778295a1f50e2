"""A 回头看 check's result: the checker confirms what was closed or approved, or reopens it — a rectification
back into the problem pool, an approved assignment back to its unit along the review's own return path."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from app.models import Assignment, Campaign, FollowUp, FollowUpCheck, Rectification
from app.models._base import utcnow
from app.models.campaign import AssignmentStatus
from app.models.follow_up import CheckRecord, CheckResult, FollowUpCheckPublic, FollowUpTarget
from app.models.rectification import RectificationStatus
from app.services.access import Principal, campaign_scope
from app.services.campaign import assignments
from app.services.errors import Conflict, Forbidden, Invalid, NotFound
from app.services.platform import audit
from app.services.review import closing, follow_ups, locks, reviews


def visible(session: Session, *, check_id: int, principal: Principal) -> tuple[FollowUpCheck, Campaign]:
    """The check and its campaign, if the caller may read the campaign (another county's is not found)."""
    found = session.exec(
        select(FollowUpCheck, Campaign)
        .join(FollowUp, col(FollowUp.id) == FollowUpCheck.follow_up_id)
        .join(Campaign, col(Campaign.id) == FollowUp.campaign_id)
        .where(FollowUpCheck.id == check_id, campaign_scope(principal))
    ).first()
    if found is None:
        raise NotFound("未找到该复查事项", code="follow_up_check_not_found")
    follow_ups.refuse_units(principal)
    return found[0], found[1]


def get(session: Session, *, check_id: int, principal: Principal) -> FollowUpCheckPublic:
    """One check of a 回头看 round."""
    return FollowUpCheckPublic.model_validate(visible(session, check_id=check_id, principal=principal)[0])


def record(
    session: Session, *, check_id: int, data: CheckRecord, principal: Principal, today: date
) -> FollowUpCheckPublic:
    """The assigned checker's result, once: confirmed, or reopened with a comment and a new due date."""
    check, campaign = visible(session, check_id=check_id, principal=principal)
    if principal.user_id != check.checker_id:
        raise Forbidden("只有被指派的复查人可以记录复查结果", code="not_the_checker")
    if check.result != CheckResult.pending:
        raise Conflict("该复查事项已记录结果", code="check_already_recorded")
    comment = data.comment.strip()
    if data.result == CheckResult.pending:
        raise Invalid("复查结果须为确认（confirmed）或重新打开（reopened）", code="check_result_invalid")
    if data.result == CheckResult.reopened:
        if not comment:
            raise Invalid("重新打开时请填写复查意见", code="comment_required")
        if data.due_on is None:
            raise Invalid("重新打开时请填写新的完成期限 due_on", code="due_date_required")
        if data.due_on < today:
            raise Invalid("新的完成期限不能早于今天", code="due_date_past")
        reopened = _reopen(session, check, comment=comment, due_on=data.due_on, principal=principal, today=today)
    else:
        reopened = []
    before = audit.snapshot(check, "result", "comment")
    check.result, check.comment, check.checked_at = data.result, comment, utcnow()
    check.new_due_on = data.due_on if data.result == CheckResult.reopened else None
    session.add(check)
    session.flush()
    audit.record(
        session,
        principal=principal,
        action=f"follow_up.check.{data.result.value}",
        object_type="follow_up_check",
        object_id=check_id,
        county_id=campaign.county_id,
        campaign_id=campaign.id,
        before=before,
        after={
            **(audit.snapshot(check, "follow_up_id", "target", "target_id", "result", "comment", "new_due_on") or {}),
            "reopened_evidence_ids": reopened,
        },
    )
    return FollowUpCheckPublic.model_validate(check)


def _reopen(
    session: Session, check: FollowUpCheck, *, comment: str, due_on: date, principal: Principal, today: date
) -> list[int]:
    """Reopen the checked object; the evidence ids sent back to the unit (for an assignment)."""
    changed = Conflict(
        "该对象在抽取后已被改动（已重新打开或不再是已通过/已销号），请刷新后再复查", code="target_changed"
    )
    if check.target == FollowUpTarget.rectification:
        row = session.get(Rectification, check.target_id)
        if row is None or row.status != RectificationStatus.verified:
            raise changed
        closing.reopen_row(
            session, row, comment=comment, due_on=due_on, principal=principal, today=today, check_id=check.id
        )
        return []
    assignment = session.get(Assignment, check.target_id)
    if assignment is None or assignment.status != AssignmentStatus.approved:
        raise changed
    reopened = reviews.reopen_approved(
        session, assignment=assignment, comment=f"回头看：{comment}", principal=principal
    )
    if not reopened:
        raise changed
    assignments.redate(session, assignment=assignment, due_on=due_on, principal=principal)
    campaign = session.get(Campaign, assignment.campaign_id)
    assert campaign is not None
    locks.open_for_reopened_work(
        session, campaign=campaign, unit_id=assignment.unit_id, until=due_on, reason=f"回头看重新打开：{comment}",
        principal=principal, today=today,
    )  # fmt: skip
    return reopened
