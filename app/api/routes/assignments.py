"""Single assignments."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.api.deps import STALE, CurrentPrincipal, IfMatch, SessionDep, Today
from app.api.openapi import ETAG
from app.models.campaign import AssignmentPublic, AssignmentUpdate
from app.services.campaign import assignments

router = APIRouter(prefix="/assignments", tags=["assignments"])


@router.get("/{assignment_id}", response_model=AssignmentPublic, responses=ETAG)
def read_assignment(
    assignment_id: int, session: SessionDep, who: CurrentPrincipal, today: Today, response: Response
) -> AssignmentPublic:
    """One assignment, if the caller may see it; its ETag goes back as If-Match on a change."""
    found = assignments.get_visible(session, assignment_id=assignment_id, principal=who, today=today)
    response.headers["ETag"] = assignments.etag_of(
        assignments.get_row(session, assignment_id=assignment_id, principal=who)
    )
    return found


@router.patch("/{assignment_id}", response_model=AssignmentPublic, responses=STALE | ETAG)
def update_assignment(
    assignment_id: int,
    data: AssignmentUpdate,
    session: SessionDep,
    who: CurrentPrincipal,
    today: Today,
    response: Response,
    if_match: IfMatch = None,
) -> AssignmentPublic:
    """Override the due date (office) as a date or as N working/calendar days; null returns to the phase's end.
    With If-Match, a stale ETag is refused with 412 instead of overwriting someone else's change."""
    updated = assignments.set_due(
        session, assignment_id=assignment_id, data=data, principal=who, today=today, if_match=if_match
    )
    response.headers["ETag"] = assignments.etag_of(
        assignments.get_row(session, assignment_id=assignment_id, principal=who)
    )
    return updated
