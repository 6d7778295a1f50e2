"""A county's units and unit groups."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.api.deps import CurrentPrincipal, SessionDep
from app.models.unit import (
    Unit,
    UnitCreate,
    UnitGroupCreate,
    UnitGroupPublic,
    UnitGroupUpdate,
    UnitPublic,
)
from app.services import units

router = APIRouter(tags=["units"])


@router.get("/counties/{county_id}/units", response_model=list[UnitPublic])
def list_units(county_id: int, session: SessionDep, who: CurrentPrincipal) -> list[Unit]:
    """The county's units."""
    return units.list_units(session, county_id=county_id, principal=who)


@router.post("/counties/{county_id}/units", response_model=UnitPublic, status_code=status.HTTP_201_CREATED)
def create_unit(county_id: int, data: UnitCreate, session: SessionDep, who: CurrentPrincipal) -> Unit:
    """Add a unit to the county (its office or an admin)."""
    return units.create_unit(session, county_id=county_id, data=data, principal=who)


@router.get("/counties/{county_id}/unit-groups", response_model=list[UnitGroupPublic])
def list_groups(county_id: int, session: SessionDep, who: CurrentPrincipal) -> list[UnitGroupPublic]:
    """The county's unit groups with their members."""
    return [
        UnitGroupPublic.model_validate(g, update={"member_ids": m})
        for g, m in units.list_groups(session, county_id=county_id, principal=who)
    ]


@router.post("/counties/{county_id}/unit-groups", response_model=UnitGroupPublic, status_code=status.HTTP_201_CREATED)
def create_group(county_id: int, data: UnitGroupCreate, session: SessionDep, who: CurrentPrincipal) -> UnitGroupPublic:
    """Add a unit group (e.g. 各乡镇) to the county."""
    group = units.create_group(session, county_id=county_id, data=data, principal=who)
    return UnitGroupPublic.model_validate(group, update={"member_ids": sorted(set(data.member_ids))})


@router.patch("/unit-groups/{group_id}", response_model=UnitGroupPublic)
def update_group(group_id: int, data: UnitGroupUpdate, session: SessionDep, who: CurrentPrincipal) -> UnitGroupPublic:
    """Replace a group's aliases or members (then launch again to assign the new members)."""
    group = units.update_group(session, group_id=group_id, data=data, principal=who)
    members = units.group_members(session, group_ids=[group.id])  # type: ignore[list-item]
    return UnitGroupPublic.model_validate(group, update={"member_ids": members.get(group.id, [])})  # type: ignore[arg-type]
