"""A county's units and unit groups."""

from __future__ import annotations

from fastapi import APIRouter, File, Request, Response, UploadFile, status
from starlette.concurrency import run_in_threadpool

from app.api.deps import STALE, CurrentPrincipal, IfMatch, PageDep, SessionDep
from app.api.documents import read_limited
from app.api.location import CREATED, created_at
from app.api.openapi import ETAG, binary
from app.models.common import Page
from app.models.unit import (
    Unit,
    UnitCreate,
    UnitGroup,
    UnitGroupCreate,
    UnitGroupPublic,
    UnitGroupUpdate,
    UnitPublic,
)
from app.services.accounts import regions
from app.services.campaign import unit_sheet, units
from app.services.documents import sheets
from app.services.submission.filetypes import content_disposition

router = APIRouter(tags=["units"])


@router.get("/counties/{county_id}/units", response_model=Page[UnitPublic])
def list_units(county_id: int, session: SessionDep, who: CurrentPrincipal, page: PageDep) -> Page[Unit]:
    """The county's units."""
    return page.of_all(units.list_units(session, county_id=county_id, principal=who))


@router.post("/counties/{county_id}/units", response_model=UnitPublic, status_code=status.HTTP_201_CREATED)
def create_unit(county_id: int, data: UnitCreate, session: SessionDep, who: CurrentPrincipal) -> Unit:
    """Add a unit to the county (its office or an admin)."""
    return units.create_unit(session, county_id=county_id, data=data, principal=who)


@router.get(
    "/counties/{county_id}/units.xlsx",
    response_class=Response,
    responses=binary(sheets.MEDIA_TYPE, "单位名单（.xlsx，可修改后导入）"),
)
def export_units(county_id: int, session: SessionDep, who: CurrentPrincipal) -> Response:
    """The county's units as a spreadsheet (单位名称, 类别, 别名) that imports back."""
    rows = units.list_units(session, county_id=county_id, principal=who)
    county = regions.get_county_or_raise(session, county_id=county_id)
    headers = {"Content-Disposition": content_disposition(f"{county.name}单位名单.xlsx")}
    return Response(unit_sheet.write(county.name, rows), media_type=sheets.MEDIA_TYPE, headers=headers)


@router.post("/counties/{county_id}/units/import", response_model=list[UnitPublic], status_code=status.HTTP_201_CREATED)
async def import_units(
    county_id: int,
    session: SessionDep,
    who: CurrentPrincipal,
    file: UploadFile = File(description="单位名单 .xlsx（单位名称、类别、别名）"),
) -> list[Unit]:
    """Add the units of a spreadsheet, all or none (a name the county already uses is reported, not skipped)."""
    raw = await read_limited(file, what="单位名单", code="units_too_large")
    return await run_in_threadpool(units.import_sheet, session, county_id=county_id, raw=raw, principal=who)


@router.get("/counties/{county_id}/unit-groups", response_model=Page[UnitGroupPublic])
def list_groups(county_id: int, session: SessionDep, who: CurrentPrincipal, page: PageDep) -> Page[UnitGroupPublic]:
    """The county's unit groups with their members."""
    return page.of_all(
        [
            UnitGroupPublic.model_validate(g, update={"member_ids": m})
            for g, m in units.list_groups(session, county_id=county_id, principal=who)
        ]
    )


@router.post(
    "/counties/{county_id}/unit-groups",
    response_model=UnitGroupPublic,
    status_code=status.HTTP_201_CREATED,
    responses=CREATED,
)
def create_group(
    county_id: int,
    data: UnitGroupCreate,
    session: SessionDep,
    who: CurrentPrincipal,
    request: Request,
    response: Response,
) -> UnitGroupPublic:
    """Add a unit group (e.g. 各乡镇) to the county."""
    group = units.create_group(session, county_id=county_id, data=data, principal=who)
    created_at(request, response, "read_group", group_id=group.id)
    return UnitGroupPublic.model_validate(group, update={"member_ids": sorted(set(data.member_ids))})


def _group_public(session: SessionDep, group: UnitGroup) -> UnitGroupPublic:
    members = units.group_members(session, group_ids=[group.id])  # type: ignore[list-item]
    return UnitGroupPublic.model_validate(group, update={"member_ids": members.get(group.id, [])})  # type: ignore[arg-type]


@router.get("/unit-groups/{group_id}", response_model=UnitGroupPublic, responses=ETAG)
def read_group(group_id: int, session: SessionDep, who: CurrentPrincipal, response: Response) -> UnitGroupPublic:
    """One unit group with its members, and its ETag for a later change."""
    group = units.get_group(session, group_id=group_id, principal=who)
    response.headers["ETag"] = units.group_etag(session, group)
    return _group_public(session, group)


@router.patch("/unit-groups/{group_id}", response_model=UnitGroupPublic, responses=STALE | ETAG)
def update_group(
    group_id: int,
    data: UnitGroupUpdate,
    session: SessionDep,
    who: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> UnitGroupPublic:
    """Replace a group's aliases or members (then launch again to assign the new members); a stale If-Match is 412."""
    group = units.update_group(session, group_id=group_id, data=data, principal=who, if_match=if_match)
    response.headers["ETag"] = units.group_etag(session, group)
    return _group_public(session, group)
