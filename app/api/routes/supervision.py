"""督办 (supervision): a campaign's rules, its lights per unit, its 督办单 and their 回执, the 督办单 template, and the
units' ranking by the points their cards cost."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Query, Request, UploadFile, status
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from app.api.deps import CurrentPrincipal, PageDep, SessionDep, Today
from app.api.documents import read_limited
from app.api.openapi import binary
from app.models.common import Page
from app.models.supervision import CampaignLights, NoticePublic, ReceiptCreate, SupervisionRules, UnitRank
from app.services.campaign import light_rules
from app.services.documents import sheets
from app.services.submission.filetypes import content_disposition
from app.services.supervision import counts, notice_document, notices, ranking

router = APIRouter(tags=["supervision"])
XLSX = sheets.MEDIA_TYPE
_NO_STORE = "private, no-store"


def _file(name: str, body: bytes, media_type: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": content_disposition(name), "Cache-Control": _NO_STORE},
    )


@router.get("/campaigns/{campaign_id}/supervision-rules", response_model=SupervisionRules)
def read_supervision_rules(campaign_id: int, session: SessionDep, who: CurrentPrincipal) -> SupervisionRules:
    """The campaign's supervision rules: when tasks light 蓝/黄/红, what a card costs, when a 督办单 escalates again."""
    return light_rules.get(session, campaign_id=campaign_id, principal=who)


@router.put("/campaigns/{campaign_id}/supervision-rules", response_model=SupervisionRules)
def replace_supervision_rules(
    campaign_id: int, data: SupervisionRules, session: SessionDep, who: CurrentPrincipal
) -> SupervisionRules:
    """Replace the campaign's supervision rules (the office); lights follow at once, cards already given stay."""
    return light_rules.put(session, campaign_id=campaign_id, data=data, principal=who)


@router.get("/campaigns/{campaign_id}/lights", response_model=CampaignLights)
def read_campaign_lights(campaign_id: int, session: SessionDep, who: CurrentPrincipal, today: Today) -> CampaignLights:
    """How many assignments and rectification items show 蓝/黄/红 today, in total and per unit (a liaison: its own)."""
    return counts.for_campaign(session, campaign_id=campaign_id, principal=who, today=today)


@router.get("/campaigns/{campaign_id}/notices", response_model=Page[NoticePublic])
def list_notices(
    campaign_id: int,
    session: SessionDep,
    who: CurrentPrincipal,
    page: PageDep,
    unit_id: int | None = None,
    unanswered: Annotated[bool | None, Query(description="true：尚未回执的；false：已回执的")] = None,
) -> Page[NoticePublic]:
    """The campaign's 督办单 by number (the office: all; a liaison: its unit's)."""
    found = notices.list_visible(
        session, campaign_id=campaign_id, principal=who, unit_id=unit_id, unanswered=unanswered
    )
    return page.of_all(found)


@router.get("/notices/{notice_id}", response_model=NoticePublic)
def read_notice(notice_id: int, session: SessionDep, who: CurrentPrincipal) -> NoticePublic:
    """One 督办单 with the card behind it and its 回执, if any."""
    return notices.get(session, notice_id=notice_id, principal=who)


@router.get(
    "/notices/{notice_id}/document.docx",
    response_class=Response,
    responses=binary(notice_document.word.MEDIA_TYPE, "督办单（Word 文档）"),
)
def download_notice(notice_id: int, session: SessionDep, who: CurrentPrincipal) -> Response:
    """The 督办单 as a Word document, on the campaign's template (or the house style)."""
    name, body = notice_document.render(session, notice_id=notice_id, principal=who)
    return _file(name, body, notice_document.word.MEDIA_TYPE)


@router.post("/notices/{notice_id}/receipt", response_model=NoticePublic)
def acknowledge_notice(
    notice_id: int, data: ReceiptCreate, session: SessionDep, who: CurrentPrincipal, today: Today
) -> NoticePublic:
    """The unit's 回执 (its liaison): the planned completion date and what it will do; once per 督办单."""
    return notices.acknowledge(session, notice_id=notice_id, data=data, principal=who, today=today)


@router.get(
    "/campaigns/{campaign_id}/notice-template.docx",
    response_class=Response,
    responses=binary(notice_document.word.MEDIA_TYPE, "督办单模板（Word 文档）"),
)
def download_notice_template(campaign_id: int, session: SessionDep, who: CurrentPrincipal) -> Response:
    """The 督办单 template in use: the office's own .docx, or the house style."""
    name, body = notice_document.download_template(session, campaign_id=campaign_id, principal=who)
    return _file(name, body, notice_document.word.MEDIA_TYPE)


@router.put("/campaigns/{campaign_id}/notice-template", status_code=status.HTTP_204_NO_CONTENT)
async def replace_notice_template(
    campaign_id: int,
    session: SessionDep,
    who: CurrentPrincipal,
    file: UploadFile = File(
        description="Word 文档（.docx）：督办单沿用其样式、页面设置和页眉页脚（如红头），正文内容不用"
    ),
) -> None:
    """Make an office's .docx the template of the campaign's 督办单 (letterhead, styles, page setup)."""
    raw = await read_limited(file, what="督办单模板", code="notice_template_too_large")
    await run_in_threadpool(
        notice_document.replace_template,
        session,
        campaign_id=campaign_id,
        principal=who,
        filename=file.filename or "",
        raw=raw,
    )


@router.delete("/campaigns/{campaign_id}/notice-template", status_code=status.HTTP_204_NO_CONTENT)
def remove_notice_template(campaign_id: int, session: SessionDep, who: CurrentPrincipal) -> None:
    """Go back to the house style for the campaign's 督办单."""
    notice_document.remove_template(session, campaign_id=campaign_id, principal=who)


_RANKING = {
    200: {
        "description": "责任单位排名（JSON），或 format=xlsx / Accept 为 .xlsx 时的表格（含扣分明细）",
        "content": {"application/json": {}, XLSX: {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.get("/campaigns/{campaign_id}/units/ranking", response_model=Page[UnitRank], responses=_RANKING)
def read_unit_ranking(
    campaign_id: int,
    session: SessionDep,
    who: CurrentPrincipal,
    request: Request,
    page: PageDep,
    fmt: Annotated[
        Literal["json", "xlsx"] | None, Query(alias="format", description="json 或 xlsx；不填按 Accept")
    ] = None,
) -> Any:
    """The units ranked by the points their yellow and red cards cost, each deduction with its card, item and day
    (the office); as .xlsx with ?format=xlsx or Accept: the spreadsheet type."""
    if fmt == "xlsx" or (fmt is None and XLSX in request.headers.get("accept", "")):
        name, body = ranking.render(session, campaign_id=campaign_id, principal=who)
        return _file(name, body, XLSX)
    return page.of_all(ranking.ranking(session, campaign_id=campaign_id, principal=who))
