"""The busiest reads answered on the event loop (app/api/hot_reads.py, app/loop_reads.py; issue 28): on PostgreSQL
a 200 of the to-do list, the ledger and evidence detail comes from the loop — the same bytes and headers as the
general path — and everything else (refusals, bad parameters, a read needing more than compiled statements, a lost
connection) is answered the general way, exactly as before. On SQLite the loop is not used."""

from __future__ import annotations

from datetime import date
from typing import Any

import anyio.to_thread
import pytest
from sqlalchemy import text

from app import db as app_db
from app import loop_reads
from app.api import deps
from app.observability import HOT_READS
from app.services import auth
from tests.conftest import pin_today
from tests.evidence_kit import hot_read_paths

API = "/api/v1"
# headers that differ between any two answers
_PER_ANSWER = {"date", "x-request-id"}


def _counted() -> dict[str, float]:
    return {path: HOT_READS.labels(path)._value.get() for path in ("loop", "general")}


def _answer(client, url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    r = client.get(url, headers=headers)
    return r.status_code, {k: v for k, v in r.headers.items() if k not in _PER_ANSWER}, r.content


@pytest.fixture
def reads(client, world, session) -> dict[str, str]:
    """Paths of the three reads (to-do list, 陵川's and 高平's ledgers, 陵川 evidence) with the day pinned."""
    pin_today(client.app, date(2023, 2, 10))
    return {**hot_read_paths(client, world, session, "事件循环读取"),
            "other": f"{API}/campaigns/{world.ids['gp_campaign']}/assignments"}  # fmt: skip


# What is asked: plain pages, filters, sorts, paging, and what is refused (bad values, a bad cursor, ids no column
# holds, a campaign or evidence that does not exist)
_QUERIES = {
    "todo": ["", "?limit=50", "?limit=3&offset=2", "?limit=3&cursor=bzM", "?status=returned&sort=-item",
             "?overdue=true", "?overdue=1", "?due_within_workdays=3", "?light=red", "?sort=nonsense",
             "?limit=0", "?limit=501", "?offset=-1", "?cursor=%%%", "?due_before=2023-02-30", "?campaign_id=x",
             "?campaign_id=99999999999999999999"],
    "ledger": ["?limit=50", "?unit_id=1&section=indicator", "?sort=unit", "?sort=-status&limit=7&offset=7",
               "?level1_id=abc", "?offset=100000"],
    "other": ["", "?limit=5"],
    "evidence": [""],
}  # fmt: skip
_ELSEWHERE = {"missing_campaign": f"{API}/campaigns/987654321/assignments", "huge_campaign": f"{API}/campaigns/"
              f"{2**63}/assignments", "missing_evidence": f"{API}/evidence/987654321",
              "bad_evidence": f"{API}/evidence/abc", "huge_evidence": f"{API}/evidence/{2**63}"}  # fmt: skip
CALLERS = ("lc-office", "lc-sfj", "gp-office", "sysadmin", "evaluator", "sx-province", None)


@pytest.mark.postgresql_only("the loop path runs on PostgreSQL only (asyncpg)")
def test_every_answer_is_the_general_paths_own(client, world, reads, monkeypatch) -> None:
    asked = [reads[name] + q for name, queries in _QUERIES.items() for q in queries] + list(_ELSEWHERE.values())
    headers = {who: world.auth(who) if who else {} for who in CALLERS}
    headers["bad token"] = {"Authorization": "Bearer not-a-token"}
    fast: dict[tuple[str, str], Any] = {}
    before = _counted()
    for who, given in headers.items():
        for url in asked:
            fast[who, url] = _answer(client, url, given)
    on_loop = _counted()["loop"] - before["loop"]
    with monkeypatch.context() as m:
        m.setattr(loop_reads, "available", lambda: False)  # every read the general way
        general = {(who, url): _answer(client, url, given) for who, given in headers.items() for url in asked}
    for key, answer in fast.items():
        assert answer == general[key], key
    statuses = [status for status, _, _ in fast.values()]
    assert {200, 401, 403, 404, 422} <= set(statuses)
    # most 200s of an office, a liaison and the system administrator came from the loop: not the first read of a
    # caller's scope (what app.kept keeps is built the general way), an empty page (its campaign is checked through
    # the ORM), an evaluator's or a province's (their scope is read through the ORM: test below)
    from_loop = sum(
        1
        for (who, _), (status, _, _) in fast.items()
        if status == 200 and who in ("lc-office", "lc-sfj", "gp-office", "sysadmin")  # fmt: skip
    )
    assert 20 <= on_loop <= from_loop, (on_loop, from_loop)


@pytest.mark.postgresql_only("the loop path runs on PostgreSQL only (asyncpg)")
def test_a_read_needing_more_than_compiled_statements_is_answered_the_general_way(client, world, reads) -> None:
    # an evaluator's scope is its engagements, a province's its region: read through the ORM (principal_for)
    asked = (("evaluator", reads["ledger"]), ("sx-province", reads["ledger"]), ("evaluator", reads["evidence"]))
    for who, url in asked:
        before = _counted()
        r = client.get(url, headers=world.auth(who))
        assert r.status_code == 200, r.text
        assert _counted()["general"] - before["general"] == 1 and _counted()["loop"] == before["loop"]


@pytest.mark.postgresql_only("the loop path runs on PostgreSQL only (asyncpg)")
def test_the_loop_path_hops_no_worker_thread(client, world, reads, monkeypatch) -> None:
    for url in (reads["todo"], reads["ledger"], reads["evidence"]):  # warm: what app.kept keeps is built
        assert client.get(url, headers=world.auth("lc-office" if url != reads["todo"] else "lc-sfj")).status_code == 200

    async def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("a hot read hopped to a worker thread")

    monkeypatch.setattr(anyio.to_thread, "run_sync", refuse)
    assert client.get(reads["todo"], headers=world.auth("lc-sfj")).status_code == 200
    assert client.get(reads["ledger"], headers=world.auth("lc-office")).status_code == 200
    assert client.get(reads["evidence"], headers=world.auth("lc-office")).status_code == 200


@pytest.mark.postgresql_only("terminates this test database's own server connections (pg_terminate_backend)")
def test_a_lost_loop_connection_costs_no_error_and_is_replaced(client, world, reads) -> None:
    url, headers = reads["todo"], world.auth("lc-sfj")
    assert client.get(url, headers=headers).status_code == 200

    def loop_backends() -> int:
        with app_db.get_engine().connect() as conn:
            mine = text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = :n")
            found = conn.execute(mine, {"n": loop_reads.APPLICATION_NAME}).all()
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = ANY(:pids)"),
                         {"pids": [pid for (pid,) in found]})  # fmt: skip
            conn.commit()
        return len(found)

    assert loop_backends() >= 1
    before = _counted()
    # the request that meets the dead connection is answered the general way; the connection is thrown away
    assert [client.get(url, headers=headers).status_code for _ in range(3)] == [200, 200, 200]
    after = _counted()
    assert after["general"] - before["general"] <= 1 and after["loop"] - before["loop"] >= 2


def test_the_general_way_on_sqlite_and_the_loop_on_postgresql(client, world, reads, database_url) -> None:
    # the first read after a write that changed the read generation (another test's) builds what the process keeps
    # — the light book through the ORM: the general way; the next one is on the loop
    assert client.get(reads["todo"], headers=world.auth("lc-sfj")).status_code == 200
    before = _counted()
    assert client.get(reads["todo"], headers=world.auth("lc-sfj")).status_code == 200
    after = _counted()
    on_postgresql = database_url.startswith("postgresql")
    assert loop_reads.available() is on_postgresql
    assert (after["loop"] - before["loop"], after["general"] - before["general"]) == (
        (1, 0) if on_postgresql else (0, 0)
    )


def test_a_dependency_a_test_overrides_is_answered_the_general_way(client, world, reads) -> None:
    claims = auth.decode_token(world.tokens["lc-sfj"])
    client.app.dependency_overrides[deps._reader] = lambda: deps.Reader(claims)  # stands for the token
    try:
        before = _counted()
        r = client.get(reads["todo"])  # no token: only the override makes this a 200
        assert r.status_code == 200, r.text
        assert _counted()["loop"] == before["loop"]
    finally:
        del client.app.dependency_overrides[deps._reader]


@pytest.mark.postgresql_only("the loop path runs on PostgreSQL only (asyncpg)")
def test_a_database_the_loop_cannot_reach_costs_one_try_then_rests(client, world, reads, monkeypatch) -> None:
    import asyncpg

    tries: list[dict[str, Any]] = []

    async def unreachable(**kwargs: Any) -> Any:
        tries.append(kwargs)
        raise OSError("connection refused")

    monkeypatch.setattr(loop_reads, "_POOLS", {})  # a new pool: no idle connection
    monkeypatch.setattr(asyncpg, "connect", unreachable)
    before = _counted()
    assert [client.get(reads["todo"], headers=world.auth("lc-sfj")).status_code for _ in range(3)] == [200] * 3
    assert _counted()["general"] - before["general"] == 3 and _counted()["loop"] == before["loop"]
    assert len(tries) == 1 and tries[0]["timeout"] == loop_reads.CONNECT_SECONDS  # resting after the failure


@pytest.mark.postgresql_only("sets this test database's own time zone (ALTER DATABASE)")
def test_a_database_in_another_time_zone_answers_alike_in_utc(client, world, reads, monkeypatch) -> None:
    """asyncpg hands timestamps over in UTC, psycopg in the session's zone: both are written as UTC (…Z)."""
    engine = app_db.get_engine()

    def set_zone(zone: str | None) -> None:
        with engine.connect() as conn:
            name = conn.execute(text("SELECT current_database()")).scalar_one()
            setting = f"SET timezone TO '{zone}'" if zone else "RESET timezone"
            conn.execute(text(f'ALTER DATABASE "{name}" {setting}'))
            conn.commit()
        engine.dispose()  # new connections take the setting
        monkeypatch.setattr(loop_reads, "_POOLS", {})  # new loop connections too

    office = world.auth("lc-office")
    set_zone("Asia/Shanghai")
    try:
        fast = _answer(client, reads["evidence"], office)
        with monkeypatch.context() as m:
            m.setattr(loop_reads, "available", lambda: False)
            general = _answer(client, reads["evidence"], office)
    finally:
        set_zone(None)
    assert fast == general and fast[0] == 200
    assert b'"created_at":"' in fast[2] and b"+08:00" not in fast[2] and b'Z"' in fast[2]


def test_libpq_url_options_are_taken_or_the_loop_is_not_used() -> None:
    base = "postgresql+psycopg://shifan@127.0.0.1:5432/shifan"
    taken = loop_reads._target(f"{base}?sslmode=disable&connect_timeout=3")
    assert taken is not None and taken[1]["ssl"] == "disable" and taken[1]["timeout"] == 3.0
    forever = loop_reads._target(f"{base}?connect_timeout=0")  # libpq: no limit; the loop keeps its own
    assert forever is not None and forever[1]["timeout"] == loop_reads.CONNECT_SECONDS
    for odd in ("options=-csearch_path%3Dother", "connect_timeout=abc", "sslmode=disable&sslmode=require"):
        assert loop_reads._target(f"{base}?{odd}") is None, odd  # the general way, never an error
    assert loop_reads._target("sqlite:///shifan.db") is None


def test_a_dependency_an_inclusion_adds_keeps_a_route_off_the_loop() -> None:
    """A route whose inclusion adds a dependency (an extra check) is answered the general way, which runs it."""
    from fastapi import Depends, FastAPI

    from app.api.hot_reads import _hot_routes
    from app.api.routes import evidence, me

    def extra_check() -> None:
        return None

    api = FastAPI()
    api.include_router(me.router, prefix=API)
    api.include_router(evidence.router, prefix=API, dependencies=[Depends(extra_check)])
    assert [hot.matched.path for hot in _hot_routes(api)] == ["/me/assignments"]


def test_a_day_shown_to_the_office_is_the_counties_day() -> None:
    """Timestamps are kept and sent in UTC; a date written for clerks (a ledger's review date, a spreadsheet cell, a
    notice's receipt) is the day in China Standard Time, whatever zone the database server keeps."""
    from datetime import UTC, date, datetime, timedelta, timezone

    from app.models._base import local_date

    evening_utc = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)  # 01:30 on 2 March in Beijing
    assert local_date(evening_utc) == date(2026, 3, 2)
    assert local_date(evening_utc.astimezone(timezone(timedelta(hours=-5)))) == date(2026, 3, 2)
    assert local_date(datetime(2026, 3, 1, 17, 30)) == date(2026, 3, 1)  # naive: as it is
