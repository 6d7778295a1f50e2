"""The State Council's holiday notices, loaded by an admin (CLI or REST) year by year, stored and audited.

A loaded year wins over the built-in calendar for that year; reloading a year replaces it whole.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

from pydantic import ValidationError
from sqlmodel import Session, col, delete, select

from app.models.calendar import (
    CalendarDay,
    CalendarYear,
    CalendarYearFile,
    CalendarYearIn,
    CalendarYearPublic,
    DayKind,
    Festival,
)
from app.models.user import Role
from app.services.access import Principal
from app.services.calendar import workdays
from app.services.errors import Forbidden, Invalid, invalid_from
from app.services.messages import problem
from app.services.platform import audit

# A notice may name a few days of the neighbouring years (元旦 across the year end, an early 春节 调休).
_SLACK = timedelta(days=31)


def _days(year: int, festivals: list[Festival]) -> dict[date, tuple[DayKind, str]]:
    """Every date the notice names, checked: inside the year (give or take a month), named once, make-up
    workdays on a weekend."""
    first, last = date(year, 1, 1) - _SLACK, date(year, 12, 31) + _SLACK
    out: dict[date, tuple[DayKind, str]] = {}
    problems: list[dict[str, str]] = []
    for n, f in enumerate(festivals):
        at = ("festivals", n)
        if sum(g.name == f.name for g in festivals) > 1:
            problems.append(problem((*at, "name"), f"节日“{f.name}”出现了不止一次"))
        named = [
            (f.holiday_from + timedelta(days=i), DayKind.holiday)
            for i in range((f.holiday_to - f.holiday_from).days + 1)
        ]
        named += [(d, DayKind.workday) for d in f.make_up_workdays]
        for day, kind in named:
            if not first <= day <= last:
                problems.append(problem(at, f"{f.name} {day.isoformat()} 不在 {year} 年的通知范围内"))
            elif day in out:
                problems.append(problem(at, f"{f.name} {day.isoformat()} 已在“{out[day][1]}”中出现"))
            elif kind == DayKind.workday and day.weekday() < 5:
                problems.append(
                    problem((*at, "make_up_workdays"), f"{f.name}调休上班日 {day.isoformat()} 不是周六或周日")
                )
            else:
                out[day] = (kind, f.name)
    if problems:
        raise Invalid(f"{year} 年节假日安排有误，未载入", code="calendar_year_invalid", errors=problems, in_body=True)
    return out


def _festival_of(festivals: list[Festival], day: date) -> int:
    """The position of the festival that names day."""
    return next(
        n for n, f in enumerate(festivals) if f.holiday_from <= day <= f.holiday_to or day in f.make_up_workdays
    )


def _public(row: CalendarYear, days: list[CalendarDay]) -> CalendarYearPublic:
    holidays: dict[str, list[date]] = defaultdict(list)
    worked: dict[str, list[date]] = defaultdict(list)
    for d in sorted(days, key=lambda d: d.day):
        (worked if d.kind == DayKind.workday else holidays)[d.festival].append(d.day)
    names = list(dict.fromkeys([*holidays, *worked]))
    festivals = [
        Festival(
            name=n,
            holiday_from=min(holidays[n] or worked[n]),
            holiday_to=max(holidays[n] or worked[n]),
            make_up_workdays=worked[n],
        )
        for n in names
    ]
    return CalendarYearPublic(
        year=row.year,
        title=row.title,
        document_number=row.document_number,
        published_on=row.published_on,
        source_url=row.source_url,
        festivals=festivals,
        loaded_by=row.loaded_by,
        loaded_at=row.loaded_at,
        holidays=sum(len(v) for v in holidays.values()),
        make_up_workdays=sum(len(v) for v in worked.values()),
    )


def load_year(session: Session, *, year: int, data: CalendarYearIn, principal: Principal | None) -> CalendarYearPublic:
    """Store (or replace) a year's holiday notice; an admin only (principal None: the command line)."""
    if principal is not None and principal.role != Role.system_admin:
        raise Forbidden("只有系统管理员可以载入节假日安排", code="admin_only")
    if not 2000 <= year <= 2100:
        raise Invalid("年份应在 2000—2100 之间", code="calendar_year_invalid")
    days = _days(year, data.festivals)
    taken = session.exec(
        select(CalendarDay.day, CalendarDay.year).where(col(CalendarDay.day).in_(days), CalendarDay.year != year)
    ).all()
    if taken:
        raise Invalid(
            f"{year} 年节假日安排有误，未载入",
            code="calendar_year_invalid",
            errors=[
                problem(("festivals", _festival_of(data.festivals, d)), f"{d.isoformat()} 已由 {y} 年的通知安排")
                for d, y in taken
            ],
            in_body=True,
        )
    row = session.get(CalendarYear, year)
    before = audit.snapshot(_public(row, _stored_days(session, year))) if row is not None else None
    if row is not None:
        session.execute(delete(CalendarDay).where(col(CalendarDay.year) == year))
        session.delete(row)
        session.flush()
    row = CalendarYear(
        year=year,
        title=data.title,
        document_number=data.document_number,
        published_on=data.published_on,
        source_url=data.source_url,
        loaded_by=principal.user_id if principal else None,
    )
    session.add(row)
    session.flush()
    stored = [CalendarDay(day=d, year=year, kind=kind, festival=name) for d, (kind, name) in sorted(days.items())]
    session.add_all(stored)
    session.flush()
    workdays.forget(session)
    public = _public(row, stored)
    audit.record(
        session,
        principal=principal,
        action="calendar.year.load",
        object_type="calendar_year",
        object_id=year,
        before=before,
        after=audit.snapshot(public),
    )
    return public


def _stored_days(session: Session, year: int) -> list[CalendarDay]:
    return list(session.exec(select(CalendarDay).where(CalendarDay.year == year)).all())


def list_years(session: Session) -> list[CalendarYearPublic]:
    """Every loaded year, oldest first (two statements)."""
    rows = session.exec(select(CalendarYear).order_by(CalendarYear.year)).all()
    days: dict[int, list[CalendarDay]] = defaultdict(list)
    for d in session.exec(select(CalendarDay)).all():
        days[d.year].append(d)
    return [_public(r, days[r.year]) for r in rows]


def parse_file(path: Path) -> CalendarYearFile:
    """A holiday notice data file (data/calendar/*.json), validated."""
    try:
        return CalendarYearFile.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        raise invalid_from(exc, f"节假日安排文件 {path.name} 的内容不符合要求", code="calendar_file_invalid") from exc
    except OSError as exc:
        raise Invalid(
            f"无法读取节假日安排文件 {path.name}：{exc.strerror or exc}", code="calendar_file_invalid"
        ) from exc


def load_file(session: Session, *, path: Path, principal: Principal | None = None) -> CalendarYearPublic:
    """Load a data file's year (the command line: `shifan calendar load FILE`)."""
    doc = parse_file(path)
    return load_year(session, year=doc.year, data=CalendarYearIn.model_validate(doc.model_dump()), principal=principal)
