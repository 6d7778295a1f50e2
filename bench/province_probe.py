"""Timing and query plans against a filled province: through HTTP (in-process app, real tokens), median of N,
with every SQL statement of a request captured by an engine event so the slowest can be EXPLAINed."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

REPEAT = 7


@contextmanager
def captured() -> Iterator[list[tuple[str, Any, float]]]:
    """(statement, parameters, seconds) of every statement the app's engine runs inside the block."""
    from app.db import get_engine

    seen: list[tuple[str, Any, float]] = []
    started: list[float] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        started.append(time.perf_counter())

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        seen.append((statement, parameters, time.perf_counter() - started.pop()))

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def median(fn: Callable[[], Any], repeat: int = REPEAT) -> float:
    """The median seconds of `repeat` calls, after one warm-up call."""
    fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def explain(statement: str, parameters: Any) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of one captured statement, on its own connection."""
    from app.db import get_engine

    with get_engine().connect() as c:
        raw = c.connection.driver_connection
        with raw.cursor() as cur:  # type: ignore[union-attr]
            cur.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) " + statement, parameters)
            lines = [row[0] for row in cur.fetchall()]
        c.rollback()
    return "\n".join(lines)


def slowest(fn: Callable[[], Any], keep: int = 1) -> list[tuple[str, float, str]]:
    """(statement head, ms, plan) of the `keep` slowest statements one call runs."""
    with captured() as seen:
        fn()
    ranked = sorted(seen, key=lambda s: -s[2])[:keep]
    return [(" ".join(st.split())[:160], sec * 1000, explain(st, params)) for st, params, sec in ranked]


def statements(fn: Callable[[], Any]) -> int:
    """How many SQL statements one call runs."""
    with captured() as seen:
        fn()
    return len(seen)


def analyze() -> None:
    """Fresh planner statistics, as autovacuum would give a live database."""
    from app.db import get_engine

    with get_engine().connect() as c:
        c.execute(sa.text("ANALYZE"))
        c.commit()
