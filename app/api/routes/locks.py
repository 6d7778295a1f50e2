"""Submission locks: freezing a campaign for submission upward, late windows for single units."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.api.deps import CurrentPrincipal, PageDep, SessionDep, Today
from app.models.campaign import CampaignPublic, LateWindow, LateWindowCreate, LateWindowPublic
from app.models.common import Page
from app.services.campaign import campaigns
from app.services.review import locks

router = APIRouter(prefix="/campaigns", tags=["campaigns"])


@router.post("/{campaign_id}/freeze", response_model=CampaignPublic)
def freeze_campaign(campaign_id: int, session: SessionDep, who: CurrentPrincipal) -> CampaignPublic:
    """Freeze the campaign for submission upward: units can no longer change evidence."""
    return campaigns.to_public(session, locks.set_frozen(session, campaign_id=campaign_id, frozen=True, principal=who))


@router.post("/{campaign_id}/unfreeze", response_model=CampaignPublic)
def unfreeze_campaign(campaign_id: int, session: SessionDep, who: CurrentPrincipal) -> CampaignPublic:
    """Lift the freeze (e.g. when the province sends the materials back)."""
    campaign = locks.set_frozen(session, campaign_id=campaign_id, frozen=False, principal=who)
    return campaigns.to_public(session, campaign)


@router.get("/{campaign_id}/late-windows", response_model=Page[LateWindowPublic])
def list_late_windows(campaign_id: int, session: SessionDep, who: CurrentPrincipal, page: PageDep) -> Page[LateWindow]:
    """Every late window granted in the campaign."""
    return page.of_all(locks.list_late_windows(session, campaign_id=campaign_id, principal=who))


@router.post("/{campaign_id}/late-windows", response_model=LateWindowPublic, status_code=status.HTTP_201_CREATED)
def grant_late_window(
    campaign_id: int, data: LateWindowCreate, session: SessionDep, who: CurrentPrincipal, today: Today
) -> LateWindow:
    """Let one unit change its evidence after the materials deadline, until a date (补报窗口)."""
    return locks.grant_late_window(session, campaign_id=campaign_id, data=data, principal=who, today=today)
