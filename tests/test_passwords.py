"""Password rules (issue 23 point 2), through HTTP with real tokens: the policy's rules, expiry and the change forced
after an administrator sets a password (every other route refuses until then), lockout and unlock, and the
security administrator tightening the policy; each of these audited."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select

from app.models import LoginAttempt, User
from app.models._base import utcnow
from tests.evidence_kit import API

FIRST = "Kf7-first-pass"
DEFAULTS = {
    "min_length": 8,
    "min_classes": 3,
    "history": 5,
    "max_age_days": 90,
    "lockout_failures": 5,
    "lockout_window_minutes": 15,
    "lockout_minutes": 30,
}


def _account(client, world, role: str = "evaluator") -> tuple[int, str]:
    """A new account made by the system administrator (so its password must be changed first)."""
    name = f"pw-{uuid.uuid4().hex[:8]}"
    body = {"username": name, "display_name": "测试账号", "role": role, "password": FIRST}
    r = client.post(f"{API}/users", json=body, headers=world.auth("sysadmin"))
    assert r.status_code == 201, r.text
    return r.json()["id"], name


def _login(client, name: str, password: str) -> dict[str, str]:
    r = client.post(f"{API}/auth/token", data={"username": name, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _change(client, headers, current: str, new: str):
    return client.post(f"{API}/me/password", json={"current_password": current, "new_password": new}, headers=headers)


def _trail(client, world, **params) -> list[dict]:
    r = client.get(f"{API}/audit", params={"limit": 50, **params}, headers=world.auth("auditadmin"))
    return r.json()["items"]


def _refused_everywhere(client, headers, code: str) -> None:
    """Every kind of route refuses the caller with code: a plain one, a fast read, a streaming upload, GraphQL."""
    for method, url in (
        ("GET", f"{API}/me"),
        ("GET", f"{API}/me/assignments"),
        ("GET", f"{API}/frameworks"),
        ("POST", f"{API}/assignments/1/evidence/file"),
    ):
        r = client.request(method, url, headers=headers)
        assert r.status_code == 403 and r.json()["code"] == code, (url, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "POST /api/v1/me/password" in r.json()["detail"]
    answer = client.post("/graphql", json={"query": "{ viewer { username } }"}, headers=headers).json()
    assert answer["errors"][0]["extensions"]["code"] == code


def test_a_password_set_by_an_administrator_is_changed_before_anything_else(client, world) -> None:
    user_id, name = _account(client, world)
    mine = _login(client, name, FIRST)
    _refused_everywhere(client, mine, "password_change_required")
    # the rules, each broken one named
    weak = _change(client, mine, FIRST, "abc")
    assert weak.status_code == 422 and weak.json()["code"] == "password_too_weak"
    assert len(weak.json()["errors"]) == 2 and weak.json()["errors"][0]["loc"] == "body.new_password"
    assert _change(client, mine, FIRST, f"X1-{name}").json()["code"] == "password_too_weak"  # holds the username
    assert _change(client, mine, FIRST, "alllowercase1").json()["code"] == "password_too_weak"  # two classes
    assert _change(client, mine, "wrong", "Qx9!fresh-one").json()["code"] == "current_password_wrong"
    assert _change(client, mine, FIRST, FIRST).json()["code"] == "password_too_weak"  # the one it has
    assert _change(client, mine, FIRST, "Qx9!fresh-one").status_code == 204
    assert client.get(f"{API}/me", headers=mine).status_code == 200  # the same token works on
    # not one of the last five
    passwords = ["Qx9!fresh-one", "Qx9!second-1", "Qx9!third-22", "Qx9!fourth-3", "Qx9!fifth-44"]
    for current, new in zip(passwords, passwords[1:], strict=False):
        assert _change(client, mine, current, new).status_code == 204
    reused = _change(client, mine, passwords[-1], "Qx9!second-1")
    assert reused.status_code == 422 and "最近 5 次" in reused.json()["detail"]
    assert _change(client, mine, passwords[-1], FIRST).status_code == 204  # six changes ago
    # the system administrator resets it: changed again at the next login; an administrator's never
    r = client.post(
        f"{API}/users/{user_id}/password", json={"new_password": "Rs7-reset-pass"}, headers=world.auth("sysadmin")
    )
    assert r.status_code == 204
    _refused_everywhere(client, mine, "password_change_required")  # the token from before the reset too
    assert client.post(f"{API}/auth/token", data={"username": name, "password": FIRST}).status_code == 401
    again = _login(client, name, "Rs7-reset-pass")
    assert client.get(f"{API}/me", headers=again).json()["code"] == "password_change_required"
    assert _change(client, again, "Rs7-reset-pass", "Qx9!after-reset").status_code == 204
    assert client.get(f"{API}/me", headers=again).status_code == 200
    sec = client.get(f"{API}/security/accounts", params={"limit": 500}, headers=world.auth("secadmin")).json()
    secadmin = next(a["id"] for a in sec["items"] if a["username"] == "secadmin")
    body = {"new_password": "Rs7-reset-pass"}
    for target, code in ((secadmin, "duty_password_reset"), (987654321, "user_not_found")):
        r = client.post(f"{API}/users/{target}/password", json=body, headers=world.auth("sysadmin"))
        assert r.json()["code"] == code
    assert client.post(f"{API}/users/{user_id}/password", json=body, headers=world.auth("lc-office")).status_code == 403
    actions = [(e["action"], e["username"]) for e in _trail(client, world, object_type="user", object_id=str(user_id))]
    assert actions[:2] == [("user.password.change", name), ("user.password.reset", "sysadmin")]
    assert actions.count(("user.password.change", name)) == 7
    assert not any("password" in key and "hash" in key for e in _trail(client, world) for key in (e["after"] or {}))


def test_an_expired_password_blocks_everything_but_the_change(client, world, session) -> None:
    user_id, name = _account(client, world)
    mine = _login(client, name, FIRST)
    assert _change(client, mine, FIRST, "Qx9!fresh-one").status_code == 204
    session.execute(sa.update(User).where(User.id == user_id).values(password_changed_at=utcnow() - timedelta(days=91)))
    session.commit()
    _refused_everywhere(client, mine, "password_expired")
    assert "90 天" in client.get(f"{API}/me", headers=mine).json()["detail"]
    later = _login(client, name, "Qx9!fresh-one")  # logging in still works: the change needs a token
    assert client.get(f"{API}/me", headers=later).json()["code"] == "password_expired"
    assert _change(client, later, "Qx9!fresh-one", "Qx9!renewed-22").status_code == 204
    assert client.get(f"{API}/me", headers=later).status_code == 200
    view = client.get(f"{API}/security/accounts", params={"limit": 500}, headers=world.auth("secadmin")).json()
    row = next(a for a in view["items"] if a["id"] == user_id)
    assert not row["must_change_password"] and row["password_expires_at"] > utcnow().isoformat()


@pytest.fixture
def own_address(app) -> Iterator[TestClient]:
    """A client of its own address (the per-address throttle counts the whole suite's failures otherwise)."""
    with TestClient(app, client=(f"203.0.113.{uuid.uuid4().int % 250 + 1}", 40000)) as c:
        yield c


def test_lockout_and_unlock(client, world, session, own_address) -> None:
    user_id, name = _account(client, world)
    for _ in range(5):
        r = own_address.post(f"{API}/auth/token", data={"username": name, "password": "wrong"})
        assert r.status_code == 401 and r.json()["code"] == "invalid_credentials"
    locked = own_address.post(f"{API}/auth/token", data={"username": name, "password": FIRST})
    assert locked.status_code == 423 and locked.json()["code"] == "account_locked", locked.text
    assert "安全管理员" in locked.json()["detail"]
    sec = world.auth("secadmin")
    view = client.get(f"{API}/security/accounts", params={"limit": 500}, headers=sec).json()
    assert next(a for a in view["items"] if a["id"] == user_id)["locked_until"] is not None
    lockout = _trail(client, world, action="user.lockout", object_id=str(user_id))
    assert len(lockout) == 1 and lockout[0]["username"] == "system"
    # only the security administrator lifts it
    assert client.post(f"{API}/security/accounts/{user_id}/unlock", headers=world.auth("sysadmin")).status_code == 403
    r = client.post(f"{API}/security/accounts/{user_id}/unlock", headers=sec)
    assert r.status_code == 200 and r.json()["locked_until"] is None
    assert own_address.post(f"{API}/auth/token", data={"username": name, "password": FIRST}).status_code == 200
    unlock = _trail(client, world, action="user.unlock", object_id=str(user_id))
    assert unlock[0]["username"] == "secadmin" and unlock[0]["before"]["locked_until"]
    # locked again, then lifted by time: 30 minutes after the fifth failure
    for _ in range(5):
        own_address.post(f"{API}/auth/token", data={"username": name, "password": "wrong"})
    assert own_address.post(f"{API}/auth/token", data={"username": name, "password": FIRST}).status_code == 423
    failures = select(LoginAttempt).where(LoginAttempt.username == name, LoginAttempt.succeeded.is_(False))
    for attempt in session.exec(failures).all():
        attempt.at -= timedelta(minutes=31)
        session.add(attempt)
    session.commit()
    assert own_address.post(f"{API}/auth/token", data={"username": name, "password": FIRST}).status_code == 200


def test_the_security_administrator_tightens_the_policy(client, world, own_address) -> None:
    sec, url = world.auth("secadmin"), f"{API}/security/password-policy"
    assert client.get(url, headers=sec).json() | {"updated_at": None} == {**DEFAULTS, "updated_at": None}
    for who in ("sysadmin", "auditadmin"):
        assert client.put(url, json=DEFAULTS, headers=world.auth(who)).json()["code"] == "duty_refused"
    assert client.put(url, json=DEFAULTS, headers=world.auth("lc-office")).status_code == 403
    weaker = client.put(url, json={**DEFAULTS, "min_length": 6, "max_age_days": 180}, headers=sec)
    assert weaker.status_code == 422 and {e["loc"] for e in weaker.json()["errors"]} == {
        "body.min_length",
        "body.max_age_days",
    }
    tighter = {**DEFAULTS, "min_length": 12, "min_classes": 4, "lockout_failures": 3, "lockout_minutes": 60}
    try:
        r = client.put(url, json=tighter, headers=sec)
        assert r.status_code == 200 and r.json()["min_length"] == 12, r.text
        user_id, name = _account(client, world)  # the new rules hold for the password an administrator sets
        r = client.post(
            f"{API}/users/{user_id}/password", json={"new_password": "short-pass1"}, headers=world.auth("sysadmin")
        )
        assert r.status_code == 422 and "至少 12 个字符" in r.json()["detail"] and "至少 4 类" in r.json()["detail"]
        mine = _login(client, name, FIRST)
        assert _change(client, mine, FIRST, "qx9-fresh-one-x").json()["code"] == "password_too_weak"  # 3 classes
        assert _change(client, mine, FIRST, "Qx9!short").json()["code"] == "password_too_weak"  # 9 characters
        assert _change(client, mine, FIRST, "Qx9!fresh-ONE-1").status_code == 204
        # three failures lock now
        for _ in range(3):
            assert own_address.post(f"{API}/auth/token", data={"username": name, "password": "x"}).status_code == 401
        r = own_address.post(f"{API}/auth/token", data={"username": name, "password": "Qx9!fresh-ONE-1"})
        assert r.status_code == 423
    finally:
        assert client.put(url, json=DEFAULTS, headers=sec).status_code == 200
    entries = _trail(client, world, action="password_policy.update")
    assert entries[0]["username"] == "secadmin" and entries[0]["after"] == DEFAULTS
    assert entries[1]["before"]["min_length"] == 8 and entries[1]["after"]["min_length"] == 12
