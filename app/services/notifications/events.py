"""The outbox: events written in the caller's transaction, fanned out to matching webhooks.

Change events (evidence returned/approved, scores released) are emitted by the service that makes
the change, so the event exists exactly when the change committed. Deadline reminders are found by
a scan that any number of instances may run: each reminder has a dedupe key, and the insert skips a
key that already exists instead of failing.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app.models import Assignment, Campaign, Unit
from app.models._base import utcnow
from app.models.campaign import CampaignStatus, DayUnit
from app.models.evidence import EvidenceStatus
from app.models.outbox import Delivery, EventKind, OutboxEvent, Webhook
from app.services.calendar import workdays
from app.services.campaign.assignments import OPEN

log = logging.getLogger("shifan.worker")


def emit(
    session: Session,
    *,
    kind: EventKind,
    county_id: int,
    campaign_id: int | None,
    data: dict[str, Any],
    dedupe_key: str | None = None,
) -> OutboxEvent | None:
    """Write an event and one pending delivery per subscribed webhook; None if dedupe_key was already used."""
    values = {
        "event_id": str(uuid.uuid4()),
        "kind": kind.value,
        "county_id": county_id,
        "campaign_id": campaign_id,
        "dedupe_key": dedupe_key,
        "data": data,
        "created_at": utcnow(),
    }
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(OutboxEvent)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OutboxEvent.id)
    )
    event_id = session.execute(statement).scalar_one_or_none()
    if event_id is None:
        return None
    hooks = session.exec(select(Webhook).where(Webhook.county_id == county_id, col(Webhook.active).is_(True))).all()
    session.add_all(
        Delivery(event_id=event_id, webhook_id=h.id)  # type: ignore[arg-type]
        for h in hooks
        if not h.kinds or kind.value in h.kinds
    )
    session.flush()
    return session.get(OutboxEvent, event_id)


def scan_deadlines(session: Session, *, today: date, within_workdays: int) -> int:
    """Emit due-soon and overdue reminders, one per (campaign, unit, due date); returns how many were new.
    One reminder that cannot be written is logged and skipped (in a savepoint), never the whole scan."""
    calendar = workdays.read(session)
    until = calendar.add(today, within_workdays, DayUnit.workdays)
    rows = session.exec(
        select(Assignment.id, Assignment.campaign_id, Assignment.unit_id, Assignment.due_on, Campaign.county_id)
        .join(Campaign, col(Campaign.id) == Assignment.campaign_id)
        .where(
            Campaign.status == CampaignStatus.launched,
            col(Campaign.frozen_at).is_(None),
            col(Assignment.status).in_(OPEN),
            col(Assignment.due_on) <= until,
        )
    ).all()
    groups: dict[tuple[int, int, int, date], list[int]] = defaultdict(list)
    for assignment_id, campaign_id, unit_id, due_on, county_id in rows:
        groups[(county_id, campaign_id, unit_id, due_on)].append(assignment_id)
    names = dict(session.exec(select(Unit.id, Unit.name).where(col(Unit.id).in_({k[2] for k in groups}))).all())
    created = 0
    for (county_id, campaign_id, unit_id, due_on), ids in sorted(groups.items()):
        kind = EventKind.overdue if due_on < today else EventKind.due_soon
        key = f"{kind.value}:{campaign_id}:{unit_id}:{due_on.isoformat()}"
        try:
            with session.begin_nested():
                data: dict[str, Any] = {
                    "unit_id": unit_id,
                    "unit_name": names.get(unit_id, ""),
                    "due_on": due_on.isoformat(),
                    "count": len(ids),
                    "assignment_ids": sorted(ids),
                }
                if kind == EventKind.due_soon:
                    data["workdays_left"] = calendar.between(today, due_on)
                    if calendar.provisional(today, due_on):
                        data["provisional"] = True
                event = emit(
                    session, kind=kind, county_id=county_id, campaign_id=campaign_id, data=data, dedupe_key=key
                )
        except Exception:  # noqa: BLE001 - one bad reminder must not stop the others (or the worker)
            log.exception("reminder %s skipped", key)
            continue
        created += event is not None
    return created


def review_event(status_after: EvidenceStatus) -> EventKind | None:
    """The event a review raises, from the evidence status it leads to (a reopen is a return too)."""
    return {
        EvidenceStatus.returned: EventKind.evidence_returned,
        EvidenceStatus.approved: EventKind.evidence_approved,
    }.get(status_after)
