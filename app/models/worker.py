"""The worker's heartbeats: one row per lane of each running worker, so /readyz can tell a stalled lane."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from app.models._base import UTCDateTime, created_at_field


class WorkerBeat(SQLModel, table=True):
    """One lane (reminders, deliveries, previews, search) of one worker process, as it last reported."""

    worker: str = Field(primary_key=True, max_length=80)  # host:pid:random, new at each start
    lane: str = Field(primary_key=True, max_length=16)
    started_at: datetime = created_at_field()
    beat_at: datetime = created_at_field()
    busy_since: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    handled: int = 0  # jobs finished since the worker started
    last_error: str | None = Field(default=None, max_length=300)


class LaneHealth(SQLModel):
    """A lane as /readyz shows it: the newest heartbeat among the running workers."""

    status: str = Field(description="ok：按时心跳；stalled：心跳超时（该类任务停滞）；absent：没有运行的 worker")
    workers: int = Field(description="报告此通道的 worker 进程数")
    last_beat: datetime | None
    seconds_since_beat: float | None
    busy_seconds: float | None = Field(default=None, description="当前任务已进行的秒数")
