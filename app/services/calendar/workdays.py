"""Working days (工作日) on China's official calendar: weekends, public holidays and 调休 make-up days.

The calendar data comes from the maintained `chinesecalendar` package, which covers the years the
State Council has published. A date outside them is an error, never a guess: a weekend-only count
would silently be wrong around 春节 and 国庆.
"""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
from chinese_calendar.constants import holidays as _holidays
from chinese_calendar.constants import workdays as _workdays

from app.models.campaign import DayUnit, DueIn
from app.services.errors import Invalid

FIRST_YEAR = min(d.year for d in (*_holidays, *_workdays))
LAST_YEAR = max(d.year for d in (*_holidays, *_workdays))


def _covered(day: date) -> None:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise Invalid(
            f"工作日历只覆盖 {FIRST_YEAR}—{LAST_YEAR} 年，{day.isoformat()} 超出范围；"
            "请改用自然日，或待日历更新后再按工作日计算",
            code="calendar_out_of_range",
        )


def is_workday(day: date) -> bool:
    """True on a working day (a 调休 Saturday counts, a holiday weekday does not)."""
    _covered(day)
    return bool(chinese_calendar.is_workday(day))


def add(start: date, days: int, unit: DayUnit) -> date:
    """The date `days` calendar days or working days after start (start itself not counted)."""
    if unit == DayUnit.calendar or days == 0:
        return start + timedelta(days=days)
    step = 1 if days > 0 else -1
    day, left = start, abs(days)
    while left:
        day += timedelta(days=step)
        if is_workday(day):
            left -= 1
    return day


def between(start: date, end: date) -> int:
    """Working days after start up to and including end (0 when end is not after start)."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += is_workday(day)
    return count


def resolve(due_in: DueIn, today: date) -> date:
    """The date a DueIn names."""
    return add(due_in.from_date or today, due_in.days, due_in.unit)
