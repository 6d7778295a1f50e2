"""The event outbox and its webhook deliveries (with their attempt log)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AnyHttpUrl
from sqlalchemy import JSON, Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models._base import UTCDateTime, created_at_field, json_list_field


class EventKind(StrEnum):
    due_soon = "assignment.due_soon"  # a unit's assignments fall due within N working days
    overdue = "assignment.overdue"  # a unit's assignments passed their due date unfinished
    evidence_returned = "evidence.returned"
    evidence_approved = "evidence.approved"
    scores_released = "scores.released"
    light_yellow = "supervision.yellow"  # a task turned 黄: to the unit's liaison and its leader in charge
    light_red = "supervision.red"  # a task turned 红: to the office, with the 督办单 it issued
    notice_escalated = "supervision.escalated"  # a 督办单 still without its 回执 after N working days
    notice_acknowledged = "supervision.acknowledged"  # the unit answered a 督办单 (回执)


class WebhookKind(StrEnum):
    """What the receiver understands: Standard Webhooks JSON, or a chat group robot's message."""

    standard = "standard"  # signed JSON event (Standard Webhooks headers)
    dingtalk = "dingtalk"  # 钉钉自定义机器人 (optionally signed: timestamp + sign in the query)
    wecom = "wecom"  # 企业微信群机器人 (the key in the URL is the only credential)


class DeliveryStatus(StrEnum):
    pending = "pending"
    delivered = "delivered"
    dead = "dead"  # every attempt failed; kept for the log


class OutboxEvent(SQLModel, table=True):
    """An event written in the same transaction as the change it reports."""

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=36, unique=True)  # sent as the Idempotency-Key
    kind: str = Field(sa_type=String(40), index=True)
    county_id: int = Field(foreign_key="region.id", index=True)
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id")
    # Time-based reminders are found by a scan any instance may run: the key makes each one unique.
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = created_at_field()


class Webhook(SQLModel, table=True):
    """A receiver registered by a county office for some or all event kinds."""

    id: int | None = Field(default=None, primary_key=True)
    county_id: int = Field(foreign_key="region.id", index=True)
    url: str = Field(max_length=500)
    kind: str = Field(default=WebhookKind.standard, sa_type=String(16))
    # Standard Webhooks signing secret, "whsec_" + base64 key, shown once when created; webhooks registered
    # before that format keep their 64 hex digits (the key is those ASCII bytes, see notifications.signing).
    secret: str = Field(max_length=64)
    robot_secret: str = Field(default="", max_length=200)  # DingTalk's 加签 secret ("SEC…"), given by the office
    kinds: list[str] = json_list_field()  # empty: every kind
    active: bool = True
    created_by: int = Field(foreign_key="app_user.id")
    created_at: datetime = created_at_field()


class Delivery(SQLModel, table=True):
    """One event to one webhook: retried with backoff until delivered or dead."""

    __table_args__ = (
        UniqueConstraint("event_id", "webhook_id"),
        Index("ix_delivery_due", "status", "next_attempt_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="outboxevent.id")
    webhook_id: int = Field(foreign_key="webhook.id", index=True)
    status: str = Field(default=DeliveryStatus.pending, sa_type=String(16))
    attempts: int = 0
    next_attempt_at: datetime = created_at_field()
    # A worker that claims the delivery sets a lease; another may take it over only once it lapses.
    lease_token: str | None = Field(default=None, max_length=36)
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    last_status_code: int | None = None
    last_error: str = ""  # a status and a short reason (delivery.reason), never the receiver's body
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class DeliveryAttempt(SQLModel, table=True):
    """One HTTP attempt of a delivery, for the log."""

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="delivery.id", index=True)
    number: int
    started_at: datetime = created_at_field()
    status_code: int | None = None
    error: str = ""  # a status and a short reason (delivery.reason), never the receiver's body
    duration_ms: int = 0


class WebhookCreate(SQLModel):
    """Body of POST /webhooks; county_id only for an admin (an office registers for its own county)."""

    url: AnyHttpUrl
    # The receiver: standard (signed JSON), dingtalk (URL with access_token) or wecom (URL with key).
    kind: WebhookKind = WebhookKind.standard
    # Only for dingtalk in signed mode (加签): the "SEC…" secret DingTalk shows for the robot.
    robot_secret: str | None = Field(default=None, max_length=200)
    kinds: list[EventKind] = []  # the event kinds sent; empty: all
    county_id: int | None = None


class WebhookPublic(SQLModel):
    """A webhook as the API lists it (without its secret)."""

    id: int
    county_id: int
    url: str
    kind: WebhookKind
    kinds: list[str]
    active: bool
    created_at: datetime


class WebhookCreated(WebhookPublic):
    """The answer to POST /webhooks: the only time a standard webhook's signing secret (whsec_…) is shown."""

    secret: str | None  # None for chat robots (DingTalk's secret is the office's own; WeCom has none)


class AttemptPublic(SQLModel):
    """One attempt in a delivery log."""

    number: int
    started_at: datetime
    status_code: int | None
    error: str
    duration_ms: int


class DeliveryPublic(SQLModel):
    """A delivery with its event and attempts."""

    id: int
    event_id: str
    kind: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str
    delivered_at: datetime | None
    log: list[AttemptPublic] = []
