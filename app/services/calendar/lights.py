"""Warning lights (预警灯), computed in SQL from what is stored — the due date, the status and how often the work was
returned — and never stored themselves: a light is what today makes of the state, like the overdue flag.

The working-day counting happens once per request, in Python, on the loaded calendar: the rules' working-day spans
become three dates (the last day still 蓝, the first day overdue, the last due date that is not yet 红), so the
SQL only compares dates and counts; a list, a filter and a count use the same CASE expression.

    red     waiting on the unit and due before red_before (overdue by more than N working days),
            or returned at least red_returns times
    yellow  waiting and due before today (overdue at all), or returned at least yellow_returns times
    blue    waiting and due on or before blue_until (within N working days)
    none    otherwise (done, waiting on the office, or far from its date)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, bindparam, case, literal, or_
from sqlmodel import Session, col, select

from app.models import Assignment, Campaign
from app.models.campaign import AssignmentStatus, DayUnit
from app.models.supervision import Light, SupervisionRules
from app.services.calendar import workdays

DEFAULT = SupervisionRules()


@dataclass(frozen=True)
class Thresholds:
    """One campaign's rules turned into dates for one day."""

    today: date
    blue_until: date  # due on or before: 蓝
    red_before: date  # due before: 红 (overdue by more than yellow_overdue_workdays working days)
    yellow_returns: int
    red_returns: int
    provisional: bool  # a span crossed a year whose holidays nobody has loaded


def thresholds(calendar: workdays.WorkCalendar, rules: SupervisionRules, today: date) -> Thresholds:
    """The rules' working-day spans as dates around today."""
    blue_until = calendar.add(today, rules.blue_within_workdays, DayUnit.workdays)
    # Walking back from today (counted), the (N+1)th working day: a due date before it is more than N working days
    # late (between(due, today) > N); one on or after it is at most N.
    red_before = calendar.add(today + timedelta(days=1), -(rules.yellow_overdue_workdays + 1), DayUnit.workdays)
    return Thresholds(
        today=today,
        blue_until=blue_until,
        red_before=red_before,
        yellow_returns=rules.yellow_returns,
        red_returns=rules.red_returns,
        provisional=calendar.provisional(red_before, blue_until),
    )


def _case(t: Thresholds, due: Any, waiting: ColumnElement[bool], returned: Any) -> ColumnElement[str]:
    return case(
        (~waiting, literal(Light.none.value)),
        (or_(due < t.red_before, returned >= t.red_returns), literal(Light.red.value)),
        (or_(due < t.today, returned >= t.yellow_returns), literal(Light.yellow.value)),
        (due <= t.blue_until, literal(Light.blue.value)),
        else_=literal(Light.none.value),
    )


@dataclass(frozen=True)
class LightBook:
    """The thresholds of the day for every campaign with rules of its own, and for the rest (the defaults)."""

    default: Thresholds
    custom: Mapping[int, Thresholds]

    @property
    def provisional(self) -> bool:
        """True when some campaign's spans crossed a year nobody has loaded."""
        return self.default.provisional or any(t.provisional for t in self.custom.values())

    def expression(
        self, *, campaign: Any, due: Any, waiting: ColumnElement[bool], returned: Any = 0
    ) -> ColumnElement[str]:
        """SQL: the light of a row (its campaign id, due date, whether it waits on the unit, returns so far)."""
        plain = _case(self.default, due, waiting, returned)
        if not self.custom:
            return plain
        return case(
            *((campaign == campaign_id, _case(t, due, waiting, returned)) for campaign_id, t in self.custom.items()),
            else_=plain,
        )

    def bound_shape(self) -> tuple[int, ...]:
        """What bound_expression's SQL depends on: the campaigns with rules of their own (the day does not)."""
        return tuple(sorted(self.custom))

    def bound_expression(
        self, *, campaign: Any, due: Any, waiting: ColumnElement[bool], returned: Any = 0
    ) -> ColumnElement[str]:
        """expression() with every threshold a named bindparam (their values: bind_values()), so a statement compiled
        once serves every day and every change of rules that keeps bound_shape()."""
        plain = _case(_bound("light"), due, waiting, returned)
        if not self.custom:
            return plain
        return case(
            *((campaign == c, _case(_bound(f"light_{c}"), due, waiting, returned)) for c in self.bound_shape()),
            else_=plain,
        )

    def bind_values(self) -> dict[str, Any]:
        """The values of bound_expression's bindparams."""
        values = _values("light", self.default)
        for c, t in self.custom.items():
            values.update(_values(f"light_{c}", t))
        return values


_BOUND = ("today", "blue_until", "red_before", "yellow_returns", "red_returns")


def _bound(prefix: str) -> Any:
    """A Thresholds stand-in whose fields are named bindparams (_case reads the same attributes)."""
    return SimpleNamespace(**{f: bindparam(f"{prefix}_{f}") for f in _BOUND})


def _values(prefix: str, t: Thresholds) -> dict[str, Any]:
    return {f"{prefix}_{f}": getattr(t, f) for f in _BOUND}


def rules_of(stored: dict[str, Any] | None) -> SupervisionRules:
    """A campaign's rules from its stored document (None: the defaults)."""
    return SupervisionRules.model_validate(stored) if stored else DEFAULT


def book(session: Session, *, today: date, where: ColumnElement[bool] | None = None) -> LightBook:
    """Today's LightBook for the campaigns with rules of their own (those matching `where`, a condition on
    Campaign; every one when None), in one statement."""
    query = select(Campaign.id, Campaign.supervision).where(col(Campaign.supervision).is_not(None))
    if where is not None:
        query = query.where(where)
    calendar = workdays.read(session)
    custom = {c: rules_of(doc) for c, doc in session.exec(query).all()}
    return LightBook(
        default=thresholds(calendar, DEFAULT, today),
        custom={c: thresholds(calendar, r, today) for c, r in custom.items() if r != DEFAULT},  # type: ignore[misc]
    )


# Assignment statuses that still wait on the unit (campaign.assignments.OPEN, the overdue flag's, is this).
ASSIGNMENT_WAITING = (AssignmentStatus.not_started, AssignmentStatus.returned)


def waiting(status: Any) -> ColumnElement[bool]:
    """SQL: an assignment status column still waits on the unit (ASSIGNMENT_WAITING), each status its own bound value
    rather than one expanding list: a statement compiled once then has fixed SQL, with no list to expand on every
    run (issue 28)."""
    return status.in_([literal(s.value) for s in ASSIGNMENT_WAITING])


def of_assignment(book: LightBook) -> ColumnElement[str]:
    """SQL: an assignment's light today by its campaign's rules (the to-do list, ledgers, feeds, counts)."""
    return book.expression(
        campaign=col(Assignment.campaign_id),
        due=col(Assignment.due_on),
        waiting=waiting(col(Assignment.status)),
        returned=col(Assignment.returned_count),
    )
