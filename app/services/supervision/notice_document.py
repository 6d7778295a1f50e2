"""The 督办单 as a Word document, on the campaign's own template (its letterhead, styles and page setup) or the house
style; the office replaces the template by uploading a .docx and goes back to the house style by deleting it."""

from __future__ import annotations

import hashlib

from sqlmodel import Session

from app.models import Campaign, NoticeTemplate, Region
from app.models._base import utcnow
from app.models.supervision import NoticePublic
from app.services.access import Principal
from app.services.campaign import campaigns
from app.services.documents import word
from app.services.errors import NotFound
from app.services.platform import audit
from app.services.supervision import notices

HOUSE_NAME = "督办单模板（默认）.docx"


def _write(doc: word.DocumentObject, notice: NoticePublic, *, county: str, campaign: str) -> None:
    word.title(doc, "督 办 通 知 单")
    word.paragraph(doc, f"{county}督办〔{notice.year}〕第{notice.number}号", centred=True)
    word.paragraph(doc, f"{notice.unit_name}：")
    word.paragraph(
        doc,
        f"在{campaign}中，贵单位承担的{notices.subject_text(notice.card)}，现予督办。请于 "
        f"{notice.acknowledge_by.isoformat()} 前通过系统回执，写明整改措施和计划完成日期，并按期办结。",
    )
    word.table(
        doc,
        [word.Column("事项", 2, centred=False), word.Column("内容", 5, centred=False)],
        [
            ("督办编号", notice.number_label),
            ("督办事项", notice.card.item_label),
            ("截止日期", notice.card.due_on.isoformat()),
            ("下发日期", notice.issued_on.isoformat()),
            ("回执期限", notice.acknowledge_by.isoformat()),
            ("扣分", f"{notice.card.points:g}"),
        ],
    )
    word.paragraph(doc, f"{county}全面依法治县委员会办公室")
    word.paragraph(doc, notice.issued_on.strftime("%Y年%m月%d日").replace("年0", "年").replace("月0", "月"))


def render(session: Session, *, notice_id: int, principal: Principal) -> tuple[str, bytes]:
    """(file name, .docx bytes) of a 督办单 the caller may see."""
    notice = notices.get(session, notice_id=notice_id, principal=principal)
    campaign = session.get(Campaign, notice.campaign_id)
    assert campaign is not None
    county = session.get(Region, campaign.county_id)
    found = session.get(NoticeTemplate, campaign.id)
    doc = word.document(found.content if found else None)
    _write(doc, notice, county=county.name if county else "", campaign=campaign.name)
    return f"督办单{notice.number_label}-{notice.unit_name}.docx", word.to_bytes(doc)


def download_template(session: Session, *, campaign_id: int, principal: Principal) -> tuple[str, bytes]:
    """(file name, bytes) of the template in use: the office's own, or the house one."""
    campaigns.get_managed(session, campaign_id=campaign_id, principal=principal)
    found = session.get(NoticeTemplate, campaign_id)
    return (found.filename, found.content) if found else (HOUSE_NAME, word.to_bytes(word.document()))


def replace_template(session: Session, *, campaign_id: int, principal: Principal, filename: str, raw: bytes) -> None:
    """Make raw the campaign's 督办单 template, once a 督办单 can be written on it (else Invalid, nothing kept)."""
    campaign = campaigns.get_managed(session, campaign_id=campaign_id, principal=principal)
    word.document(raw)  # refuses what is no .docx (or is too big unpacked)
    found = session.get(NoticeTemplate, campaign_id)
    before = _facts(found) if found else None
    row = found or NoticeTemplate(campaign_id=campaign_id, filename="", size=0, sha256="", content=b"", uploaded_by=0)
    row.filename = word.clean(filename).strip()[:200] or "督办单模板.docx"
    row.content, row.size, row.sha256 = raw, len(raw), hashlib.sha256(raw).hexdigest()
    row.uploaded_by, row.uploaded_at = principal.user_id, utcnow()  # type: ignore[assignment]
    session.add(row)
    session.flush()
    audit.record(
        session, principal=principal, action="campaign.notice_template", object_type="campaign",
        object_id=campaign_id, county_id=campaign.county_id, campaign_id=campaign_id, before=before, after=_facts(row),
    )  # fmt: skip


def remove_template(session: Session, *, campaign_id: int, principal: Principal) -> None:
    """Go back to the house style (404 notice_template_not_found when the campaign has no template of its own)."""
    campaign = campaigns.get_managed(session, campaign_id=campaign_id, principal=principal)
    found = session.get(NoticeTemplate, campaign_id)
    if found is None:
        raise NotFound("本创建活动未上传督办单模板，正在使用默认模板", code="notice_template_not_found")
    audit.record(
        session, principal=principal, action="campaign.notice_template_remove", object_type="campaign",
        object_id=campaign_id, county_id=campaign.county_id, campaign_id=campaign_id, before=_facts(found),
    )  # fmt: skip
    session.delete(found)
    session.flush()


def _facts(row: NoticeTemplate) -> dict[str, object]:
    return {"filename": row.filename, "size": row.size, "sha256": row.sha256}
