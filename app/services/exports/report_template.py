"""The template of a campaign's 自评报告: the house style (GB/T 9704, documents.word_style) unless the county's office
hands in a .docx of its own. The report then keeps that file's styles (标题, 标题 1, 标题 2, 正文, 表格文字), page
setup, headers and footers, and drops its body; the styles it lacks come in the house style, page numbers too
when its footer is empty. The office starts from the house template (download it, restyle it in Word or WPS,
upload it) and can go back to it by deleting its own."""

from __future__ import annotations

import hashlib

from sqlmodel import Session

from app.models._base import utcnow
from app.models.report_template import ReportTemplate, ReportTemplatePublic
from app.services.access import Principal
from app.services.campaign import campaigns
from app.services.documents import word
from app.services.documents.word_style import CELL_STYLE
from app.services.errors import NotFound
from app.services.platform import audit

HOUSE_NAME = "自评报告模板（默认）.docx"


def content(session: Session, *, campaign_id: int) -> bytes | None:
    """The office's own template of the campaign, or None for the house style (the caller checked access)."""
    found = session.get(ReportTemplate, campaign_id)
    return found.content if found else None


def describe(session: Session, *, campaign_id: int, principal: Principal) -> ReportTemplatePublic:
    """Which template the campaign's report uses (the office or an admin)."""
    campaigns.get_managed(session, campaign_id=campaign_id, principal=principal)
    found = session.get(ReportTemplate, campaign_id)
    if found is None:
        body = house()
        return ReportTemplatePublic(
            campaign_id=campaign_id, custom=False, filename=HOUSE_NAME, size=len(body),
            sha256=hashlib.sha256(body).hexdigest(),
        )  # fmt: skip
    return ReportTemplatePublic.model_validate(found, update={"custom": True})


def download(session: Session, *, campaign_id: int, principal: Principal) -> tuple[str, bytes]:
    """(file name, bytes) of the template in use: the office's own, or the house one with a sample of each style."""
    campaigns.get_managed(session, campaign_id=campaign_id, principal=principal)
    found = session.get(ReportTemplate, campaign_id)
    return (found.filename, found.content) if found else (HOUSE_NAME, house())


def replace(
    session: Session, *, campaign_id: int, principal: Principal, filename: str, raw: bytes
) -> ReportTemplatePublic:
    """Make raw the campaign's template, once a report can be written on it (else Invalid, nothing kept)."""
    campaign = campaigns.get_managed(session, campaign_id=campaign_id, principal=principal)
    _sample(word.document(raw))  # refuses what is no .docx, and proves the styles take a report's content
    found = session.get(ReportTemplate, campaign_id)
    before = _facts(found) if found else None
    row = found or ReportTemplate(campaign_id=campaign_id, filename="", size=0, sha256="", content=b"", uploaded_by=0)
    row.filename = word.clean(filename).strip()[:200] or "自评报告模板.docx"
    row.content, row.size, row.sha256 = raw, len(raw), hashlib.sha256(raw).hexdigest()
    row.uploaded_by = principal.user_id  # type: ignore[assignment]
    row.uploaded_at = utcnow()
    session.add(row)
    session.flush()
    audit.record(
        session, principal=principal, action="campaign.report_template", object_type="campaign",
        object_id=campaign_id, county_id=campaign.county_id, campaign_id=campaign_id, before=before,
        after=_facts(row),
    )  # fmt: skip
    return ReportTemplatePublic.model_validate(row, update={"custom": True})


def remove(session: Session, *, campaign_id: int, principal: Principal) -> None:
    """Go back to the house style (404 report_template_not_found when the campaign has no template of its own)."""
    campaign = campaigns.get_managed(session, campaign_id=campaign_id, principal=principal)
    found = session.get(ReportTemplate, campaign_id)
    if found is None:
        raise NotFound("本创建活动未上传自评报告模板，正在使用默认模板", code="report_template_not_found")
    audit.record(
        session, principal=principal, action="campaign.report_template_remove", object_type="campaign",
        object_id=campaign_id, county_id=campaign.county_id, campaign_id=campaign_id,
        before=_facts(found),
    )  # fmt: skip
    session.delete(found)
    session.flush()


def _facts(row: ReportTemplate) -> dict[str, object]:
    """What the audit keeps of a template (its bytes stay out: a snapshot of the row would try to dump them)."""
    return {"filename": row.filename, "size": row.size, "sha256": row.sha256}


def house() -> bytes:
    """The house template: one paragraph of each style the report uses, to restyle in Word or WPS."""
    doc = word.document()
    _sample(doc)
    return word.reproducible(word.to_bytes(doc))  # its SHA-256 (describe) is the download's, whenever each is built


def _sample(doc: word.DocumentObject) -> None:
    word.title(doc, "××县法治政府建设示范创建自评报告（标题：方正小标宋简体 二号）")
    word.heading(doc, "一、一级标题（标题 1：黑体 三号）")
    word.heading(doc, "（一）二级标题（标题 2：楷体 三号）", level=2)
    word.paragraph(
        doc, "正文（正文：仿宋 三号，固定行距 29 磅，首行缩进两字）。报告的页面设置、页眉页脚和以上样式均取自本模板。"
    )
    word.table(
        doc,
        [word.Column("表头（加粗、底纹）", 2, centred=False), word.Column(f"单元格（{CELL_STYLE}：仿宋 五号）", 3)],
        [("示例", "123.5")],
    )
