"""Database errors as a caller sees them, the same on PostgreSQL and SQLite: a statement the database refuses
is our fault (a masked 500, logged), never posed as an outage (503 is for a lost connection only); an id
beyond what any column holds is the caller's (422 value_out_of_range)."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.services.campaign import campaigns
from tests.conftest import on_sqlite
from tests.evidence_kit import API, pdf

HUGE = 2**70


def _refusing(statement: str):
    real = campaigns.get_visible

    def get_visible(session, **kwargs):  # noqa: ANN001, ANN202
        found = real(session, **kwargs)
        session.execute(sa.text(statement))
        return found

    return get_visible


def test_a_sql_error_is_a_masked_500_not_database_unavailable(app, world, monkeypatch, caplog) -> None:
    # SQLite files a missing table under OperationalError, PostgreSQL under ProgrammingError: both are a bug
    monkeypatch.setattr(campaigns, "get_visible", _refusing("SELECT nothing FROM no_such_table"))
    with TestClient(app, raise_server_exceptions=False) as c, caplog.at_level(logging.ERROR, "shifan.errors"):
        r = c.get(f"{API}/campaigns/{world.ids['lc_campaign']}", headers=world.auth("lc-office"))
    assert r.status_code == 500, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["code"] == "internal_error" and "no_such_table" not in r.text  # nothing of the SQL leaks
    assert any("no_such_table" in (rec.exc_text or "") for rec in caplog.records), "the statement is logged"
    with TestClient(app) as c:  # the API is fine afterwards
        monkeypatch.undo()
        assert c.get(f"{API}/campaigns/{world.ids['lc_campaign']}", headers=world.auth("lc-office")).status_code == 200


def test_a_cancelled_statement_is_not_an_outage(app, world, database_url, monkeypatch) -> None:
    # PostgreSQL files a statement timeout under OperationalError, the class a lost connection has
    if database_url.startswith("postgresql"):
        statement = "SET LOCAL statement_timeout = 1; SELECT pg_sleep(1)"
    else:  # SQLite files a plain SQL error under OperationalError
        statement = "SELEC 1"
    monkeypatch.setattr(campaigns, "get_visible", _refusing(statement))
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get(f"{API}/campaigns/{world.ids['lc_campaign']}", headers=world.auth("lc-office"))
    assert r.status_code == 500 and r.json()["code"] == "internal_error", r.text


def test_ids_beyond_any_column_are_422_on_every_backend(client, world) -> None:
    office = world.auth("lc-office")
    answers = {
        "path": client.get(f"{API}/campaigns/{HUGE}", headers=office),
        "path of an upload": client.post(
            f"{API}/counties/{HUGE}/units/import",
            files={"file": ("单位.xlsx", pdf(), "application/octet-stream")},
            headers=office,
        ),
        "body": client.post(
            f"{API}/campaigns/{world.ids['lc_campaign']}/assignments",
            json={"item_id": HUGE, "unit_id": world.ids["lc_sfj"]},
            headers=office,
        ),
        "negative": client.get(f"{API}/campaigns/{-HUGE}", headers=office),
    }
    for where, r in answers.items():
        assert r.status_code == 422, (where, r.status_code, r.text)
        assert r.json()["code"] == "value_out_of_range", (where, r.text)
    # an id that fits but names nothing is still a plain 404 (PostgreSQL's int4 ids also refuse 2**31 and
    # beyond with value_out_of_range; SQLite's integers hold 64 bits, so there such an id is just not found)
    assert client.get(f"{API}/campaigns/{2**30}", headers=office).status_code == 404


@pytest.mark.postgresql_only("raises PostgreSQL's own deadlock and serialization-failure states (plpgsql)")
def test_a_transaction_aborted_by_a_collision_is_a_503_to_send_again(app, world, monkeypatch) -> None:
    """A deadlock PostgreSQL broke (40P01) or a serialization failure (40001) rolled everything back: the caller
    may send the same request again, so it is 503 database_busy with Retry-After, not a 500."""
    for state in ("40P01", "40001"):
        monkeypatch.setattr(
            campaigns,
            "get_visible",
            _refusing(f"DO $$ BEGIN RAISE EXCEPTION 'collision' USING ERRCODE = '{state}'; END $$"),
        )
        with TestClient(app, raise_server_exceptions=False) as c:
            r = c.get(f"{API}/campaigns/{world.ids['lc_campaign']}", headers=world.auth("lc-office"))
        assert r.status_code == 503, r.text
        assert r.json()["code"] == "database_busy" and "请稍后重试" in r.json()["detail"]
        assert r.headers["retry-after"] == "1"
        monkeypatch.undo()


@pytest.mark.skipif(not on_sqlite(), reason="SQLite only: another writer holding the database file's write lock")
def test_a_sqlite_database_held_by_another_writer_is_a_503_to_send_again(client, world, database_url) -> None:
    """The zero-setup default: a write that waited the whole busy timeout for another writer is 503 database_busy
    (nothing was written; sending it again later succeeds), as a collision is on PostgreSQL — not a 500."""
    import sqlite3

    [assignment] = client.get(
        f"{API}/campaigns/{world.ids['gp_campaign']}/assignments", params={"limit": 1}, headers=world.auth("gp-office")
    ).json()["items"]
    url = f"{API}/assignments/{assignment['id']}"
    other = sqlite3.connect(database_url.split("///", 1)[1], isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process writing, for longer than the busy timeout
        r = client.patch(url, json={"due_on": "2023-03-20"}, headers=world.auth("gp-office"))
        assert r.status_code == 503, r.text
        assert r.json()["code"] == "database_busy" and r.headers["retry-after"] == "1"
    finally:
        other.execute("ROLLBACK")
        other.close()
    again = client.patch(url, json={"due_on": None}, headers=world.auth("gp-office"))
    assert again.status_code == 200, again.text


def test_a_graphql_request_whose_database_went_away_is_503_in_every_field_and_never_commits(database_url) -> None:
    """Found by the soak: one resolver met the restarting database (503), the request's end then committed the
    broken transaction (PendingRollbackError, a 500). Now the first database error marks the transaction:
    later fields answer as it did, and the end rolls back."""
    import psycopg
    from graphql import GraphQLError
    from sqlmodel import Session

    from app.api.graphql.context import Transaction, TransactionBroken
    from app.api.graphql.errors import present
    from app.db import get_engine

    lost = sa.exc.OperationalError("SELECT 1", {}, psycopg.OperationalError("server closed the connection"))

    def restarting(_session: Session) -> None:
        raise lost

    tx = Transaction(Session(get_engine()))
    with pytest.raises(sa.exc.OperationalError):
        tx.run(restarting)
    with pytest.raises(TransactionBroken) as later:
        tx.run(lambda s: s.execute(sa.text("SELECT 1")).scalar())
    tx.finish(ok=True)  # rolls back, raises nothing
    for original in (lost, later.value):
        shown = present(GraphQLError("x", original_error=original))
        assert shown.extensions == {"code": "database_unavailable", "status": 503}, shown.extensions
        assert "数据库暂时不可用" in shown.message
