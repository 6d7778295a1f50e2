"""The State Council's annual holiday notices (国务院办公厅关于某年部分节假日安排的通知) as data: one row per
loaded year, one row per date it makes a holiday or a 调休 make-up workday."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import model_validator
from sqlalchemy import String
from sqlmodel import Field, SQLModel

from app.models._base import created_at_field
from app.models.text import Line, WebUrl


class DayKind(StrEnum):
    holiday = "holiday"  # 放假: no work, even on a weekday
    workday = "workday"  # 上班: a 调休 weekend day that is worked


class CalendarYear(SQLModel, table=True):
    """A year whose holiday notice was loaded; it wins over the built-in calendar for that year."""

    __tablename__ = "calendar_year"
    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    title: str = Field(max_length=200)
    document_number: str | None = Field(default=None, max_length=50)
    published_on: date | None = None
    source_url: str | None = Field(default=None, max_length=500)
    loaded_by: int | None = Field(default=None, foreign_key="app_user.id")
    loaded_at: datetime = created_at_field()


class CalendarDay(SQLModel, table=True):
    """One date a loaded notice makes a holiday or a make-up workday (every other date: Monday–Friday work)."""

    __tablename__ = "calendar_day"
    day: date = Field(primary_key=True)
    year: int = Field(foreign_key="calendar_year.year", index=True)
    kind: str = Field(sa_type=String(8))
    festival: str = Field(max_length=20)


class Festival(SQLModel):
    """One paragraph of the notice: 春节 2月15日至23日放假调休，2月14日、2月28日上班."""

    name: Line = Field(min_length=1, max_length=20)
    holiday_from: date
    holiday_to: date
    make_up_workdays: list[date] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _ordered(self) -> Festival:
        if self.holiday_to < self.holiday_from:
            raise ValueError(f"{self.name}：放假结束日期早于开始日期")
        if (self.holiday_to - self.holiday_from).days > 15:
            raise ValueError(f"{self.name}：放假时段超过 16 天，请核对通知")
        return self


class CalendarYearIn(SQLModel):
    """Body of PUT /calendar/years/{year} (and a data/calendar/*.json file, which also names its year)."""

    title: Line = Field(min_length=1, max_length=200)
    document_number: Line | None = Field(default=None, max_length=50)
    published_on: date | None = None
    source_url: WebUrl | None = Field(default=None, max_length=500)
    festivals: list[Festival] = Field(min_length=1, max_length=20)


class CalendarYearFile(CalendarYearIn):
    """A holiday notice as a data file: the body of the PUT with its year."""

    year: int = Field(ge=2000, le=2100)


class CalendarYearPublic(CalendarYearIn):
    """A loaded year as the API shows it."""

    year: int
    loaded_by: int | None
    loaded_at: datetime
    holidays: int  # dates off
    make_up_workdays: int  # weekend dates worked
