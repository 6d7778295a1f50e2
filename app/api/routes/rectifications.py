"""The rectification list (回头看 问题清单)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from app.api.deps import CurrentPrincipal, PageDep, SessionDep, Today
from app.api.location import CREATED, created_at
from app.models.common import Page
from app.models.rectification import (
    RectificationCreate,
    RectificationDecisionPublic,
    RectificationPool,
    RectificationPoolRow,
    RectificationProgress,
    RectificationPublic,
    RectificationReopen,
    RectificationStatus,
    RectificationVerify,
)
from app.services.review import closing, rectification

router = APIRouter(tags=["rectification"])


@router.post(
    "/campaigns/{campaign_id}/rectifications",
    response_model=RectificationPublic,
    status_code=status.HTTP_201_CREATED,
    responses=CREATED,
)
def create_rectification(
    campaign_id: int,
    data: RectificationCreate,
    session: SessionDep,
    who: CurrentPrincipal,
    request: Request,
    response: Response,
) -> RectificationPublic:
    """Open a rectification item for a unit (office), from a score's finding, a review, or typed in."""
    found = rectification.create(session, campaign_id=campaign_id, data=data, principal=who)
    created_at(request, response, "read_rectification", rectification_id=found.id)
    return found


@router.get("/campaigns/{campaign_id}/rectifications", response_model=Page[RectificationPublic])
def list_rectifications(
    campaign_id: int,
    session: SessionDep,
    who: CurrentPrincipal,
    today: Today,
    page: PageDep,
    status: RectificationStatus | None = None,
    unit_id: int | None = None,
    pool: RectificationPool | None = None,
) -> Page[RectificationPublic]:
    """The campaign's problem pool (a liaison sees its unit's items): open, closed or reopened, per unit."""
    found = rectification.list_visible(
        session, campaign_id=campaign_id, principal=who, today=today, status=status, unit_id=unit_id, pool=pool
    )
    return page.of_all(found)


@router.get("/campaigns/{campaign_id}/problem-pool", response_model=Page[RectificationPoolRow])
def problem_pool(
    campaign_id: int, session: SessionDep, who: CurrentPrincipal, today: Today, page: PageDep
) -> Page[RectificationPoolRow]:
    """The problem pool counted per unit: open (overdue, reopened among them) and closed items."""
    return page.of_all(closing.pool_by_unit(session, campaign_id=campaign_id, principal=who, today=today))


@router.get("/rectifications/{rectification_id}", response_model=RectificationPublic)
def read_rectification(
    rectification_id: int, session: SessionDep, who: CurrentPrincipal, today: Today
) -> RectificationPublic:
    """One rectification item."""
    return rectification.get(session, rectification_id=rectification_id, principal=who, today=today)


@router.post("/rectifications/{rectification_id}/progress", response_model=RectificationPublic)
def report_progress(
    rectification_id: int, data: RectificationProgress, session: SessionDep, who: CurrentPrincipal, today: Today
) -> RectificationPublic:
    """The unit reports measures and evidence, moving the item to in progress or done (liaison)."""
    return rectification.progress(session, rectification_id=rectification_id, data=data, principal=who, today=today)


@router.post("/rectifications/{rectification_id}/verify", response_model=RectificationPublic)
def verify_rectification(
    rectification_id: int, data: RectificationVerify, session: SessionDep, who: CurrentPrincipal, today: Today
) -> RectificationPublic:
    """The office closes a done item on its unit's evidence (销号) or sends it back with a comment."""
    return closing.verify(session, rectification_id=rectification_id, data=data, principal=who, today=today)


@router.post("/rectifications/{rectification_id}/reopen", response_model=RectificationPublic)
def reopen_rectification(
    rectification_id: int, data: RectificationReopen, session: SessionDep, who: CurrentPrincipal, today: Today
) -> RectificationPublic:
    """The office reopens a done or closed item with a comment and a new due date (office)."""
    return closing.reopen(session, rectification_id=rectification_id, data=data, principal=who, today=today)


@router.get("/rectifications/{rectification_id}/history", response_model=Page[RectificationDecisionPublic])
def rectification_history(
    rectification_id: int, session: SessionDep, who: CurrentPrincipal, page: PageDep
) -> Page[RectificationDecisionPublic]:
    """Every decision on the item, oldest first: closed (销号), sent back, reopened, with comment and evidence."""
    return page.of_all(closing.history(session, rectification_id=rectification_id, principal=who))
