"""Indicator frameworks: upload, read, and delete while unused."""

from __future__ import annotations

from fastapi import APIRouter, File, Request, Response, UploadFile, status
from starlette.concurrency import run_in_threadpool

from app.api.deps import CurrentPrincipal, PageDep, SessionDep
from app.api.documents import read_limited
from app.api.location import CREATED, created_at
from app.api.openapi import binary
from app.models.common import Page
from app.models.framework import (
    FrameworkPublic,
    FrameworkSection,
    Heading,
    HeadingPublic,
    ItemPublic,
    MaterialPublic,
    SectionPublic,
)
from app.services.documents import sheets
from app.services.indicators import framework_sheet, frameworks
from app.services.submission.filetypes import content_disposition

router = APIRouter(prefix="/frameworks", tags=["frameworks"])


@router.get("", response_model=Page[FrameworkPublic])
def list_frameworks(session: SessionDep, who: CurrentPrincipal, page: PageDep) -> Page[FrameworkPublic]:
    """Every framework version with its item counts per section."""
    return page.of_all(frameworks.public_list(session, frameworks.list_all(session)))


@router.post("", response_model=FrameworkPublic, status_code=status.HTTP_201_CREATED, responses=CREATED)
async def upload_framework(
    session: SessionDep,
    who: CurrentPrincipal,
    request: Request,
    response: Response,
    file: UploadFile = File(description="指标体系 JSON 或 Excel（.xlsx）文件"),
) -> FrameworkPublic:
    """Import a framework file (JSON or .xlsx) whole, as a new version of its code, or reject it with every problem."""
    raw = await read_limited(file, what="指标体系文件", code="framework_too_large")
    # parsing and storing are synchronous work: off the event loop, like every sync route
    found = await run_in_threadpool(frameworks.import_file, session, raw=raw, principal=who)
    created_at(request, response, "read_framework", framework_id=found.id)
    return found


@router.get(
    "/template.xlsx",
    response_class=Response,
    responses=binary(sheets.MEDIA_TYPE, "指标体系 Excel 导入模板"),
)
def framework_template(who: CurrentPrincipal) -> Response:
    """The .xlsx import template: sheets 说明, 清单, 指标, 资料 with one example row each."""
    headers = {"Content-Disposition": content_disposition("指标体系导入模板.xlsx")}
    return Response(framework_sheet.template(), media_type=sheets.MEDIA_TYPE, headers=headers)


@router.get(
    "/{framework_id}/export.xlsx",
    response_class=Response,
    responses=binary(sheets.MEDIA_TYPE, "指标体系（.xlsx，可修改后导入）"),
)
def export_framework(framework_id: int, session: SessionDep, who: CurrentPrincipal) -> Response:
    """A framework as the .xlsx workbook the import takes (edit it and import it as a new version)."""
    doc = frameworks.to_document(session, framework_id=framework_id)
    headers = {"Content-Disposition": content_disposition(f"{doc.name}.xlsx")}
    return Response(framework_sheet.write(doc), media_type=sheets.MEDIA_TYPE, headers=headers)


@router.get("/{framework_id}", response_model=FrameworkPublic)
def read_framework(framework_id: int, session: SessionDep, who: CurrentPrincipal) -> FrameworkPublic:
    """One framework version."""
    return frameworks.to_public(session, frameworks.get_or_raise(session, framework_id=framework_id))


@router.delete("/{framework_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_framework(framework_id: int, session: SessionDep, who: CurrentPrincipal) -> Response:
    """Delete a framework no campaign uses (one in use is frozen: 409)."""
    frameworks.delete(session, framework_id=framework_id, principal=who)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{framework_id}/sections", response_model=Page[SectionPublic])
def list_sections(
    framework_id: int, session: SessionDep, who: CurrentPrincipal, page: PageDep
) -> Page[FrameworkSection]:
    """The framework's sections (e.g. indicator, bonus, veto)."""
    return page.of_all(frameworks.list_sections(session, framework_id=framework_id))


@router.get("/{framework_id}/headings", response_model=Page[HeadingPublic])
def list_headings(framework_id: int, session: SessionDep, who: CurrentPrincipal, page: PageDep) -> Page[Heading]:
    """The framework's 一级 and 二级 headings in printed order."""
    return page.of_all(frameworks.list_headings(session, framework_id=framework_id))


@router.get("/{framework_id}/items", response_model=Page[ItemPublic])
def list_items(
    framework_id: int,
    session: SessionDep,
    who: CurrentPrincipal,
    page: PageDep,
    section: str | None = None,
    level1_id: int | None = None,
) -> Page[ItemPublic]:
    """The framework's items in printed order, filterable by section and level-1 heading."""
    items, total = frameworks.list_items(
        session,
        framework_id=framework_id,
        section=section,
        level1_id=level1_id,
        limit=page.limit,
        offset=page.offset,
    )
    return page.of(items, total)


@router.get("/{framework_id}/materials", response_model=Page[MaterialPublic])
def list_materials(
    framework_id: int, session: SessionDep, who: CurrentPrincipal, page: PageDep
) -> Page[MaterialPublic]:
    """The framework's material requests, each with the items it covers."""
    return page.of_all(frameworks.list_materials(session, framework_id=framework_id))
