"""Login sessions through HTTP with real tokens, at the deployment defaults (15-minute access tokens, 30 minutes
idle, 12 hours at most): refresh rotation, reuse of a rotated refresh token ending the session, logout, the idle
and absolute limits (the clock moved by editing the session row), listing and ending sessions."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from jose import jwt
from sqlalchemy import update

from app.models import LoginSession
from app.models._base import utcnow
from app.settings import Settings, get_settings
from tests.evidence_kit import API

PASSWORD = "shifan-demo"


@pytest.fixture
def defaults(monkeypatch) -> Iterator[None]:
    """The deployment defaults for this test (the suite's long-lived world tokens use a working day)."""
    settings = get_settings()
    for name, value in (("access_token_minutes", 15), ("session_idle_minutes", 30), ("session_absolute_hours", 12)):
        monkeypatch.setattr(settings, name, value)
    yield


def login(client: TestClient, username: str, **headers: str) -> dict:
    r = client.post(f"{API}/auth/token", data={"username": username, "password": PASSWORD}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def bearer(pair: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


def refresh(client: TestClient, token: str, *, as_json: bool = False):
    if as_json:
        return client.post(f"{API}/auth/refresh", json={"refresh_token": token})
    return client.post(f"{API}/auth/refresh", data={"grant_type": "refresh_token", "refresh_token": token})


def refused(r, code: str) -> None:
    assert r.status_code == 401, r.text
    assert r.json()["code"] == code, r.text
    assert r.json()["detail"]  # a sentence for the clerk


def move_clock(session, session_id: int, **moments: datetime) -> None:
    """Set the session row's timestamps (started_at, refreshed_at) as if that much time had passed."""
    session.exec(update(LoginSession).where(LoginSession.id == session_id).values(**moments))
    session.commit()


def test_the_defaults_are_15_minutes_30_idle_12_hours(monkeypatch) -> None:
    for name in ("SHIFAN_ACCESS_TOKEN_MINUTES", "SHIFAN_SESSION_IDLE_MINUTES", "SHIFAN_SESSION_ABSOLUTE_HOURS"):
        monkeypatch.delenv(name, raising=False)
    fresh = Settings(_env_file=None)
    assert (fresh.access_token_minutes, fresh.session_idle_minutes, fresh.session_absolute_hours) == (15, 30, 12)


def test_a_login_gives_a_short_access_token_bound_to_its_session(client, world, defaults) -> None:
    pair = login(client, "lc-gaj")
    assert pair["token_type"] == "bearer" and 895 <= pair["expires_in"] <= 900
    claims = jwt.get_unverified_claims(pair["access_token"])
    assert claims["exp"] - claims["iat"] == 15 * 60 and claims["sid"] == pair["session_id"]
    ends = datetime.fromisoformat(pair["session_expires_at"])
    assert timedelta(hours=11, minutes=59) < ends - utcnow() <= timedelta(hours=12)
    assert client.get(f"{API}/me", headers=bearer(pair)).json()["username"] == "lc-gaj"


def test_a_refresh_rotates_the_refresh_token(client, world, defaults) -> None:
    first = login(client, "lc-gaj")
    second = refresh(client, first["refresh_token"]).json()
    assert second["session_id"] == first["session_id"] and second["refresh_token"] != first["refresh_token"]
    third = refresh(client, second["refresh_token"], as_json=True)  # the same fields as JSON
    assert third.status_code == 200, third.text
    for pair in (first, second, third.json()):  # access tokens of a live session keep working until they expire
        assert client.get(f"{API}/me", headers=bearer(pair)).status_code == 200
    missing = client.post(f"{API}/auth/refresh", json={})
    assert missing.status_code == 422 and "refresh_token" in missing.json()["detail"]
    refused(refresh(client, "not-a-refresh-token"), "refresh_token_invalid")


def test_a_rotated_refresh_token_presented_again_ends_the_whole_session(client, world, defaults) -> None:
    stolen = login(client, "lc-gaj")
    rotated = refresh(client, stolen["refresh_token"]).json()
    # a forged one (right session and generation, wrong secret part) is refused without ending anything
    sid, generation, mac = rotated["refresh_token"].split(".")
    forged = f"{sid}.{int(generation) - 1}.{'A' * len(mac)}"
    refused(refresh(client, forged), "refresh_token_invalid")
    assert client.get(f"{API}/me", headers=bearer(rotated)).status_code == 200

    refused(refresh(client, stolen["refresh_token"]), "refresh_token_reused")
    refused(refresh(client, rotated["refresh_token"]), "session_ended")  # the newest refresh token too
    for pair in (stolen, rotated):
        refused(client.get(f"{API}/me", headers=bearer(pair)), "session_ended")
    answer = client.post("/graphql", json={"query": "{ viewer { username } }"}, headers=bearer(rotated))
    assert answer.json()["errors"][0]["extensions"]["code"] == "session_ended"


def test_logout_ends_the_session_at_once(client, world, defaults, session) -> None:
    from app.services.accounts import users

    pair = login(client, "lc-gaj")
    other = login(client, "lc-gaj")  # another device of the same account
    assert client.post(f"{API}/auth/logout", headers=bearer(pair)).status_code == 204
    refused(client.get(f"{API}/me", headers=bearer(pair)), "session_ended")
    refused(refresh(client, pair["refresh_token"]), "session_ended")
    refused(client.post(f"{API}/auth/logout", headers=bearer(pair)), "session_ended")
    assert client.get(f"{API}/me", headers=bearer(other)).status_code == 200  # only that session ended

    token, _ = users.mint_script_token(session, username="lc-gaj", name="同步脚本", days=1)
    session.commit()
    script = client.post(f"{API}/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert script.status_code == 422 and script.json()["code"] == "not_a_login_session"


def test_thirty_minutes_without_a_refresh_end_the_session(client, world, defaults, session) -> None:
    pair = login(client, "lc-gaj")
    now = utcnow()
    move_clock(
        session, pair["session_id"], started_at=now - timedelta(minutes=29), refreshed_at=now - timedelta(minutes=29)
    )
    assert client.get(f"{API}/me", headers=bearer(pair)).status_code == 200  # 29 minutes: still on
    renewed = refresh(client, pair["refresh_token"])
    assert renewed.status_code == 200  # and a refresh starts the 30 minutes again
    move_clock(session, pair["session_id"], refreshed_at=utcnow() - timedelta(minutes=31))
    refused(client.get(f"{API}/me", headers=bearer(renewed.json())), "session_idle")
    refused(refresh(client, renewed.json()["refresh_token"]), "session_idle")


def test_twelve_hours_end_the_session_however_often_it_is_refreshed(client, world, defaults, session) -> None:
    pair = login(client, "lc-gaj")
    move_clock(session, pair["session_id"], started_at=utcnow() - timedelta(hours=11, minutes=55))
    last = refresh(client, pair["refresh_token"]).json()
    assert last["expires_in"] <= 5 * 60  # the access token ends with the session, not 15 minutes later
    assert jwt.get_unverified_claims(last["access_token"])["exp"] <= time.time() + 5 * 60
    move_clock(session, pair["session_id"], started_at=utcnow() - timedelta(hours=12, seconds=1))
    refused(client.get(f"{API}/me", headers=bearer(last)), "session_expired")
    refused(refresh(client, last["refresh_token"]), "session_expired")


def test_people_list_and_end_their_own_sessions_only(client, world, defaults) -> None:
    phone = login(client, "lc-gaj", **{"User-Agent": "Mozilla/5.0 (iPhone) phone"})
    desk = login(client, "lc-gaj")
    mine = client.get(f"{API}/me/sessions", headers=bearer(desk)).json()["items"]
    by_id = {s["id"]: s for s in mine}
    assert by_id[desk["session_id"]]["current"] and not by_id[phone["session_id"]]["current"]
    assert (
        by_id[phone["session_id"]]["user_agent"] == "Mozilla/5.0 (iPhone) phone"
        and by_id[phone["session_id"]]["method"] == "password"
    )
    assert {s["username"] for s in mine} == {"lc-gaj"}

    assert client.delete(f"{API}/me/sessions/{phone['session_id']}", headers=bearer(desk)).status_code == 204
    refused(client.get(f"{API}/me", headers=bearer(phone)), "session_ended")
    listed = client.get(f"{API}/me/sessions", headers=bearer(desk)).json()["items"]
    assert phone["session_id"] not in {s["id"] for s in listed} and desk["session_id"] in {s["id"] for s in listed}

    someone_else = login(client, "gp-sfj")
    r = client.delete(f"{API}/me/sessions/{someone_else['session_id']}", headers=bearer(desk))
    assert r.status_code == 404 and r.json()["code"] == "session_not_found"
    gone = client.delete(f"{API}/me/sessions/999999999", headers=bearer(desk))
    assert gone.status_code == 404 and gone.json() == {**r.json(), "instance": gone.json()["instance"]}
    assert client.get(f"{API}/me", headers=bearer(someone_else)).status_code == 200
    assert someone_else["session_id"] not in {s["id"] for s in listed}


def test_the_security_administrator_ends_anyones_session(client, world, defaults) -> None:
    victim = login(client, "gp-sfj")
    listed = client.get(f"{API}/sessions", params={"user_id": _user_id(client, victim)}, headers=world.auth("secadmin"))
    assert victim["session_id"] in {s["id"] for s in listed.json()["items"]}
    for who, code in (("lc-office", "forbidden"), ("gp-sfj", "forbidden"), ("sysadmin", "duty_refused")):
        assert client.get(f"{API}/sessions", headers=world.auth(who)).status_code == 403
        r = client.delete(f"{API}/sessions/{victim['session_id']}", headers=world.auth(who))
        assert r.status_code == 403 and r.json()["code"] == code, who
    assert client.get(f"{API}/me", headers=bearer(victim)).status_code == 200
    assert client.delete(f"{API}/sessions/{victim['session_id']}", headers=world.auth("secadmin")).status_code == 204
    refused(client.get(f"{API}/me", headers=bearer(victim)), "session_ended")
    refused(refresh(client, victim["refresh_token"]), "session_ended")
    missing = client.delete(f"{API}/sessions/999999999", headers=world.auth("secadmin"))
    assert missing.status_code == 404 and missing.json()["code"] == "session_not_found"


def _user_id(client: TestClient, pair: dict) -> int:
    return client.get(f"{API}/me", headers=bearer(pair)).json()["user_id"]


def test_every_login_event_is_in_the_audit_trail_without_passwords(app, client, world, defaults) -> None:
    secret = "Wrong-Pa55word-" + str(time.time_ns())
    with TestClient(app, client=("198.51.100.31", 40000)) as c:  # its own address: the throttle counts per address
        assert c.post(f"{API}/auth/token", data={"username": "lc-gaj", "password": secret}).status_code == 401
        assert c.post(f"{API}/auth/token", data={"username": "no-such-person", "password": secret}).status_code == 401
        pair = login(c, "lc-gaj")
        rotated = refresh(c, pair["refresh_token"]).json()
        refused(refresh(c, pair["refresh_token"]), "refresh_token_reused")
        own = login(c, "lc-gaj")
        other = login(c, "lc-gaj")
        assert c.delete(f"{API}/me/sessions/{other['session_id']}", headers=bearer(own)).status_code == 204
        assert c.delete(f"{API}/sessions/{own['session_id']}", headers=world.auth("secadmin")).status_code == 204
        last = login(c, "lc-gaj")
        assert c.post(f"{API}/auth/logout", headers=bearer(last)).status_code == 204

    def entries(action: str) -> list[dict]:
        r = client.get(f"{API}/audit", params={"action": action, "limit": 50}, headers=world.auth("auditadmin"))
        assert r.status_code == 200, r.text
        return r.json()["items"]

    failures = {e["after"]["reason"]: e for e in entries("login.failure") if e["after"]["client"] == "198.51.100.31"}
    assert failures["wrong_password"]["object_id"] == "lc-gaj" and failures["wrong_password"]["username"] == "lc-gaj"
    assert failures["unknown_user"]["after"]["username"] == "no-such-person"
    mine = {str(p["session_id"]) for p in (pair, own, other, last)}
    success = [e for e in entries("login.success") if e["object_id"] in mine]
    assert len(success) == 4 and {e["after"]["method"] for e in success} == {"password"}
    assert any(e["object_id"] == str(rotated["session_id"]) for e in entries("session.refresh"))
    reused = next(e for e in entries("session.refresh_reused") if e["object_id"] == str(pair["session_id"]))
    assert reused["after"]["presented_generation"] == 0 and reused["after"]["current_generation"] == 1
    by_user = next(e for e in entries("session.ended_by_user") if e["object_id"] == str(other["session_id"]))
    assert by_user["username"] == "lc-gaj"
    by_admin = next(e for e in entries("session.ended_by_admin") if e["object_id"] == str(own["session_id"]))
    assert by_admin["username"] == "secadmin" and by_admin["after"]["username"] == "lc-gaj"
    assert any(e["object_id"] == str(last["session_id"]) for e in entries("session.logout"))
    everything = client.get(f"{API}/audit", params={"limit": 500}, headers=world.auth("auditadmin")).json()["items"]
    assert secret not in json.dumps(everything, ensure_ascii=False) and PASSWORD not in json.dumps(everything)
