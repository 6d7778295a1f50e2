"""The worker's lanes: each kind of job runs in a thread of its own, so webhook deliveries and reminders never
wait behind a file, and each lane reports its heartbeat.

A lane is a loop: run one batch, report, and wait a moment when the batch found nothing. A batch that raises
(the database or the store away for a moment) is logged and tried again; the lane never ends on an error.
File lanes keep their batches small and beat while a file job's child works, so a slow file shows as a busy
lane, not a silent one.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from app.models._base import utcnow
from app.services.worker import heartbeats

log = logging.getLogger("shifan.worker")

# One batch, given a callable it calls when it has found work and while it waits on it; the jobs it handled.
Batch = Callable[[Callable[[], None]], int]


@dataclass
class Lane:
    """One kind of job: its batch and how long to wait when a batch found nothing."""

    name: str
    batch: Batch
    idle_seconds: float
    handled: int = 0
    error: str | None = None
    busy_since: datetime | None = None
    _last_beat: float = field(default=0.0, repr=False)
    _written_busy: bool = field(default=False, repr=False)


class Worker:
    """A set of lanes run together, each in its own thread, under one worker id."""

    def __init__(self, lanes: list[Lane]) -> None:
        self.lanes = lanes
        self.id = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.started_at = utcnow()
        self._lock = threading.Lock()

    def beat(self, lane: Lane, *, force: bool = False) -> None:
        """Report the lane: when it turns busy or idle, and otherwise at most every BEAT_EVERY seconds."""
        busy = lane.busy_since is not None
        with self._lock:
            now = time.monotonic()
            if not force and busy == lane._written_busy and now - lane._last_beat < heartbeats.BEAT_EVERY:
                return
            lane._last_beat, lane._written_busy = now, busy
        heartbeats.beat(
            self.id, lane.name, started_at=self.started_at, busy_since=lane.busy_since, handled=lane.handled,
            error=lane.error,
        )  # fmt: skip

    def _working(self, lane: Lane) -> None:
        """The batch found work (or is still at it): the lane is busy since its first call."""
        if lane.busy_since is None:
            lane.busy_since = utcnow()
        self.beat(lane)

    def run_batch(self, lane: Lane) -> int:
        """One batch of the lane, with its heartbeats; how many jobs it handled (0 after an error)."""
        try:
            done = lane.batch(lambda: self._working(lane))
            lane.error = None
        except Exception as exc:  # noqa: BLE001 - e.g. the database away for a moment: wait, try again
            log.warning("lane %s: batch failed, tried again: %s: %s", lane.name, type(exc).__name__, exc)
            print(f"{lane.name}: batch failed, retried: {type(exc).__name__}: {exc}", flush=True)
            lane.error = f"{type(exc).__name__}: {exc}"
            done = 0
        lane.busy_since = None
        lane.handled += done
        self.beat(lane, force=lane.error is not None)
        return done

    def once(self) -> None:
        """Every lane's batch once, one after another (`shifan worker --once`)."""
        try:
            for lane in self.lanes:
                self.run_batch(lane)
        finally:
            heartbeats.forget(self.id)

    def run(self, stop: threading.Event) -> None:
        """Run every lane in its own thread until stop is set; remove the heartbeats on the way out."""
        threads = [
            threading.Thread(target=self._loop, args=(lane, stop), name=f"lane-{lane.name}", daemon=True)
            for lane in self.lanes
        ]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                while thread.is_alive():
                    thread.join(1.0)
        finally:
            stop.set()
            heartbeats.forget(self.id)

    def _loop(self, lane: Lane, stop: threading.Event) -> None:
        self.beat(lane, force=True)
        while not stop.is_set():
            if not self.run_batch(lane):
                stop.wait(lane.idle_seconds)
