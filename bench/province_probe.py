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


def explain_select(query: Any) -> tuple[float, str]:
    """(ms, plan) of EXPLAIN (ANALYZE, BUFFERS) for a SQLAlchemy select, compiled for the app's engine."""
    from app.db import get_engine

    compiled = query.compile(dialect=get_engine().dialect, compile_kwargs={"render_postcompile": True})
    plan = explain(str(compiled), compiled.params)
    ms = next((float(line.split(":")[1].split()[0]) for line in plan.splitlines() if "Execution Time" in line), 0.0)
    return ms, plan


def counted_overview(campaign_ids: list[int], today: Any) -> Any:
    """The overview's progress as it was counted before the tally: every assignment of every campaign."""
    from sqlalchemy import and_, case, func
    from sqlmodel import col, select

    from app.models import Assignment
    from app.models.campaign import AssignmentStatus
    from app.services.campaign.assignments import OPEN

    status = col(Assignment.status)

    def count(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    return (
        select(
            Assignment.campaign_id,
            func.count(),
            *(count(status == s) for s in AssignmentStatus),
            count(and_(status.in_(OPEN), col(Assignment.due_on) < today)),
        )
        .where(col(Assignment.campaign_id).in_(campaign_ids))
        .group_by(Assignment.campaign_id)
    )


def tallied_overview(campaign_ids: list[int], today: Any) -> Any:
    """The overview's progress as the tally gives it (the province sees every unit)."""
    from sqlalchemy import and_, case, func
    from sqlmodel import col, select

    from app.models import AssignmentTally
    from app.models.campaign import AssignmentStatus
    from app.services.campaign.assignments import OPEN

    status = col(AssignmentTally.status)

    def total(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, AssignmentTally.n), else_=0)), 0)

    return (
        select(
            AssignmentTally.campaign_id,
            func.sum(AssignmentTally.n),
            *(total(status == s) for s in AssignmentStatus),
            total(and_(status.in_(OPEN), col(AssignmentTally.due_on) < today)),
        )
        .where(col(AssignmentTally.campaign_id).in_(campaign_ids))
        .group_by(AssignmentTally.campaign_id)
    )


def summaries_both_ways(campaign_ids: list[int]) -> tuple[float, float]:
    """Median seconds of the overview's score summaries rolled up from the scores (the stored figures cleared
    inside a transaction that is rolled back) and read from the stored figures."""
    from sqlalchemy import update
    from sqlmodel import Session, col, select

    from app.db import get_engine
    from app.models import ScoringRound, User
    from app.services.access import principal_for
    from app.services.assessment import score_report

    with Session(get_engine()) as s:
        who = principal_for(s, s.exec(select(User).where(User.username == "bench-province")).one())

        def summaries() -> None:
            assert len(score_report.latest_summaries(s, campaign_ids=campaign_ids, principal=who)) == len(campaign_ids)

        stored = median(summaries)
        s.execute(update(ScoringRound).where(col(ScoringRound.campaign_id).in_(campaign_ids)).values(summary=None))
        s.expire_all()
        rolled = median(summaries)
        s.rollback()
    return rolled, stored
