"""Login and tokens: password flow, expiry, tampering, algorithm pinning, script token revocation."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta

from jose import jwt

from app.services import auth
from app.services.accounts import users
from app.settings import get_settings


def test_login_and_me_for_every_role(client, world) -> None:
    expected = {
        "sysadmin": "system_admin",
        "secadmin": "security_admin",
        "auditadmin": "audit_admin",
        "lc-office": "office",
        "lc-sfj": "liaison",
        "evaluator": "evaluator",
        "sx-province": "province",
    }
    for username, role in expected.items():
        me = client.get("/api/v1/me", headers=world.auth(username))
        assert me.status_code == 200, me.text
        assert me.json()["role"] == role and me.json()["username"] == username
    assert client.get("/api/v1/me", headers=world.auth("lc-sfj")).json()["unit_id"] == world.ids["lc_sfj"]
    assert client.get("/api/v1/me", headers=world.auth("evaluator")).json()["campaign_ids"] == [
        world.ids["lc_campaign"]
    ]


def test_wrong_password_and_unknown_user_answer_alike(client, world) -> None:
    a = client.post("/api/v1/auth/token", data={"username": "lc-office", "password": "wrong-password"})
    b = client.post("/api/v1/auth/token", data={"username": "no-such-user", "password": "wrong-password"})
    assert a.status_code == b.status_code == 401
    assert a.json()["code"] == b.json()["code"] == "invalid_credentials"
    assert a.json()["detail"] == b.json()["detail"] == "用户名或密码错误"


def test_missing_token(client, world) -> None:
    r = client.get("/api/v1/me")
    assert r.status_code == 401 and r.json()["code"] == "not_authenticated"
    assert r.headers["www-authenticate"] == "Bearer"


def _claims(token: str) -> dict:
    return jwt.get_unverified_claims(token)


def _b64(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_expired_token(client, world) -> None:
    token, _ = auth.issue_token(
        user_id=_claims(world.tokens["lc-office"])["sub"], role="office", ttl=timedelta(seconds=-5)
    )
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and r.json()["code"] == "token_expired"


def test_tampered_payload_is_refused(client, world) -> None:
    header, payload, sig = world.tokens["lc-sfj"].split(".")
    claims = _claims(world.tokens["lc-sfj"])
    claims["role"] = "system_admin"
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {header}.{_b64(claims)}.{sig}"})
    assert r.status_code == 401 and r.json()["code"] == "token_invalid"


def test_alg_none_is_refused(client, world) -> None:
    claims = _claims(world.tokens["sysadmin"])
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and r.json()["code"] == "token_invalid"


def test_wrong_audience_issuer_and_secret(client, world) -> None:
    claims = _claims(world.tokens["sysadmin"])
    secret = get_settings().secret()
    for changed, key in (({**claims, "aud": "other"}, secret), ({**claims, "iss": "evil"}, secret), (claims, "x" * 40)):
        token = jwt.encode(changed, key, algorithm="HS256")
        r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, changed
        assert r.json()["code"] == "token_invalid"


def test_not_yet_valid_token(client, world) -> None:
    claims = {**_claims(world.tokens["sysadmin"]), "nbf": int(time.time()) + 3600}
    token = jwt.encode(claims, get_settings().secret(), algorithm="HS256")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_script_token_works_until_revoked(client, world, session) -> None:
    token, row = users.mint_script_token(session, username="lc-office", name="nightly-sync", days=30)
    session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    users.revoke_script_token(session, token_id=row.id)
    session.commit()
    r = client.get("/api/v1/me", headers=headers)
    assert r.status_code == 401 and r.json()["code"] == "token_revoked"


def test_passwords_are_argon2(session) -> None:
    from sqlmodel import select

    from app.models import User

    hashed = session.exec(select(User.password_hash).where(User.username == "lc-office")).one()
    assert hashed.startswith("$argon2id$")


def test_deployments_hash_at_the_standard_cost(monkeypatch) -> None:
    """The suite hashes cheaply (SHIFAN_PASSWORD_HASH_COST=cheapest, set in conftest); without the setting a
    deployment gets argon2-cffi's RFC 9106 low-memory profile (3 passes over 64 MiB, 4 lanes)."""
    monkeypatch.delenv("SHIFAN_PASSWORD_HASH_COST")
    get_settings.cache_clear()
    try:
        hashed = auth.hash_password("correct horse")
        assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
        assert auth.verify_password("correct horse", hashed)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
