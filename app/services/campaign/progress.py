"""Progress and the deadline board: counts grouped in the database, one query per grouping."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, case, func, null
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.models import Assignment, FrameworkSection, Heading, Item, Unit
from app.models.campaign import AssignmentStatus, DayUnit
from app.models.progress import DeadlineBoard, DeadlineRow, Grouping, ProgressReport, ProgressRow
from app.services.access import Principal, unit_scope
from app.services.calendar import workdays
from app.services.campaign import campaigns, tally
from app.services.campaign.assignments import due_soon_condition, overdue_condition, status_condition
from app.services.errors import Invalid

MAX_WITHIN_WORKDAYS = workdays.MAX_WITHIN_WORKDAYS
_NO_HEADING = "（未归入一级/二级指标）"
_ALL = "全部"
_STATUSES = list(AssignmentStatus)


def _count(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _grouped(session: Session, *, campaign_id: int, principal: Principal, grouping: Grouping, measures: list[Any]):  # noqa: ANN202
    """Rows of (id, code, label, *measures) for one grouping of the campaign's visible assignments."""
    heading = aliased(Heading)
    key: Any
    label: Any
    order: Any
    code: Any = null()
    query = select(Assignment.id).join(Item, col(Item.id) == Assignment.item_id)
    if grouping == Grouping.campaign:
        key = label = order = Assignment.campaign_id
    elif grouping == Grouping.section:
        query = query.join(FrameworkSection, col(FrameworkSection.id) == Item.section_id)
        key, code, label, order = (
            FrameworkSection.id,
            FrameworkSection.code,
            FrameworkSection.name,
            FrameworkSection.position,
        )
    elif grouping == Grouping.unit:
        query = query.join(Unit, col(Unit.id) == Assignment.unit_id)
        key, label, order = Unit.id, Unit.name, Unit.id
    else:
        column = Item.level1_id if grouping == Grouping.level1 else Item.level2_id
        query = query.outerjoin(heading, col(heading.id) == column)
        key, label, order = column, heading.title, heading.position
    grouped = [key, code, label, order] if grouping == Grouping.section else [key, label, order]
    query = (
        query.with_only_columns(key, code, label, *measures)
        .where(Assignment.campaign_id == campaign_id, unit_scope(principal, col(Assignment.unit_id)))
        .group_by(*grouped)
        .order_by(order, key)
    )
    return session.execute(query).all()  # type: ignore[call-overload]


def _label(grouping: Grouping, label: Any) -> str:
    if grouping == Grouping.campaign:
        return _ALL
    return str(label) if label is not None else _NO_HEADING


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def _row(key: int | None, label: str, total: int, counts: list[Any], code: str | None = None) -> ProgressRow:
    *by_status, overdue = (int(c) for c in counts)
    by = dict(zip(_STATUSES, by_status, strict=True))
    return ProgressRow(
        id=key,
        code=code,
        label=label,
        total=total,
        **{s.value: by[s] for s in _STATUSES},
        overdue=overdue,
        submitted_pct=_pct(by[AssignmentStatus.submitted] + by[AssignmentStatus.approved], total),
        approved_pct=_pct(by[AssignmentStatus.approved], total),
    )


def _measures(today: date) -> list[Any]:
    return [func.count(), *(_count(status_condition(s)) for s in _STATUSES), _count(overdue_condition(today))]


def report(
    session: Session, *, campaign_id: int, principal: Principal, today: date, groupings: list[Grouping]
) -> ProgressReport:
    """Counts and percentages by status per grouping (a liaison's cover only its own unit)."""
    campaigns.get_visible(session, campaign_id=campaign_id, principal=principal)
    groups: dict[Grouping, list[ProgressRow]] = {}
    for grouping in dict.fromkeys(groupings):
        found = _grouped(
            session, campaign_id=campaign_id, principal=principal, grouping=grouping, measures=_measures(today)
        )
        groups[grouping] = [
            _row(key, _label(grouping, label), total, counts, code) for key, code, label, total, *counts in found
        ]
    return ProgressReport(campaign_id=campaign_id, as_of=today, groups=groups)


def by_campaign(
    session: Session, *, campaign_ids: list[int], principal: Principal, today: date
) -> dict[int, ProgressRow]:
    """The campaign-level progress of several campaigns from the assignment tally, in one grouped statement (a
    region overview); a campaign without assignments the caller may see has no entry."""
    found = tally.campaign_counts(session, campaign_ids=campaign_ids, principal=principal, today=today)
    return {key: _row(key, _ALL, total, counts) for key, (total, *counts) in found.items()}


def deadline_board(
    session: Session, *, campaign_id: int, principal: Principal, today: date, within_workdays: int
) -> DeadlineBoard:
    """Overdue, due within N working days, and returned-and-waiting, by unit and by level 1."""
    if not 0 <= within_workdays <= MAX_WITHIN_WORKDAYS:  # REST checks it too; GraphQL's argument is a bare Int
        raise Invalid(f"“即将到期”的工作日数应在 0 到 {MAX_WITHIN_WORKDAYS} 之间", code="within_out_of_range")
    campaigns.get_visible(session, campaign_id=campaign_id, principal=principal)
    calendar = workdays.read(session)
    until = calendar.add(today, within_workdays, DayUnit.workdays)
    measures = [
        _count(overdue_condition(today)),
        _count(due_soon_condition(today, until)),
        _count(col(Assignment.status) == AssignmentStatus.returned),
    ]

    def rows(grouping: Grouping) -> list[DeadlineRow]:
        found = _grouped(session, campaign_id=campaign_id, principal=principal, grouping=grouping, measures=measures)
        return [
            DeadlineRow(id=key, label=_label(grouping, label), overdue=overdue, due_soon=soon, returned=returned)
            for key, _code, label, overdue, soon, returned in found
            if overdue or soon or returned
        ]

    nothing = DeadlineRow(id=campaign_id, label=_ALL, overdue=0, due_soon=0, returned=0)
    totals = rows(Grouping.campaign) or [nothing]
    return DeadlineBoard(
        campaign_id=campaign_id,
        as_of=today,
        due_soon_until=until,
        provisional=calendar.provisional(today, until),
        totals=totals[0],
        by_unit=rows(Grouping.unit),
        by_level1=rows(Grouping.level1),
    )
