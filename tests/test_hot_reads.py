"""The busiest reads (to-do list, assignment ledger, evidence detail) take a faster way through the service —
one worker-thread hop, a read-only session without BEGIN/COMMIT, a verified-token cache, no ping per
checkout — and must give the same rows and the same refusals as every other route."""

from __future__ import annotations

import time
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import delete, text
from sqlmodel import Session, select

from app import db as app_db
from app.models import Assignment, User
from app.models.user import Role, UserCreate
from app.services import auth
from app.services.accounts import users
from tests.conftest import pin_today
from tests.evidence_kit import hot_read_paths

API = "/api/v1"
PASSWORD = "hot-reads-password-1"


def _liaison(client, session: Session, unit_id: int, county_id: int) -> tuple[User, dict[str, str]]:
    """A new 县司法局 liaison account of this test's own, logged in."""
    name = f"hot-{uuid.uuid4().hex[:8]}"
    user = users.create(
        session,
        data=UserCreate(
            username=name,
            display_name="热点联络员",
            role=Role.liaison,
            county_id=county_id,
            unit_id=unit_id,
            password=PASSWORD,
        ),
    )
    session.commit()
    r = client.post(f"{API}/auth/token", data={"username": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return user, {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def hot_routes(client, world, session) -> dict[str, str]:
    """The three hot reads as the 县司法局 liaison may call them: its to-do list, its campaign's ledger, one of
    its evidence."""
    pin_today(client.app, date(2023, 2, 10))
    paths = hot_read_paths(client, world, session, "热点读取")
    return {**paths, "todo": paths["todo"] + "?limit=50", "ledger": paths["ledger"] + "?limit=50"}


def test_the_to_do_list_is_the_ledger_of_the_units_rows(client, world, session, hot_routes) -> None:
    me = client.get(hot_routes["todo"] + "&sort=item", headers=world.auth("lc-sfj"))
    assert me.status_code == 200 and me.headers["content-type"] == "application/json", me.text
    campaign_ids = {row["campaign_id"] for row in me.json()["items"]}
    office_rows = []
    for campaign_id in sorted(campaign_ids):
        ledger = client.get(
            f"{API}/campaigns/{campaign_id}/assignments",
            params={"unit_id": world.ids["lc_sfj"], "limit": 500, "sort": "item"},
            headers=world.auth("lc-office"),
        )
        assert ledger.status_code == 200, ledger.text
        office_rows += ledger.json()["items"]
    rows = session.exec(select(Assignment.id).where(Assignment.unit_id == world.ids["lc_sfj"])).all()
    assert me.json()["total"] == len(rows) == len(office_rows)
    by_id = {row["id"]: row for row in office_rows}
    for row in me.json()["items"]:
        assert by_id[row["id"]] == row  # every field alike, the overdue flag included


def test_a_disabled_account_is_refused_at_once_on_every_hot_read(client, world, session, hot_routes) -> None:
    user, headers = _liaison(client, session, world.ids["lc_sfj"], world.ids["lc_county"])
    for name, url in hot_routes.items():
        assert client.get(url, headers=headers).status_code == 200, name  # the token is now verified and kept
    user.is_active = False
    session.add(user)
    session.commit()
    for name, url in hot_routes.items():
        r = client.get(url, headers=headers)
        assert r.status_code == 401 and r.json()["code"] == "account_disabled", (name, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")


def test_a_revoked_script_token_is_refused_at_once_on_every_hot_read(client, world, session, hot_routes) -> None:
    token, row = users.mint_script_token(session, username="lc-sfj", name=f"hot-{uuid.uuid4().hex[:6]}", days=1)
    session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    for url in hot_routes.values():
        assert client.get(url, headers=headers).status_code == 200
    users.revoke_script_token(session, token_id=row.id)
    session.commit()
    for name, url in hot_routes.items():
        r = client.get(url, headers=headers)
        assert r.status_code == 401 and r.json()["code"] == "token_revoked", (name, r.text)


def test_another_countys_caller_finds_nothing(client, world, hot_routes) -> None:
    other = world.auth("gp-office")
    assert client.get(hot_routes["ledger"], headers=other).status_code == 404
    assert client.get(hot_routes["evidence"], headers=other).status_code == 404
    r = client.get(hot_routes["todo"], headers=other)  # an office has no to-do list of its own
    assert r.status_code == 403 and r.json()["code"] == "not_a_liaison"
    for url in hot_routes.values():
        r = client.get(url)
        assert r.status_code == 401 and r.json()["code"] == "not_authenticated"
        r = client.get(url, headers={"Authorization": "Bearer not.a.token"})
        assert r.status_code == 401 and r.json()["code"] == "token_invalid"


def test_a_kept_token_still_expires(client, world, monkeypatch) -> None:
    kept = auth.decode_token(world.tokens["lc-sfj"])  # the same login session, a token that expires soon
    token, _ = auth.issue_token(user_id=int(kept["sub"]), role="liaison", ttl=timedelta(seconds=30),
                                session_id=kept["sid"])  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"{API}/me/assignments", headers=headers).status_code == 200  # verified, now kept
    later = time.time() + 60
    monkeypatch.setattr(auth.time, "time", lambda: later)
    for url in (f"{API}/me/assignments", f"{API}/me"):
        r = client.get(url, headers=headers)
        assert r.status_code == 401 and r.json()["code"] == "token_expired", r.text


def test_a_read_only_session_refuses_to_write(database_url) -> None:
    with app_db.read_scope() as s:
        s.add(User(username=f"ghost-{uuid.uuid4().hex[:6]}", role="office", password_hash="x"))
        with pytest.raises(RuntimeError, match="read-only"):
            s.flush()
    with app_db.read_scope() as s:
        assert s.exec(select(User).where(User.id == -1)).all() == []  # reads work …
        with pytest.raises(RuntimeError, match="read-only"):
            s.execute(delete(User).where(User.id == -1))  # … a delete does not


@pytest.mark.postgresql_only("terminates this test database's own server connections (pg_terminate_backend)")
def test_a_dead_pooled_connection_costs_one_503_and_an_idle_one_none(client, world, monkeypatch) -> None:
    url = f"{API}/me/assignments?limit=5"
    headers = world.auth("lc-sfj")

    def kill_pooled_connections() -> None:
        with app_db.get_engine().connect() as conn:  # this connection itself is spared
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = current_database() AND pid <> pg_backend_pid()"))  # fmt: skip
            conn.commit()

    assert client.get(url, headers=headers).status_code == 200
    kill_pooled_connections()
    # busy connections are not pinged: the one request that meets a dead one answers 503 (and the pool is
    # thrown away); the next gets a fresh connection
    answers = [client.get(url, headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers].count(503) <= 1, [a.text for a in answers]
    failed = [a for a in answers if a.status_code == 503]
    assert all(a.json()["code"] == "database_unavailable" for a in failed)
    assert answers[-1].status_code == 200
    # a connection idle past IDLE_PING_SECONDS is pinged at checkout and replaced quietly when dead
    monkeypatch.setattr(app_db, "IDLE_PING_SECONDS", 0.0)
    assert client.get(url, headers=headers).status_code == 200
    kill_pooled_connections()
    assert [client.get(url, headers=headers).status_code for _ in range(3)] == [200, 200, 200]
    # pooled connections these requests did not check out are still dead: the next test starts on a fresh pool
    app_db.get_engine().dispose()
