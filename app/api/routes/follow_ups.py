"""回头看: follow-up rounds that re-check a repeatable sample of closed problems and approved items."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from app.api.deps import CurrentPrincipal, PageDep, SessionDep, Today
from app.api.location import CREATED, created_at
from app.models.common import Page
from app.models.follow_up import CheckRecord, CheckResult, FollowUpCheckPublic, FollowUpCreate, FollowUpPublic
from app.services.review import follow_up_checks, follow_ups

router = APIRouter(tags=["follow-up"])


@router.post(
    "/campaigns/{campaign_id}/follow-ups",
    response_model=FollowUpPublic,
    status_code=status.HTTP_201_CREATED,
    responses=CREATED,
)
def create_follow_up(
    campaign_id: int,
    data: FollowUpCreate,
    session: SessionDep,
    who: CurrentPrincipal,
    request: Request,
    response: Response,
) -> FollowUpPublic:
    """Open a 回头看 round: draw a sample (size or share, seed given or generated) and assign its checks (office)."""
    found = follow_ups.create(session, campaign_id=campaign_id, data=data, principal=who)
    created_at(request, response, "read_follow_up", follow_up_id=found.id)
    return found


@router.get("/campaigns/{campaign_id}/follow-ups", response_model=Page[FollowUpPublic])
def list_follow_ups(
    campaign_id: int, session: SessionDep, who: CurrentPrincipal, page: PageDep
) -> Page[FollowUpPublic]:
    """The campaign's 回头看 rounds, newest first."""
    return page.of_all(follow_ups.list_for_campaign(session, campaign_id=campaign_id, principal=who))


@router.get("/follow-ups/{follow_up_id}", response_model=FollowUpPublic)
def read_follow_up(follow_up_id: int, session: SessionDep, who: CurrentPrincipal) -> FollowUpPublic:
    """One 回头看 round: its seed, population, sample size and how many checks are pending, confirmed, reopened."""
    return follow_ups.get(session, follow_up_id=follow_up_id, principal=who)


@router.get("/follow-ups/{follow_up_id}/checks", response_model=Page[FollowUpCheckPublic])
def list_checks(
    follow_up_id: int, session: SessionDep, who: CurrentPrincipal, page: PageDep, result: CheckResult | None = None
) -> Page[FollowUpCheckPublic]:
    """The round's checks in draw order, with their checker and result."""
    return page.of_all(follow_ups.checks(session, follow_up_id=follow_up_id, principal=who, result=result))


@router.get("/follow-up-checks/{check_id}", response_model=FollowUpCheckPublic)
def read_check(check_id: int, session: SessionDep, who: CurrentPrincipal) -> FollowUpCheckPublic:
    """One check of a 回头看 round."""
    return follow_up_checks.get(session, check_id=check_id, principal=who)


@router.post("/follow-up-checks/{check_id}", response_model=FollowUpCheckPublic)
def record_check(
    check_id: int, data: CheckRecord, session: SessionDep, who: CurrentPrincipal, today: Today
) -> FollowUpCheckPublic:
    """The assigned checker's result: confirmed, or reopened with a comment and a new due date."""
    return follow_up_checks.record(session, check_id=check_id, data=data, principal=who, today=today)
