"""No request can break another: GraphQL requests whose fields fail while DataLoader work is still running
neither break other accounts' REST requests nor leave connections idle in transaction."""

from __future__ import annotations

import threading
import time

import httpx
import sqlalchemy as sa

from app import db as app_db
from tests.conftest import serving
from tests.evidence_kit import API

# campaign(id) is non-null: its not-found error nulls the whole result, so graphql-core cancels the
# sibling fields while their loader batches are still running in worker threads.
FAILING = """
{

  a: counties { edges { node { id campaigns { id progress { total approved } score { total } } } } }
  b: counties { edges { node { name campaigns { name progress { overdue } score { percent } } } } }
  c: campaigns { edges { node { id progress { submitted } score { verdict } } } }
  bad: campaign(id: 987654321) { id }
}
"""


def _idle_in_transaction(url: str) -> list[str]:
    """Queries of connections to url's database left idle in transaction (none on SQLite)."""
    engine = app_db.get_engine()
    if engine.dialect.name != "postgresql":
        return []
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
            )
        ).all()
    return [r[0] for r in rows]


def test_failing_graphql_siblings_break_no_other_request(app, world, database_url, monkeypatch) -> None:
    from app.services.campaign import campaigns

    listed = campaigns.list_visible

    def slow_list(*args, **kwargs):  # widen the window: a loader batch still runs when the error lands
        time.sleep(0.1)
        return listed(*args, **kwargs)

    monkeypatch.setattr(campaigns, "list_visible", slow_list)
    attackers, rounds = 6, 8
    stop = threading.Event()
    bystander_errors: list[str] = []
    bystander_ok = [0]
    attacker_statuses: list[int] = []
    with serving(app) as base:
        reader = httpx.Client(base_url=base, headers=world.auth("gp-office"), timeout=30)
        expected = reader.get(f"{API}/campaigns/{world.ids['gp_campaign']}").json()

        def bystander() -> None:
            while not stop.is_set():
                try:
                    r = reader.get(f"{API}/campaigns/{world.ids['gp_campaign']}")
                    if r.status_code != 200 or r.json() != expected:
                        bystander_errors.append(f"{r.status_code} {r.text[:200]}")
                    else:
                        bystander_ok[0] += 1
                except httpx.HTTPError as exc:  # a reset connection is an error too
                    bystander_errors.append(repr(exc))

        def attacker() -> None:
            with httpx.Client(base_url=base, headers=world.auth("sx-province"), timeout=60) as c:
                for _ in range(rounds):
                    try:
                        r = c.post("/graphql", json={"query": FAILING})
                        attacker_statuses.append(r.status_code)
                    except httpx.HTTPError:
                        attacker_statuses.append(-1)

        watcher = threading.Thread(target=bystander)
        watcher.start()
        threads = [threading.Thread(target=attacker) for _ in range(attackers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        stop.set()
        watcher.join(timeout=60)
        reader.close()
        # the failing request itself gets an ordinary GraphQL answer naming the missing campaign
        with httpx.Client(base_url=base, headers=world.auth("sx-province"), timeout=60) as c:
            body = c.post("/graphql", json={"query": FAILING}).json()
    assert bystander_errors == [] and bystander_ok[0] > 0
    assert attacker_statuses == [200] * (attackers * rounds)
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "campaign_not_found"
    deadline = time.monotonic() + 5
    while (left := _idle_in_transaction(database_url)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left == []


def test_request_end_waits_for_running_work_and_refuses_later_work(database_url) -> None:
    """The lifecycle itself, whatever the GraphQL executor does with failing siblings: a resolver's thread
    still running when the request ends finishes first; work arriving afterwards never reaches the session."""
    import anyio

    from app.api.graphql.context import RequestClosed, transaction

    engine = app_db.get_engine()
    events: list[str] = []
    started = threading.Event()

    def slow(session, **_: object) -> int:
        started.set()
        time.sleep(0.3)
        value = session.exec(sa.text("SELECT 1")).one()[0]
        events.append("work done")
        return value

    async def scenario() -> None:
        gen = transaction()
        tx = await gen.__anext__()
        worker = threading.Thread(target=lambda: tx.run(slow))
        worker.start()  # a cancelled resolver's thread, no longer awaited by anyone
        started.wait()
        try:
            await gen.__anext__()
        except StopAsyncIteration:
            events.append("request ended")
        worker.join()
        try:
            tx.run(slow)
        except RequestClosed:
            events.append("late work refused")

    checked_out = engine.pool.checkedout() if hasattr(engine.pool, "checkedout") else 0
    anyio.run(scenario)
    assert events == ["work done", "request ended", "late work refused"]
    if hasattr(engine.pool, "checkedout"):
        assert engine.pool.checkedout() == checked_out
