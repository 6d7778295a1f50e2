"""Heartbeats of the worker's lanes, and what /readyz makes of them.

Each lane of each worker writes its row while it runs (at most every BEAT_EVERY seconds, and whenever it
starts or ends a job, and every few seconds while a file job's child works), and removes it on a clean
exit. A lane is stalled when the newest beat of any worker for it is older than SHIFAN_WORKER_STALL_SECONDS:
then nothing is doing that kind of work (every worker for it killed, or a bug that blocks it).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from app.db import session_scope
from app.models._base import utcnow
from app.models.worker import LaneHealth, WorkerBeat
from app.settings import get_settings

log = logging.getLogger("shifan.worker")

LANES = ("reminders", "deliveries", "previews", "search")
BEAT_EVERY = 10.0  # seconds between writes of an idle lane's row
KEEP = timedelta(days=1)  # rows of workers that died without removing theirs are pruned after this


def beat(
    worker: str, lane: str, *, started_at: datetime, busy_since: datetime | None, handled: int, error: str | None
) -> None:
    """Write this lane's row (its own transaction); a database away for a moment is logged, never raised."""
    try:
        with session_scope() as session:
            session.merge(
                WorkerBeat(
                    worker=worker,
                    lane=lane,
                    started_at=started_at,
                    beat_at=utcnow(),
                    busy_since=busy_since,
                    handled=handled,
                    last_error=error[:300] if error else None,
                )
            )
    except Exception as exc:  # noqa: BLE001 - a heartbeat must never stop the work it reports on
        log.warning("heartbeat of lane %s not written: %s", lane, exc)


def forget(worker: str) -> None:
    """Remove a worker's rows (it stops cleanly), and any row older than KEEP."""
    try:
        with session_scope() as session:
            session.execute(delete(WorkerBeat).where(col(WorkerBeat.worker) == worker))
            session.execute(delete(WorkerBeat).where(col(WorkerBeat.beat_at) < utcnow() - KEEP))
    except Exception as exc:  # noqa: BLE001 - rows left behind age out
        log.warning("heartbeats of worker %s not removed: %s", worker, exc)


def lanes(session: Session, *, now: datetime | None = None) -> dict[str, LaneHealth]:
    """Every lane's health: ok, stalled, or absent (no worker has reported it within a day)."""
    now = now or utcnow()
    stall = timedelta(seconds=get_settings().worker_stall_seconds)
    rows = session.exec(select(WorkerBeat).where(col(WorkerBeat.beat_at) >= now - KEEP)).all()
    found: dict[str, LaneHealth] = {}
    for lane in LANES:
        mine = [r for r in rows if r.lane == lane]
        if not mine:
            found[lane] = LaneHealth(status="absent", workers=0, last_beat=None, seconds_since_beat=None)
            continue
        newest = max(mine, key=lambda r: r.beat_at)
        live = [r for r in mine if now - r.beat_at <= stall]
        busy = [r.busy_since for r in live if r.busy_since is not None]
        found[lane] = LaneHealth(
            status="ok" if live else "stalled",
            workers=len(live),
            last_beat=newest.beat_at,
            seconds_since_beat=round((now - newest.beat_at).total_seconds(), 1),
            busy_seconds=round((now - min(busy)).total_seconds(), 1) if busy else None,
        )
    return found


def summary(found: dict[str, LaneHealth]) -> str:
    """One word for all lanes: stalled (any lane), absent (no worker at all), partial (some lanes run by none)."""
    states = {h.status for h in found.values()}
    if "stalled" in states:
        return "stalled"
    if states == {"absent"}:
        return "absent"
    return "partial" if "absent" in states else "ok"


def readiness() -> dict[str, object]:
    """What /readyz says of the worker: one word for all lanes and each lane's health (nothing when the
    heartbeats cannot be read, e.g. a database migrated before they existed)."""
    try:
        with session_scope() as session:
            found = lanes(session)
    except Exception:  # noqa: BLE001 - readiness reports, it never fails on this
        log.warning("worker heartbeats not readable", exc_info=True)
        return {}
    return {"worker": summary(found), "lanes": {k: v.model_dump(mode="json") for k, v in found.items()}}
