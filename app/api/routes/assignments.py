"""Single assignments."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import CurrentPrincipal, SessionDep, Today
from app.models.campaign import AssignmentPublic, AssignmentUpdate
from app.services import assignments

router = APIRouter(prefix="/assignments", tags=["assignments"])


@router.get("/{assignment_id}", response_model=AssignmentPublic)
def read_assignment(assignment_id: int, session: SessionDep, who: CurrentPrincipal, today: Today) -> AssignmentPublic:
    """One assignment, if the caller may see it."""
    return assignments.get_visible(session, assignment_id=assignment_id, principal=who, today=today)


@router.patch("/{assignment_id}", response_model=AssignmentPublic)
def update_assignment(
    assignment_id: int, data: AssignmentUpdate, session: SessionDep, who: CurrentPrincipal, today: Today
) -> AssignmentPublic:
    """Override the due date (office) as a date or as N working/calendar days; null returns to the phase's end."""
    return assignments.set_due(session, assignment_id=assignment_id, data=data, principal=who, today=today)
