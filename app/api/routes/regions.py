"""Regions (province → city → county)."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.api.deps import CurrentPrincipal, PageDep, SessionDep
from app.models.common import Page
from app.models.region import Region, RegionCreate, RegionPublic, RegionUpdate
from app.services.accounts import regions

router = APIRouter(prefix="/regions", tags=["regions"])


@router.get("", response_model=Page[RegionPublic])
def list_regions(session: SessionDep, who: CurrentPrincipal, page: PageDep) -> Page[Region]:
    """Every region (provinces, cities, counties)."""
    return page.of_all(regions.list_all(session))


@router.post("", response_model=RegionPublic, status_code=status.HTTP_201_CREATED)
def create_region(data: RegionCreate, session: SessionDep, who: CurrentPrincipal) -> Region:
    """Add a province, a city under a province, or a county under a city (admin)."""
    return regions.create(session, data=data, principal=who)


@router.patch("/{region_id}", response_model=RegionPublic)
def update_region(region_id: int, data: RegionUpdate, session: SessionDep, who: CurrentPrincipal) -> Region:
    """Rename a region (admin); audited like every change."""
    return regions.update(session, region_id=region_id, data=data, principal=who)
