"""Figures units report for quantified items."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.api.deps import CurrentPrincipal, PageDep, SessionDep, Today
from app.models.common import Page
from app.models.scoring import FigureCreate, FigurePublic
from app.services.assessment import figures

router = APIRouter(prefix="/assignments", tags=["scoring"])


@router.post("/{assignment_id}/figures", response_model=FigurePublic, status_code=status.HTTP_201_CREATED)
def report_figure(
    assignment_id: int, data: FigureCreate, session: SessionDep, who: CurrentPrincipal, today: Today
) -> FigurePublic:
    """Report a figure for one declared metric of the item (liaison); judged against its threshold."""
    return figures.report(session, assignment_id=assignment_id, data=data, principal=who, today=today)


@router.get("/{assignment_id}/figures", response_model=Page[FigurePublic])
def list_figures(assignment_id: int, session: SessionDep, who: CurrentPrincipal, page: PageDep) -> Page[FigurePublic]:
    """Every figure reported for the assignment, newest first."""
    return page.of_all(figures.history(session, assignment_id=assignment_id, principal=who))
