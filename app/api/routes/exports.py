"""Files an office hands upward: the evidence package (ZIP, streamed), the assignment ledger (.xlsx) and the
self-assessment report (.docx) with the template it is written on."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile, status
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from app.api.deps import CurrentPrincipal, SessionDep, StorageDep, Today
from app.api.documents import read_limited
from app.api.openapi import binary
from app.models._base import COUNTY_ZONE
from app.models.report_template import ReportTemplatePublic
from app.services.documents import sheets
from app.services.exports import evidence_package, ledger, report_template, self_assessment
from app.services.submission.filetypes import content_disposition

router = APIRouter(tags=["exports"])

# ZIP entries carry local time without a zone; the offices read them in China Standard Time.
XLSX = sheets.MEDIA_TYPE


@router.get(
    "/campaigns/{campaign_id}/evidence-package.zip",
    response_class=StreamingResponse,
    responses=binary("application/zip", "印证资料包（ZIP）"),
)
def evidence_package_zip(
    campaign_id: int, session: SessionDep, who: CurrentPrincipal, store: StorageDep
) -> StreamingResponse:
    """The campaign's approved evidence as one ZIP, streamed: a folder per level-1 indicator and item, index.xlsx."""
    package = evidence_package.plan(session, campaign_id=campaign_id, principal=who)
    return StreamingResponse(
        evidence_package.stream(store, package, now=datetime.now(COUNTY_ZONE), principal=who),
        media_type="application/zip",
        headers={"Content-Disposition": content_disposition(package.filename), "Cache-Control": "private, no-store"},
    )


@router.get(
    "/campaigns/{campaign_id}/ledger.xlsx",
    response_class=Response,
    responses=binary(XLSX, "任务分工台账（.xlsx）"),
)
def ledger_xlsx(
    campaign_id: int,
    session: SessionDep,
    who: CurrentPrincipal,
    today: Today,
    unit_id: Annotated[int | None, Query(description="只导出该单位的台账")] = None,
) -> Response:
    """The assignment ledger (台账) of a campaign, or of one unit, as a spreadsheet (a liaison: its own unit's)."""
    name, body = ledger.render(session, campaign_id=campaign_id, principal=who, today=today, unit_id=unit_id)
    return Response(body, media_type=XLSX, headers={"Content-Disposition": content_disposition(name)})


@router.get(
    "/campaigns/{campaign_id}/self-assessment.docx",
    response_class=Response,
    responses=binary(self_assessment.MEDIA_TYPE, "自评报告（Word 文档）"),
)
def self_assessment_docx(
    campaign_id: int,
    session: SessionDep,
    who: CurrentPrincipal,
    today: Today,
    round_id: Annotated[
        int | None, Query(description="所用评分轮次的 id（可为未发布的轮次）；不填则用最近一轮已发布的评分")
    ] = None,
) -> Response:
    """The 自评报告 of a campaign as a Word document, its scores from one round (the office or an admin).

    Laid out as GB/T 9704 lays out 公文, or on the campaign's own template (see self-assessment-template)."""
    name, body = self_assessment.render(session, campaign_id=campaign_id, principal=who, today=today, round_id=round_id)
    return Response(
        body,
        media_type=self_assessment.MEDIA_TYPE,
        headers={"Content-Disposition": content_disposition(name), "Cache-Control": "private, no-store"},
    )


@router.get("/campaigns/{campaign_id}/self-assessment-template", response_model=ReportTemplatePublic)
def read_report_template(campaign_id: int, session: SessionDep, who: CurrentPrincipal) -> ReportTemplatePublic:
    """Which template the campaign's 自评报告 uses: the office's own .docx (custom) or the house style."""
    return report_template.describe(session, campaign_id=campaign_id, principal=who)


@router.get(
    "/campaigns/{campaign_id}/self-assessment-template.docx",
    response_class=Response,
    responses=binary(self_assessment.MEDIA_TYPE, "自评报告模板（Word 文档）"),
)
def download_report_template(campaign_id: int, session: SessionDep, who: CurrentPrincipal) -> Response:
    """The template in use as a .docx to restyle in Word or WPS: the office's own, or the house one (a sample of
    each style)."""
    name, body = report_template.download(session, campaign_id=campaign_id, principal=who)
    return Response(
        body,
        media_type=self_assessment.MEDIA_TYPE,
        headers={"Content-Disposition": content_disposition(name), "Cache-Control": "private, no-store"},
    )


@router.put("/campaigns/{campaign_id}/self-assessment-template", response_model=ReportTemplatePublic)
async def replace_report_template(
    campaign_id: int,
    session: SessionDep,
    who: CurrentPrincipal,
    file: UploadFile = File(description="Word 文档（.docx）：报告沿用其样式、页面设置和页眉页脚，正文内容不用"),
) -> ReportTemplatePublic:
    """Make an office's .docx the template of the campaign's 自评报告 (its styles, page setup, headers and footers)."""
    raw = await read_limited(file, what="自评报告模板", code="report_template_too_large")
    return await run_in_threadpool(
        report_template.replace,
        session,
        campaign_id=campaign_id,
        principal=who,
        filename=file.filename or "",
        raw=raw,
    )


@router.delete("/campaigns/{campaign_id}/self-assessment-template", status_code=status.HTTP_204_NO_CONTENT)
def remove_report_template(campaign_id: int, session: SessionDep, who: CurrentPrincipal) -> None:
    """Go back to the house template (GB/T 9704) for the campaign's 自评报告."""
    report_template.remove(session, campaign_id=campaign_id, principal=who)
