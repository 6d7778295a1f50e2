"""Carry-over (结转): a new campaign starts from an earlier one's approved evidence and open rectifications."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import CurrentPrincipal, SessionDep, StorageDep, Today
from app.models.carry_over import CarryOverReport, CarryOverRequest
from app.services import carryover

router = APIRouter(prefix="/campaigns", tags=["campaigns"])


@router.post("/{campaign_id}/carry-over/preview", response_model=CarryOverReport)
def preview_carry_over(
    campaign_id: int, data: CarryOverRequest, session: SessionDep, who: CurrentPrincipal, today: Today
) -> CarryOverReport:
    """What would carry from an earlier campaign into this launched one (items matched by key), and what would
    not and why; nothing is written."""
    return carryover.preview(session, campaign_id=campaign_id, data=data, principal=who, today=today)


@router.post("/{campaign_id}/carry-over", response_model=CarryOverReport)
def commit_carry_over(
    campaign_id: int,
    data: CarryOverRequest,
    session: SessionDep,
    store: StorageDep,
    who: CurrentPrincipal,
    today: Today,
) -> CarryOverReport:
    """Carry the chosen approved evidence (new versions marked 沿用, files copied) and open rectifications from
    an earlier campaign; running it again carries nothing twice."""
    return carryover.commit(session, store, campaign_id=campaign_id, data=data, principal=who, today=today)
