"""Files an office hands upward: the evidence package (ZIP, streamed), the assignment ledger (.xlsx) and the
self-assessment report (.docx)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse

from app.api.deps import CurrentPrincipal, SessionDep, StorageDep, Today
from app.api.openapi import binary
from app.services.exports import evidence_package, ledger, self_assessment
from app.services.platform import sheets
from app.services.submission.filetypes import content_disposition

router = APIRouter(tags=["exports"])

# ZIP entries carry local time without a zone; the offices read them in China Standard Time.
_CST = ZoneInfo("Asia/Shanghai")
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
        evidence_package.stream(store, package, now=datetime.now(_CST), principal=who),
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
    round_id: Annotated[int | None, Query(description="所用评分轮次的 id；不填则用最近一轮")] = None,
) -> Response:
    """The 自评报告 of a campaign as a Word document, its scores from one round (the office or an admin)."""
    name, body = self_assessment.render(session, campaign_id=campaign_id, principal=who, today=today, round_id=round_id)
    return Response(
        body,
        media_type=self_assessment.MEDIA_TYPE,
        headers={"Content-Disposition": content_disposition(name), "Cache-Control": "private, no-store"},
    )
