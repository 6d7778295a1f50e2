"""督办 (supervision): a campaign's warning-light rules, the yellow and red cards the lights earn a unit, the
numbered 督办单 a red card issues and the unit's 回执, and the office's own .docx template for the 督办单."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, model_validator
from pydantic import Field as PydanticField
from sqlalchemy import Column, LargeBinary, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models._base import UTCDateTime, created_at_field
from app.models.text import Text


class Light(StrEnum):
    """A task's warning light (预警灯); none when nothing is near or late."""

    none = "none"
    blue = "blue"  # 蓝: due soon
    yellow = "yellow"  # 黄: behind (a little late, or returned again and again)
    red = "red"  # 红: long overdue, or returned too many times


LIGHT_LABEL = {Light.none: "", Light.blue: "蓝灯", Light.yellow: "黄灯", Light.red: "红灯"}
CARD_LIGHTS = (Light.yellow, Light.red)


class Subject(StrEnum):
    """What a light or a card is about."""

    assignment = "assignment"  # 任务分工
    rectification = "rectification"  # 整改事项


class SupervisionRules(BaseModel):
    """A campaign's supervision rules (the defaults are the common county practice)."""

    blue_within_workdays: int = PydanticField(default=3, ge=0, le=60, description="蓝灯：N个工作日内到期")
    yellow_returns: int = PydanticField(default=2, ge=1, le=20, description="黄灯：被退回补充达到N次")
    yellow_overdue_workdays: int = PydanticField(
        default=5, ge=0, le=60, description="黄灯：逾期不超过N个工作日；超过即为红灯"
    )
    red_returns: int = PydanticField(default=3, ge=1, le=20, description="红灯：被退回补充达到N次")
    yellow_points: float = PydanticField(default=1, ge=0, le=100, description="每张黄牌扣分")
    red_points: float = PydanticField(default=2, ge=0, le=100, description="每张红牌扣分")
    acknowledge_within_workdays: int = PydanticField(
        default=3, ge=1, le=60, description="督办单下发后N个工作日内未回执的，再次督办"
    )

    @model_validator(mode="after")
    def _ordered(self) -> SupervisionRules:
        if self.red_returns < self.yellow_returns:
            raise ValueError("红灯的退回次数不能少于黄灯的退回次数")
        return self


class SupervisionCard(SQLModel, table=True):
    """A yellow or red card a light earned a unit: once per (object, light, due date), with its deduction."""

    __tablename__ = "supervision_card"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=120, unique=True)  # subject:id:light:due date (the same change never twice)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    county_id: int = Field(foreign_key="region.id")
    unit_id: int = Field(foreign_key="unit.id", index=True)
    subject: str = Field(sa_type=String(16))
    subject_id: int
    item_id: int | None = Field(default=None, foreign_key="item.id")
    light: str = Field(sa_type=String(8))
    points: float  # the deduction the campaign's rules gave at the time
    due_on: date
    returned_count: int = 0
    issued_on: date
    created_at: datetime = created_at_field()


class SupervisionNotice(SQLModel, table=True):
    """A numbered 督办单 (〔2026〕第N号) a red card issued to a unit, and the unit's 回执."""

    __tablename__ = "supervision_notice"
    __table_args__ = (UniqueConstraint("county_id", "year", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    card_id: int = Field(foreign_key="supervision_card.id", unique=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    county_id: int = Field(foreign_key="region.id")
    unit_id: int = Field(foreign_key="unit.id", index=True)
    year: int
    number: int
    issued_on: date
    acknowledged_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    acknowledged_by: int | None = Field(default=None, foreign_key="app_user.id")
    planned_completion_on: date | None = None
    reply: str = ""
    escalations: int = 0  # how often it was escalated again for want of a 回执
    last_escalated_on: date | None = None
    created_at: datetime = created_at_field()


class NoticeCounter(SQLModel, table=True):
    """The last 督办单 number a county gave in a year (numbers are taken under an upsert, never guessed)."""

    __tablename__ = "notice_counter"
    county_id: int = Field(foreign_key="region.id", primary_key=True)
    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last: int = 0


class NoticeTemplate(SQLModel, table=True):
    """A campaign's own .docx for its 督办单 (letterhead, styles); without a row the house style is used."""

    __tablename__ = "notice_template"
    campaign_id: int = Field(foreign_key="campaign.id", primary_key=True)
    filename: str = Field(max_length=200)
    size: int
    sha256: str = Field(max_length=64)
    content: bytes = Field(sa_type=LargeBinary)
    uploaded_by: int = Field(foreign_key="app_user.id")
    uploaded_at: datetime = created_at_field()


class ReceiptCreate(SQLModel):
    """Body of POST /notices/{id}/receipt: the unit's 回执."""

    planned_completion_on: date
    reply: Text = Field(min_length=1, max_length=2000)


class CardPublic(BaseModel):
    """A card as the ranking and the notices show it: which object, which light, when, what it cost."""

    id: int
    subject: Subject
    subject_id: int
    item_id: int | None
    item_label: str = PydanticField(description="指标，如“第26项”")
    light: Light
    points: float
    due_on: date
    returned_count: int
    issued_on: date


class NoticePublic(BaseModel):
    """A 督办单 as the API shows it."""

    id: int
    campaign_id: int
    unit_id: int
    unit_name: str
    number_label: str = PydanticField(description="督办单编号，如〔2026〕第3号")
    year: int
    number: int
    issued_on: date
    acknowledge_by: date = PydanticField(description="应回执日期（工作日计）")
    acknowledged_at: datetime | None
    planned_completion_on: date | None
    reply: str
    escalations: int
    card: CardPublic


class UnitRank(BaseModel):
    """One unit's place in the campaign's assessment of its units, with every deduction's reason."""

    rank: int
    unit_id: int
    unit_name: str
    yellow_cards: int
    red_cards: int
    deducted: float
    deductions: list[CardPublic]


class UnitLights(BaseModel):
    """How many of a unit's assignments and rectification items show each light today."""

    unit_id: int
    unit_name: str
    blue: int = 0
    yellow: int = 0
    red: int = 0


class CampaignLights(BaseModel):
    """Lights of a campaign today, in total and per unit (units with none are left out)."""

    campaign_id: int
    blue: int
    yellow: int
    red: int
    units: list[UnitLights]
    provisional: bool = False
