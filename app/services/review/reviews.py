"""The review workflow: an explicit transition table, decisions tied to versions, assignment status."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from enum import StrEnum

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from app.models import Assignment, Campaign, Evidence, EvidenceVersion, MaterialRequestItem, Review
from app.models.campaign import AssignmentStatus
from app.models.evidence import EvidenceStatus, ReviewCreate, ReviewDecision, VersionState
from app.models.user import Role
from app.services.access import Principal
from app.services.campaign import campaigns
from app.services.errors import Conflict, Forbidden, Invalid, NotFound, hidden_as
from app.services.notifications import events
from app.services.platform import audit


class Action(StrEnum):
    submit = "submit"  # a new version (the first one, or a resubmission)
    withdraw = "withdraw"  # the current version, while it waits for review or after it was returned
    approve = ReviewDecision.approve
    return_ = ReviewDecision.return_
    reopen = ReviewDecision.reopen


S = EvidenceStatus
# (status now, action) -> status after. Anything not listed is refused. Withdrawing returns to the
# state of the version below (see evidence.withdraw), so its entry only says it is allowed.
TRANSITIONS: dict[tuple[EvidenceStatus, Action], EvidenceStatus | None] = {
    (S.submitted, Action.submit): S.submitted,  # a corrected file before the office looked at it
    (S.returned, Action.submit): S.submitted,
    (S.withdrawn, Action.submit): S.submitted,
    (S.submitted, Action.withdraw): None,
    # a returned file the unit drops instead of correcting (it was the wrong file, or another one suffices)
    (S.returned, Action.withdraw): None,
    (S.submitted, Action.approve): S.approved,
    (S.submitted, Action.return_): S.returned,
    (S.approved, Action.reopen): S.returned,
}
ACTORS: dict[Action, tuple[Role, ...]] = {
    Action.submit: (Role.liaison,),
    Action.withdraw: (Role.liaison,),
    Action.approve: (Role.office, Role.system_admin),
    Action.return_: (Role.office, Role.system_admin),
    Action.reopen: (Role.office, Role.system_admin),
}
_STATUS_NAMES = {S.submitted: "待审核", S.returned: "已退回", S.approved: "已通过", S.withdrawn: "已撤回"}
_ACTION_NAMES = {
    Action.submit: "提交新版本",
    Action.withdraw: "撤回",
    Action.approve: "审核通过",
    Action.return_: "退回补充",
    Action.reopen: "重新打开",
}


def require_actor(principal: Principal, action: Action) -> None:
    """Forbidden unless the caller's role may take action (liaisons submit, offices review)."""
    if principal.role not in ACTORS[action]:
        who = "责任单位的联络员" if ACTORS[action] == (Role.liaison,) else "县依法治县办"
        raise Forbidden(f"只有{who}可以{_ACTION_NAMES[action]}", code="role_may_not_act")


def check(status: str, action: Action) -> EvidenceStatus | None:
    """The status after action, or Conflict naming the current state when the table refuses it."""
    current = EvidenceStatus(status)
    if (current, action) not in TRANSITIONS:
        raise Conflict(
            f"资料当前状态为“{_STATUS_NAMES[current]}”，不能{_ACTION_NAMES[action]}", code="transition_not_allowed"
        )
    return TRANSITIONS[(current, action)]


def derive(statuses: Iterable[str]) -> AssignmentStatus:
    """The one rule for an assignment's status, over the evidence that counts for it now (its own and that of the
    material requests covering its item; withdrawn evidence does not count), first match wins:
    no evidence → not_started 未报送; any piece returned → returned 退回补充 (the unit has something to do:
    send a corrected version or withdraw that piece); any piece waiting → submitted 已报送 (the office has);
    every piece approved → approved 已通过. README ("How an assignment's status is decided") says the same."""
    live = {EvidenceStatus(s) for s in statuses} - {S.withdrawn}
    if not live:
        return AssignmentStatus.not_started
    if S.returned in live:
        return AssignmentStatus.returned
    if S.submitted in live:
        return AssignmentStatus.submitted
    return AssignmentStatus.approved


def refresh_assignments(
    session: Session, *, campaign_id: int, unit_id: int, item_ids: Iterable[int], returned: bool = False
) -> None:
    """Recompute the stored status of the unit's assignments of item_ids from their evidence; returned: the office
    has just returned evidence that counts for them (each return counts once towards their warning light)."""
    item_ids = list(item_ids)
    rows = session.exec(
        select(Assignment).where(
            Assignment.campaign_id == campaign_id,
            Assignment.unit_id == unit_id,
            col(Assignment.item_id).in_(item_ids),
        )
    ).all()
    if not rows:
        return
    covers = session.exec(select(MaterialRequestItem).where(col(MaterialRequestItem.item_id).in_(item_ids))).all()
    items_of: dict[int, set[int]] = defaultdict(set)
    for c in covers:
        items_of[c.material_request_id].add(c.item_id)
    evidence = session.exec(
        select(Evidence.assignment_id, Evidence.material_request_id, Evidence.status).where(
            Evidence.campaign_id == campaign_id,
            Evidence.unit_id == unit_id,
            or_(
                col(Evidence.assignment_id).in_([a.id for a in rows]),
                and_(col(Evidence.material_request_id).in_(list(items_of)), col(Evidence.assignment_id).is_(None)),
            ),
        )
    ).all()
    for assignment in rows:
        statuses = [
            status
            for assignment_id, material_id, status in evidence
            if assignment_id == assignment.id or assignment.item_id in items_of.get(material_id or 0, ())
        ]
        new = derive(statuses)
        if assignment.status != new or returned:
            assignment.status = new
            assignment.returned_count += returned
            session.add(assignment)
    session.flush()


def review(session: Session, *, evidence_id: int, data: ReviewCreate, principal: Principal) -> Evidence:
    """The office's decision on the current version of one piece of evidence."""
    evidence = session.get(Evidence, evidence_id)
    missing = NotFound("未找到该资料", code="evidence_not_found")
    if evidence is None:
        raise missing
    with hidden_as(missing):
        campaign = campaigns.get_managed(session, campaign_id=evidence.campaign_id, principal=principal)
    action = Action(data.decision)
    require_actor(principal, action)
    version = _reviewable_version(session, evidence, data.version)
    new_status = check(evidence.status, action)
    assert new_status is not None
    if action in (Action.return_, Action.reopen) and not data.comment.strip():
        raise Invalid("退回或重新打开时必须填写意见", code="comment_required")
    _decide(
        session, evidence, version, action, new_status, data.comment, principal=principal, county_id=campaign.county_id
    )
    return evidence


def _decide(
    session: Session,
    evidence: Evidence,
    version: EvidenceVersion,
    action: Action,
    new_status: EvidenceStatus,
    comment: str,
    *,
    principal: Principal,
    county_id: int,
) -> None:
    """Record a checked decision on the current version: the review row, the evidence status, the audit entry,
    the assignments' status, and the event (a return or reopen reaches the unit's to-do list and webhooks)."""
    evidence_id = evidence.id
    assert evidence_id is not None
    before = audit.snapshot(evidence, "status", "current_version")
    decision = Review(
        evidence_id=evidence_id,
        version_id=version.id,  # type: ignore[arg-type]
        decision=action.value,
        comment=comment.strip(),
        status_after=new_status,
        reviewer_id=principal.user_id,
    )
    evidence.status = new_status
    evidence.updated_at = decision.created_at
    session.add_all([decision, evidence])
    session.flush()
    audit.record(
        session,
        principal=principal,
        action=f"evidence.{action.value}",
        object_type="evidence",
        object_id=evidence_id,
        county_id=county_id,
        campaign_id=evidence.campaign_id,
        before=before,
        after={"status": new_status, "version": version.number, "comment": decision.comment},
    )
    refresh_for(session, evidence, returned=new_status == S.returned)
    kind = events.review_event(new_status)
    if kind is not None:
        events.emit(
            session,
            kind=kind,
            county_id=county_id,
            campaign_id=evidence.campaign_id,
            data={
                "evidence_id": evidence_id,
                "version": version.number,
                "unit_id": evidence.unit_id,
                "assignment_id": evidence.assignment_id,
                "material_request_id": evidence.material_request_id,
                "title": evidence.title,
                "comment": decision.comment,
            },
        )


def _reviewable_version(session: Session, evidence: Evidence, number: int) -> EvidenceVersion:
    """The version the office named, if it is the current one; otherwise the one reason it is not, each with its own
    code: no such version, withdrawn by the unit, or a newer one handed in since the office read it."""
    version = session.exec(
        select(EvidenceVersion).where(EvidenceVersion.evidence_id == evidence.id, EvidenceVersion.number == number)
    ).first()
    if version is None:
        raise NotFound(f"该资料没有第 {number} 版（当前为第 {evidence.current_version} 版）", code="version_not_found")
    if version.state == VersionState.withdrawn:
        current = evidence.current_version
        raise Conflict(f"第 {number} 版已由报送单位撤回，不能审核；当前为第 {current} 版", code="version_withdrawn")
    if number != evidence.current_version:
        raise Conflict(
            f"报送单位已提交第 {evidence.current_version} 版，第 {number} 版不再是当前版本，请刷新后审核最新版本",
            code="review_stale",
        )
    return version


def refresh_for(session: Session, evidence: Evidence, *, returned: bool = False) -> None:
    """Recompute the status of every assignment evidence counts for (returned: the office just returned it)."""
    if evidence.assignment_id is not None:
        assignment = session.get(Assignment, evidence.assignment_id)
        item_ids = [assignment.item_id] if assignment else []
    else:
        item_ids = list(
            session.exec(
                select(MaterialRequestItem.item_id).where(
                    MaterialRequestItem.material_request_id == evidence.material_request_id
                )
            ).all()
        )
    refresh_assignments(
        session, campaign_id=evidence.campaign_id, unit_id=evidence.unit_id, item_ids=item_ids, returned=returned
    )


def reopen_approved(session: Session, *, assignment: Assignment, comment: str, principal: Principal) -> list[int]:
    """Reopen (as a return to the unit) every approved piece of evidence that counts for an assignment, on the
    review path itself, so the unit's to-do list, the assignment's status and the events behave as for a return.
    Used by a 回头看 check whose checker (office or engaged evaluator) the caller has already authorized.
    Evidence handed in for a material request counts for the unit's other items of that request too: they
    return with it. The ids reopened, in order; none when nothing is approved (a Conflict for the caller)."""
    campaign = session.get(Campaign, assignment.campaign_id)
    assert campaign is not None
    covering = select(MaterialRequestItem.material_request_id).where(MaterialRequestItem.item_id == assignment.item_id)
    rows = session.exec(
        select(Evidence)
        .where(
            Evidence.campaign_id == assignment.campaign_id,
            Evidence.unit_id == assignment.unit_id,
            Evidence.status == S.approved,
            or_(
                Evidence.assignment_id == assignment.id,
                and_(col(Evidence.assignment_id).is_(None), col(Evidence.material_request_id).in_(covering)),
            ),
        )
        .order_by(Evidence.id)
    ).all()
    for evidence in rows:
        version = _reviewable_version(session, evidence, evidence.current_version)
        new_status = check(evidence.status, Action.reopen)
        assert new_status is not None
        _decide(session, evidence, version, Action.reopen, new_status, comment, principal=principal,
                county_id=campaign.county_id)  # fmt: skip
    return [e.id for e in rows]  # type: ignore[misc]
