"""The office's latest review decision on the evidence that counts for each assignment, read beside its lists (the
to-do list, the assignment ledger and its .xlsx, one assignment): a liaison learns why an item was returned from
the list itself instead of three more requests.

Evidence counts for an assignment when it was handed in for it, or for a material request covering its item by
the same unit in the same campaign (review.reviews.refresh_assignments counts the same way). Withdrawn evidence and
withdrawn versions do not count: their reviews are history, shown in the evidence's own detail."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, union_all
from sqlmodel import Session, col, select

from app.models import Assignment, Evidence, EvidenceVersion, MaterialRequestItem, Review, User
from app.models.campaign import LastReview
from app.models.evidence import EvidenceStatus, VersionState

_SHOWN = (
    Review.id,
    Review.decision,
    Review.comment,
    Review.created_at,
    User.display_name,
    Evidence.id,
    Evidence.title,
    EvidenceVersion.number,
)


def _reviews():  # noqa: ANN202 - a select of plain columns
    """Reviews of live versions of live evidence, with what a list shows of them."""
    return (
        select(*_SHOWN)
        .join(Evidence, col(Evidence.id) == Review.evidence_id)
        .join(EvidenceVersion, col(EvidenceVersion.id) == Review.version_id)
        .join(User, col(User.id) == Review.reviewer_id)
        .where(Evidence.status != EvidenceStatus.withdrawn, EvidenceVersion.state == VersionState.active)
    )


def for_assignments(
    session: Session, *, assignment_ids: Iterable[int] | None = None, campaign_id: int | None = None
) -> dict[int, LastReview]:
    """assignment id → its latest review, for the given assignments or every assignment of a campaign, in one
    statement (the evidence handed in for the assignment and that of the material requests covering its item)."""
    assert (assignment_ids is None) != (campaign_id is None)
    own = _reviews().add_columns(col(Evidence.assignment_id).label("assignment_id"))
    covering = (
        _reviews()
        .add_columns(col(Assignment.id).label("assignment_id"))
        .join(MaterialRequestItem, col(MaterialRequestItem.material_request_id) == Evidence.material_request_id)
        .join(
            Assignment,
            and_(
                col(Assignment.item_id) == MaterialRequestItem.item_id,
                col(Assignment.campaign_id) == Evidence.campaign_id,
                col(Assignment.unit_id) == Evidence.unit_id,
            ),
        )
    )
    if assignment_ids is not None:
        ids = list(assignment_ids)
        if not ids:
            return {}
        own = own.where(col(Evidence.assignment_id).in_(ids))
        covering = covering.where(col(Assignment.id).in_(ids))
    else:
        own = own.where(Evidence.campaign_id == campaign_id, col(Evidence.assignment_id).is_not(None))
        covering = covering.where(Evidence.campaign_id == campaign_id)
    latest: dict[int, tuple] = {}
    for row in session.execute(union_all(own, covering)).all():
        assignment_id = row[-1]
        if assignment_id not in latest or row[0] > latest[assignment_id][0]:
            latest[assignment_id] = tuple(row)
    return {
        assignment_id: LastReview(
            decision=decision,
            comment=comment,
            reviewed_at=at,
            reviewer_name=reviewer,
            evidence_id=evidence_id,
            evidence_title=title,
            version=version,
        )
        for assignment_id, (_, decision, comment, at, reviewer, evidence_id, title, version, _) in latest.items()
    }
