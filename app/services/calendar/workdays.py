"""Working days (工作日) on China's official calendar: weekends, public holidays and 调休 make-up days.

Where the dates come from, per year: a holiday notice an admin loaded (calendar_year, see holidays.py)
wins; else the maintained `chinesecalendar` package for the years it knows; else, for a year nobody
has published yet, weekends only. An answer that needed such a year is *provisional* and says so, so a
list or a board never fails because its horizon crosses the year end.

One WorkCalendar is read per session (request) in one statement and kept on the session: counting days
never queries per day. A read-only request takes the one its process keeps for the database's read generation
(app/kept.py): no statement at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar
from chinese_calendar.constants import holidays as _holidays
from chinese_calendar.constants import workdays as _workdays
from sqlmodel import Session, col, select

from app import kept
from app.db import session_scope
from app.models.calendar import CalendarDay, CalendarYear, DayKind
from app.models.campaign import DayUnit, DueIn
from app.services.errors import Invalid

# The widest "due within N working days" window a list or a deadline board counts (three months of working
# days): the calendar walks day by day, so an unbounded one is work without end for one request.
MAX_WITHIN_WORKDAYS = 60

log = logging.getLogger("shifan.calendar")
LIBRARY_FIRST_YEAR = min(d.year for d in (*_holidays, *_workdays))
LIBRARY_LAST_YEAR = max(d.year for d in (*_holidays, *_workdays))
_SESSION_KEY = "shifan.work_calendar"
# How far ahead a missing year is worth a warning: the longest horizon a list or board takes (60 working days).
WARN_AHEAD = timedelta(days=90)


@dataclass(frozen=True)
class WorkCalendar:
    """The loaded years and their notices' special dates (date → is a workday), over the library's years."""

    loaded: frozenset[int]
    special: dict[date, bool]

    def source(self, year: int) -> str:
        """Where the year's dates come from: 'notice' (loaded), 'library', or 'weekends' (provisional)."""
        if year in self.loaded:
            return "notice"
        if LIBRARY_FIRST_YEAR <= year <= LIBRARY_LAST_YEAR:
            return "library"
        return "weekends"

    def known(self, year: int) -> bool:
        """True when the year's holidays are known (loaded or in the library)."""
        return self.source(year) != "weekends"

    def is_workday(self, day: date) -> bool:
        """True on a working day (a 调休 Saturday counts, a holiday weekday does not)."""
        if day in self.special:
            return self.special[day]
        if day.year in self.loaded:
            return day.weekday() < 5
        if LIBRARY_FIRST_YEAR <= day.year <= LIBRARY_LAST_YEAR:
            return bool(chinese_calendar.is_workday(day))
        return day.weekday() < 5

    def add(self, start: date, days: int, unit: DayUnit) -> date:
        """The date `days` calendar days or working days after start (start itself not counted)."""
        try:
            return self._add(start, days, unit)
        except OverflowError:
            raise Invalid("计算出的日期超出可表示的范围，请检查起始日期", code="date_out_of_range") from None

    def _add(self, start: date, days: int, unit: DayUnit) -> date:
        if unit == DayUnit.calendar or days == 0:
            return start + timedelta(days=days)
        step = 1 if days > 0 else -1
        day, left = start, abs(days)
        while left:
            day += timedelta(days=step)
            if self.is_workday(day):
                left -= 1
        return day

    def between(self, start: date, end: date) -> int:
        """Working days after start up to and including end (0 when end is not after start)."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_workday(day)
        return count

    def resolve(self, due_in: DueIn, today: date) -> date:
        """The date a DueIn names."""
        return self.add(due_in.from_date or today, due_in.days, due_in.unit)

    def provisional(self, start: date, end: date, unit: DayUnit = DayUnit.workdays) -> bool:
        """True when counting working days between the two dates needed a year nobody has published."""
        if unit == DayUnit.calendar:
            return False
        low, high = min(start, end), max(start, end)
        return any(not self.known(year) for year in range(low.year, high.year + 1))

    def unknown_years(self, *years: int) -> list[int]:
        """The given years whose holidays are not known (counted as weekends only)."""
        return sorted({y for y in years if not self.known(y)})


def read(session: Session) -> WorkCalendar:
    """The calendar as stored, read once per session (one statement for every loaded year); a read-only request's
    is kept by the process for the database's read generation (app/kept.py)."""
    cached = session.info.get(_SESSION_KEY)
    if isinstance(cached, WorkCalendar):
        return cached
    calendar = kept.kept(session, ("work_calendar",), lambda: _load(session))  # a read-only request: per process
    session.info[_SESSION_KEY] = calendar
    return calendar


def _load(session: Session) -> WorkCalendar:
    rows = session.exec(
        select(CalendarYear.year, CalendarDay.day, CalendarDay.kind).outerjoin(
            CalendarDay, col(CalendarDay.year) == CalendarYear.year
        )
    ).all()
    return WorkCalendar(
        loaded=frozenset(year for year, _, _ in rows),
        special={day: kind == DayKind.workday for _, day, kind in rows if day is not None},
    )


def warnings(session: Session, *, today: date) -> list[str]:
    """What an operator should know: a year within WARN_AHEAD whose holidays nobody has loaded."""
    missing = read(session).unknown_years(today.year, (today + WARN_AHEAD).year)
    return [
        f"{year} 年节假日安排尚未载入：该年暂按周末计算工作日，相关截止日期标为临时（provisional）；"
        f"国务院办公厅通知发布后请管理员载入（shifan calendar load 文件，或 PUT /api/v1/calendar/years/{year}）"
        for year in missing
    ]


def readiness_warnings(*, today: date) -> list[str]:
    """The warnings, read in a session of their own (for /readyz and the worker); none when the read fails."""
    try:
        with session_scope() as session:
            return warnings(session, today=today)
    except Exception:  # noqa: BLE001 - a warning must never make a probe or the worker fail
        log.warning("could not read the holiday calendar", exc_info=True)
        return []


def forget(session: Session) -> None:
    """Drop the session's calendar (after a year was loaded in it)."""
    session.info.pop(_SESSION_KEY, None)
