"""Escalation: the scan the worker's reminders lane runs (and tests call). A task (assignment or rectification item)
that shows 黄 earns its unit a yellow card and an event to the unit's liaison and leader in charge; one that shows 红
earns a red card, a numbered 督办单 and an event to the office; a 督办单 still without its 回执 after the campaign's N
working days is escalated again. Each card has a unique key (subject, id, light, due date): a scan that runs twice,
or on two workers at once, gives nothing twice — the card's insert skips a key that exists, and its events carry
the same key as their dedupe key."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, case, exists, func, literal_column, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.models import Assignment, Campaign, Phase, Rectification, SupervisionCard, SupervisionNotice, Unit, User
from app.models._base import utcnow
from app.models.campaign import CampaignStatus, DayUnit
from app.models.outbox import EventKind
from app.models.rectification import RectificationSource
from app.models.supervision import CARD_LIGHTS, Light, Subject, SupervisionRules
from app.models.user import Role
from app.services.calendar import lights, workdays
from app.services.notifications import events
from app.services.review.rectification import WAITING
from app.services.review.rectification import light_of as rectification_light
from app.services.supervision import notices

log = logging.getLogger("shifan.worker")


@dataclass(frozen=True)
class Lit:
    """A task showing 黄 or 红 in a live campaign."""

    subject: Subject
    subject_id: int
    campaign_id: int
    county_id: int
    unit_id: int
    item_id: int | None
    due_on: date
    returned_count: int
    light: Light


def _live(campaign_ids: list[int] | None) -> ColumnElement[bool]:
    live = (Campaign.status == CampaignStatus.launched) & col(Campaign.frozen_at).is_(None)
    return live if campaign_ids is None else live & col(Campaign.id).in_(campaign_ids)  # type: ignore[return-value]


def _campaign_end() -> Any:
    """SQL: the last day of the row's campaign — its last phase's end, or its materials deadline if later."""
    last_phase = select(func.max(Phase.ends_on)).where(Phase.campaign_id == Campaign.id).scalar_subquery()
    return case((last_phase > Campaign.materials_deadline, last_phase), else_=Campaign.materials_deadline)


def _supervised(due: Any, today: date) -> ColumnElement[bool]:
    """SQL: a task still under supervision today — its campaign has not ended, or the task is due after the end (a
    回头看 or the office reopened it with a new date). A campaign over and not frozen gives no cards (a first scan on a
    deployment with years-old campaigns would otherwise card every open task of them at once)."""
    end = _campaign_end()
    return or_(end >= today, due > end)


def lit_tasks(session: Session, *, book: lights.LightBook, campaign_ids: list[int] | None = None) -> list[Lit]:
    """Every task of a launched, unfrozen campaign showing 黄 or 红 today, in two statements."""
    fewest_returns = min([book.default.yellow_returns, *(t.yellow_returns for t in book.custom.values())])
    latest_today = book.default.today
    lit_a = lights.of_assignment(book)
    found = [
        Lit(Subject.assignment, *row[:-1], light=Light(row[-1]))  # type: ignore[misc]
        for row in session.execute(
            select(
                Assignment.id,
                Assignment.campaign_id,
                Campaign.county_id,
                Assignment.unit_id,
                Assignment.item_id,
                Assignment.due_on,
                Assignment.returned_count,
                lit_a,
            )  # fmt: skip
            .join(Campaign, col(Campaign.id) == Assignment.campaign_id)
            .where(
                _live(campaign_ids),
                _supervised(col(Assignment.due_on), latest_today),
                col(Assignment.status).in_(lights.ASSIGNMENT_WAITING),
                # what can be lit at all (the indexes narrow it), then the light itself
                or_(
                    col(Assignment.due_on) < latest_today,
                    col(Assignment.returned_count) >= literal_column(str(int(fewest_returns))),  # see counts.py
                ),
                lit_a.in_([light.value for light in CARD_LIGHTS]),
            )
            .order_by(Assignment.id)
        ).all()
    ]
    lit_r = rectification_light(book)
    # A problem carried into a later campaign is the unit's work there (with its own due date, light and cards); its
    # origin row stays open in the earlier campaign's pool as history, but must not earn a second card or 督办单.
    successor = aliased(Rectification)
    carried_on = exists().where(
        successor.source == RectificationSource.carried.value, successor.source_id == Rectification.id
    )
    found += [
        Lit(Subject.rectification, *row[:-1], light=Light(row[-1]))  # type: ignore[misc]
        for row in session.execute(
            select(
                Rectification.id,
                Rectification.campaign_id,
                Campaign.county_id,
                Rectification.unit_id,
                Rectification.item_id,
                Rectification.due_on,
                Rectification.reopen_count,
                lit_r,
            )  # fmt: skip
            .join(Campaign, col(Campaign.id) == Rectification.campaign_id)
            .where(
                _live(campaign_ids),
                _supervised(col(Rectification.due_on), latest_today),
                col(Rectification.status).in_(WAITING),
                or_(
                    col(Rectification.due_on) < latest_today,
                    col(Rectification.reopen_count) >= literal_column(str(int(fewest_returns))),
                ),
                ~carried_on,
                lit_r.in_([light.value for light in CARD_LIGHTS]),
            )
            .order_by(Rectification.id)
        ).all()
    ]
    return found


def card_key(task: Lit) -> str:
    """The one key of a light's change: the same task, light and due date never earns a second card or event."""
    return f"{task.subject.value}:{task.subject_id}:{task.light.value}:{task.due_on.isoformat()}"


def _insert_card(session: Session, task: Lit, *, points: float, today: date) -> int | None:
    """The new card's id, or None when the key was taken (by an earlier scan or a scan running beside this one)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(SupervisionCard)
        .values(
            key=card_key(task),
            campaign_id=task.campaign_id,
            county_id=task.county_id,
            unit_id=task.unit_id,
            subject=task.subject.value,
            subject_id=task.subject_id,
            item_id=task.item_id,
            light=task.light.value,
            points=points,
            due_on=task.due_on,
            returned_count=task.returned_count,
            issued_on=today,
            created_at=utcnow(),
        )  # fmt: skip
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(SupervisionCard.id)
    )
    return session.execute(statement).scalar_one_or_none()


@dataclass(frozen=True)
class _Contacts:
    """Who hears of a unit's yellow light: its unit's name, leader in charge, and active liaisons."""

    names: dict[int, str]
    leaders: dict[int, str | None]
    liaisons: dict[int, list[str]]


def _contacts(session: Session, unit_ids: set[int]) -> _Contacts:
    units = session.exec(select(Unit.id, Unit.name, Unit.leader_contact).where(col(Unit.id).in_(unit_ids))).all()
    liaisons: dict[int, list[str]] = {u: [] for u in unit_ids}
    for unit_id, name in session.exec(
        select(User.unit_id, User.display_name)
        .where(User.role == Role.liaison, col(User.is_active).is_(True), col(User.unit_id).in_(unit_ids))
        .order_by(User.id)
    ).all():
        liaisons[unit_id].append(name)  # type: ignore[index]
    return _Contacts(
        names={u: n for u, n, _ in units}, leaders={u: leader for u, _, leader in units}, liaisons=liaisons
    )


def _rules(session: Session, campaign_ids: set[int]) -> dict[int, SupervisionRules]:
    docs = session.exec(select(Campaign.id, Campaign.supervision).where(col(Campaign.id).in_(campaign_ids))).all()
    return {c: lights.rules_of(doc) for c, doc in docs}  # type: ignore[misc]


def scan(session: Session, *, today: date, campaign_ids: list[int] | None = None) -> int:
    """Give today's yellow and red cards (with their events and 督办单) and escalate unanswered 督办单 again, in every
    live campaign (or the ones named); how many cards and escalations were new. One that cannot be written is logged
    and skipped (in a savepoint)."""
    book = lights.book(session, today=today)
    calendar = workdays.read(session)
    tasks = lit_tasks(session, book=book, campaign_ids=campaign_ids)
    rules = _rules(session, {t.campaign_id for t in tasks})
    contacts = _contacts(session, {t.unit_id for t in tasks}) if tasks else _Contacts({}, {}, {})
    made = 0
    for task in tasks:
        try:
            with session.begin_nested():
                made += _card(session, task, rules[task.campaign_id], today, calendar, contacts)
        except Exception:  # noqa: BLE001 - one bad card must not stop the others (or the worker)
            log.exception("supervision card %s skipped", card_key(task))
    return made + escalate_unanswered(session, today=today, campaign_ids=campaign_ids)


def _card(
    session: Session,
    task: Lit,
    rules: SupervisionRules,
    today: date,
    calendar: workdays.WorkCalendar,
    contacts: _Contacts,
) -> int:
    red = task.light == Light.red
    card_id = _insert_card(session, task, points=rules.red_points if red else rules.yellow_points, today=today)
    if card_id is None:
        return 0
    data: dict[str, Any] = {
        "card_id": card_id,
        "subject": task.subject.value,
        "subject_id": task.subject_id,
        "unit_id": task.unit_id,
        "unit_name": contacts.names.get(task.unit_id, ""),
        "item_id": task.item_id,
        "light": task.light.value,
        "due_on": task.due_on.isoformat(),
        "overdue_workdays": calendar.between(task.due_on, today) if task.due_on < today else 0,
        "returned_count": task.returned_count,
        "points": rules.red_points if red else rules.yellow_points,
    }
    if task.subject == Subject.assignment:
        data["assignment_id"] = task.subject_id
    if not red:
        data["liaisons"] = contacts.liaisons.get(task.unit_id, [])
        data["leader_contact"] = contacts.leaders.get(task.unit_id)
        kind = EventKind.light_yellow
    else:
        notice = notices.issue(session, card_id=card_id, task=task, today=today)
        data["notice_id"] = notice.id
        data["notice_number"] = notices.number_label(notice)
        data["acknowledge_by"] = calendar.add(today, rules.acknowledge_within_workdays, DayUnit.workdays).isoformat()
        kind = EventKind.light_red
    events.emit(
        session,
        kind=kind,
        county_id=task.county_id,
        campaign_id=task.campaign_id,
        data=data,
        dedupe_key=f"card:{card_key(task)}",
    )
    return 1


def escalate_unanswered(session: Session, *, today: date, campaign_ids: list[int] | None = None) -> int:
    """Escalate again every 督办单 of a live campaign without its 回执 N working days after it was issued (or last
    escalated); the rows are locked, so two scans at once escalate each once."""
    calendar = workdays.read(session)
    rows = session.exec(
        select(SupervisionNotice, Campaign.supervision)
        .join(Campaign, col(Campaign.id) == SupervisionNotice.campaign_id)
        .join(SupervisionCard, col(SupervisionCard.id) == SupervisionNotice.card_id)
        .where(
            col(SupervisionNotice.acknowledged_at).is_(None),
            _live(campaign_ids),
            _supervised(col(SupervisionCard.due_on), today),
        )
        .order_by(SupervisionNotice.id)
        .with_for_update(of=SupervisionNotice)  # type: ignore[arg-type]
        .execution_options(populate_existing=True)
    ).all()
    made = 0
    for notice, doc in rows:
        rules = lights.rules_of(doc)  # type: ignore[arg-type]
        since = notice.last_escalated_on or notice.issued_on
        if calendar.between(since, today) < rules.acknowledge_within_workdays:
            continue
        notice.escalations += 1
        notice.last_escalated_on = today
        session.add(notice)
        session.flush()
        events.emit(
            session,
            kind=EventKind.notice_escalated,
            county_id=notice.county_id,
            campaign_id=notice.campaign_id,
            data={
                "notice_id": notice.id,
                "notice_number": notices.number_label(notice),
                "unit_id": notice.unit_id,
                "issued_on": notice.issued_on.isoformat(),
                "escalations": notice.escalations,
                "workdays": rules.acknowledge_within_workdays,
            },
            dedupe_key=f"notice:{notice.id}:escalation:{notice.escalations}",
        )
        made += 1
    return made
