"""The assignment tally: counts per campaign × unit × status × due date, which database triggers keep in the
same transaction as every change to an assignment (migration 0009a). Reading it instead of the assignments
makes a region overview sum a few hundred rows per county, however many assignments each has."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy import ColumnElement, and_, case, func
from sqlmodel import Session, col, select

from app.models import Assignment, AssignmentTally, Campaign
from app.models.campaign import AssignmentStatus
from app.services.access import Principal, campaign_scope, unit_scope
from app.services.campaign.assignments import OPEN

_KEY = (Assignment.campaign_id, Assignment.unit_id, Assignment.status, Assignment.due_on)


def _sum(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, AssignmentTally.n), else_=0)), 0)


def campaign_counts(
    session: Session, *, campaign_ids: list[int], principal: Principal, today: date
) -> dict[int, list[int]]:
    """Per campaign the caller may read: [total, one count per AssignmentStatus in order, overdue], over the
    assignments the caller may see; a campaign with none has no entry."""
    status = col(AssignmentTally.status)
    overdue = and_(status.in_(OPEN), col(AssignmentTally.due_on) < today)
    found = session.execute(
        select(
            AssignmentTally.campaign_id,
            func.sum(AssignmentTally.n),
            *(_sum(status == s) for s in AssignmentStatus),
            _sum(overdue),
        )
        .join(Campaign, col(Campaign.id) == AssignmentTally.campaign_id)
        .where(
            col(AssignmentTally.campaign_id).in_(campaign_ids),
            campaign_scope(principal),
            unit_scope(principal, col(AssignmentTally.unit_id)),
        )
        .group_by(AssignmentTally.campaign_id)
        .having(func.sum(AssignmentTally.n) > 0)
    ).all()
    return {key: [int(v) for v in counts] for key, *counts in found}


def recount(session: Session) -> list[tuple[int, int, str, date, int]]:
    """The tally as it should be, counted from the assignments (for checks and tests)."""
    rows = session.execute(select(*_KEY, func.count()).group_by(*_KEY).order_by(*_KEY)).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def rebuild(session: Session) -> None:
    """Count the whole tally again from the assignments: after rows were written with the triggers off (a
    bulk load), or to repair it. On PostgreSQL the assignments are locked against writes meanwhile (reads go
    on): an assignment added between the delete and the recount would otherwise be counted twice."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("LOCK TABLE assignment IN SHARE MODE"))
    session.execute(sa.delete(AssignmentTally))
    session.execute(
        sa.insert(AssignmentTally).from_select(
            ["campaign_id", "unit_id", "status", "due_on", "n"], select(*_KEY, func.count()).group_by(*_KEY)
        )
    )
