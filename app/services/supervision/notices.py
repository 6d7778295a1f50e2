"""督办单: issued, numbered per county and year (〔2026〕第N号) when a red card is given, addressed to the unit, written
as a .docx on the campaign's own template (or the house style), and answered by the unit's liaison with a 回执 and
a planned completion date. Numbers come from a counter row taken under an upsert, so two scans at once never give
the same number (and a unique constraint stands behind it)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app.models import Campaign, FrameworkSection, Item, NoticeCounter, SupervisionCard, SupervisionNotice, Unit
from app.models._base import local_date, utcnow
from app.models.campaign import DayUnit
from app.models.framework import item_label
from app.models.outbox import EventKind
from app.models.supervision import LIGHT_LABEL, CardPublic, Light, NoticePublic, ReceiptCreate, Subject
from app.models.user import Role
from app.services.access import Principal, campaign_scope, unit_scope
from app.services.calendar import lights, workdays
from app.services.campaign import campaigns
from app.services.errors import Conflict, Forbidden, Invalid, NotFound
from app.services.notifications import events
from app.services.platform import audit

READERS = (Role.office, Role.system_admin, Role.liaison)
MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def number_label(notice: SupervisionNotice) -> str:
    """The notice's number as it is written: 〔2026〕第3号."""
    return f"〔{notice.year}〕第{notice.number}号"


def next_number(session: Session, *, county_id: int, year: int) -> int:
    """The county's next 督办单 number in the year, taken under the counter row's lock (an upsert)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(NoticeCounter)
        .values(county_id=county_id, year=year, last=1)
        .on_conflict_do_update(index_elements=["county_id", "year"], set_={"last": NoticeCounter.__table__.c.last + 1})
        .returning(NoticeCounter.__table__.c.last)
    )
    return int(session.execute(statement).scalar_one())


def issue(session: Session, *, card_id: int, task: Any, today: date) -> SupervisionNotice:
    """Issue a numbered 督办单 for a red card (escalation's scan calls it), addressed to the task's unit."""
    notice = SupervisionNotice(
        card_id=card_id,
        campaign_id=task.campaign_id,
        county_id=task.county_id,
        unit_id=task.unit_id,
        year=today.year,
        number=next_number(session, county_id=task.county_id, year=today.year),
        issued_on=today,
    )
    session.add(notice)
    session.flush()
    audit.record(
        session, principal=None, action="supervision.notice.issue", object_type="supervision_notice",
        object_id=notice.id, county_id=notice.county_id, campaign_id=notice.campaign_id,  # type: ignore[arg-type]
        after={"number": number_label(notice), "unit_id": notice.unit_id, "card_id": card_id},
    )  # fmt: skip
    return notice


def _scope(principal: Principal) -> ColumnElement[bool]:
    if principal.role not in READERS:
        raise Forbidden("督办单只有依法治县办和被督办单位可以查看", code="notice_not_allowed")
    return campaign_scope(principal) & unit_scope(principal, col(SupervisionNotice.unit_id))  # type: ignore[return-value]


def _rows(session: Session, where: ColumnElement[bool]) -> list[tuple[Any, ...]]:
    return list(
        session.execute(
            select(
                SupervisionNotice,
                SupervisionCard,
                Unit.name,
                Item.number,
                FrameworkSection.name,
                FrameworkSection.position,
                Campaign.supervision,
            )  # fmt: skip
            .join(SupervisionCard, col(SupervisionCard.id) == SupervisionNotice.card_id)
            .join(Campaign, col(Campaign.id) == SupervisionNotice.campaign_id)
            .join(Unit, col(Unit.id) == SupervisionNotice.unit_id)
            .outerjoin(Item, col(Item.id) == SupervisionCard.item_id)
            .outerjoin(FrameworkSection, col(FrameworkSection.id) == Item.section_id)
            .where(where)
            .order_by(SupervisionNotice.year, SupervisionNotice.number)
        ).all()
    )


def card_public(card: SupervisionCard, number: int | None, section: str | None, position: int | None) -> CardPublic:
    """A card with the label of its item (第26项), or of the rectification item when it has no indicator."""
    label = item_label(number, section or "", position or 0) if number is not None else ""
    if card.subject == Subject.rectification:
        label = f"整改事项{card.subject_id}" + (f"（{label}）" if label else "")
    return CardPublic(
        id=card.id, subject=Subject(card.subject), subject_id=card.subject_id, item_id=card.item_id,  # type: ignore[arg-type]
        item_label=label, light=Light(card.light), points=card.points, due_on=card.due_on,
        returned_count=card.returned_count, issued_on=card.issued_on,
    )  # fmt: skip


def _public(session: Session, row: tuple[Any, ...]) -> NoticePublic:
    notice, card, unit_name, number, section, position, doc = row
    within = lights.rules_of(doc).acknowledge_within_workdays
    return NoticePublic(
        id=notice.id, campaign_id=notice.campaign_id, unit_id=notice.unit_id, unit_name=unit_name,
        number_label=number_label(notice), year=notice.year, number=notice.number, issued_on=notice.issued_on,
        acknowledge_by=workdays.read(session).add(notice.issued_on, within, DayUnit.workdays),
        acknowledged_at=notice.acknowledged_at, planned_completion_on=notice.planned_completion_on,
        reply=notice.reply, escalations=notice.escalations, card=card_public(card, number, section, position),
    )  # fmt: skip


def list_visible(
    session: Session, *, campaign_id: int, principal: Principal, unit_id: int | None, unanswered: bool | None
) -> list[NoticePublic]:
    """A campaign's 督办单 as the caller may see them (the office: all; a liaison: its unit's), by number."""
    where = _scope(principal)
    campaigns.get_visible(session, campaign_id=campaign_id, principal=principal)
    where = where & (SupervisionNotice.campaign_id == campaign_id)  # type: ignore[assignment]
    if unit_id is not None:
        where = where & (SupervisionNotice.unit_id == unit_id)  # type: ignore[assignment]
    if unanswered is not None:
        answered = col(SupervisionNotice.acknowledged_at)
        where = where & (answered.is_(None) if unanswered else answered.is_not(None))  # type: ignore[assignment]
    return [_public(session, row) for row in _rows(session, where)]


def get(session: Session, *, notice_id: int, principal: Principal) -> NoticePublic:
    """One 督办单 the caller may see (another unit's or county's is not found)."""
    found = _rows(session, _scope(principal) & (SupervisionNotice.id == notice_id))  # type: ignore[arg-type]
    if not found:
        raise NotFound("未找到该督办单", code="notice_not_found")
    return _public(session, found[0])


def acknowledge(
    session: Session, *, notice_id: int, data: ReceiptCreate, principal: Principal, today: date
) -> NoticePublic:
    """The unit's 回执: its liaison confirms the 督办单 with a planned completion date (once)."""
    current = get(session, notice_id=notice_id, principal=principal)
    if principal.role != Role.liaison:
        raise Forbidden("督办单由被督办单位的联络员回执", code="not_unit_liaison")
    if data.planned_completion_on < today:
        raise Invalid("计划完成日期不能早于今天", code="planned_date_past")
    notice = session.exec(
        select(SupervisionNotice)
        .where(SupervisionNotice.id == notice_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if notice.acknowledged_at is not None:
        raise Conflict(
            f"督办单{current.number_label}已于 {local_date(notice.acknowledged_at)} 回执", code="notice_acknowledged"
        )
    notice.acknowledged_at = utcnow()
    notice.acknowledged_by = principal.user_id
    notice.planned_completion_on = data.planned_completion_on
    notice.reply = data.reply.strip()
    session.add(notice)
    session.flush()
    audit.record(
        session, principal=principal, action="supervision.notice.acknowledge", object_type="supervision_notice",
        object_id=notice_id, county_id=notice.county_id, campaign_id=notice.campaign_id,
        after={"planned_completion_on": data.planned_completion_on.isoformat(), "reply": notice.reply},
    )  # fmt: skip
    events.emit(
        session, kind=EventKind.notice_acknowledged, county_id=notice.county_id, campaign_id=notice.campaign_id,
        data={
            "notice_id": notice_id, "notice_number": current.number_label, "unit_id": notice.unit_id,
            "planned_completion_on": data.planned_completion_on.isoformat(), "reply": notice.reply,
        },
        dedupe_key=f"notice:{notice_id}:acknowledged",
    )  # fmt: skip
    return get(session, notice_id=notice_id, principal=principal)


def subject_text(card: CardPublic) -> str:
    """What the notice is about, in a sentence: which item, and why its light is red."""
    why = []
    if card.due_on < card.issued_on:
        why.append(f"截止日期 {card.due_on.isoformat()} 已逾期")
    if card.returned_count:
        returned = "销号后被重新打开" if card.subject == Subject.rectification else "已被退回补充"
        why.append(f"{returned} {card.returned_count} 次")
    return f"{card.item_label}（{LIGHT_LABEL[card.light]}：{'，'.join(why) or '亮灯'}）"
