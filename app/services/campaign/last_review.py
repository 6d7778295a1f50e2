"""The office's latest review decision on the evidence that counts for each assignment, read beside its lists (the
to-do list, the assignment ledger and its .xlsx, one assignment): a liaison learns why an item was returned from
the list itself instead of three more requests.

Evidence counts for an assignment when it was handed in for it, or for a material request covering its item by
the same unit in the same campaign (review.reviews.refresh_assignments counts the same way). Withdrawn evidence and
withdrawn versions do not count: their reviews are history, shown in the evidence's own detail."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import and_, func, union_all
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


def _statement(assignment_ids: Any = None, campaign_id: Any = None) -> Any:
    """The reviews of the evidence that counts for the given assignments (a list, or a condition on an id column) or
    for every assignment of a campaign, the assignment's id last."""
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
    if callable(assignment_ids):
        own = own.where(assignment_ids(col(Evidence.assignment_id)))
        covering = covering.where(assignment_ids(col(Assignment.id)))
    elif assignment_ids is not None:
        own = own.where(col(Evidence.assignment_id).in_(assignment_ids))
        covering = covering.where(col(Assignment.id).in_(assignment_ids))
    else:
        own = own.where(Evidence.campaign_id == campaign_id, col(Evidence.assignment_id).is_not(None))
        covering = covering.where(Evidence.campaign_id == campaign_id)
    return union_all(own, covering)


# What a LastReview holds, in the order of _SHOWN after the review's id
FIELDS = ("decision", "comment", "reviewed_at", "reviewer_name", "evidence_id", "evidence_title", "version")


def latest(rows: Iterable[Sequence[Any]]) -> dict[int, dict[str, Any]]:
    """assignment id → the fields of its latest review, from _statement's rows."""
    found: dict[int, Sequence[Any]] = {}
    for row in rows:
        assignment_id = row[-1]
        if assignment_id not in found or row[0] > found[assignment_id][0]:
            found[assignment_id] = row
    return {key: dict(zip(FIELDS, row[1:-1], strict=True)) for key, row in found.items()}


def latest_of(assignment_ids: Callable[[Any], Any]) -> Any:
    """A CTE to join to a list's own statement (the busiest reads: one round trip, issue 28): for the
    assignments matching assignment_ids (a condition on an id column), the FIELDS of each one's latest review and
    its assignment_id last — the row latest() picks (the highest review id)."""
    reviews = _statement(assignment_ids=assignment_ids).subquery("reviews")
    columns = list(reviews.c)
    rank = func.row_number().over(partition_by=columns[-1], order_by=columns[0].desc()).label("rank")
    ranked = select(*columns[1:], rank).subquery("ranked")
    # computed once per statement: joined as a subquery, PostgreSQL's generic plan (which expects one page row)
    # computed every review of the page again for each of its 50 rows
    latest = select(*list(ranked.c)[:-1]).where(ranked.c.rank == 1).cte("last_review")
    return latest.prefix_with("MATERIALIZED", dialect="postgresql")


def for_assignments(
    session: Session, *, assignment_ids: Iterable[int] | None = None, campaign_id: int | None = None
) -> dict[int, LastReview]:
    """assignment id → its latest review, for the given assignments or every assignment of a campaign, in one
    statement (the evidence handed in for the assignment and that of the material requests covering its item)."""
    assert (assignment_ids is None) != (campaign_id is None)
    ids = list(assignment_ids) if assignment_ids is not None else None
    if ids is not None and not ids:
        return {}
    rows = session.execute(_statement(assignment_ids=ids, campaign_id=campaign_id)).all()
    return {key: LastReview(**fields) for key, fields in latest(rows).items()}
