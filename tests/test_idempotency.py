"""Idempotency-Key on POSTs that create things: a retried request creates once and gets the first answer,
a reused key on another request is refused, a server failure lets the retry run, a key in flight is 409.
(File uploads and the sweep over every POST: tests/test_idempotent_uploads.py.)"""

from __future__ import annotations

import threading
import time

from app.services.assessment import scoring
from tests.evidence_kit import API


def _rounds(client, world) -> list[dict]:
    r = client.get(f"{API}/campaigns/{world.ids['gp_campaign']}/rounds", headers=world.auth("gp-office"))
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_a_retry_creates_once_and_gets_the_first_answer(client, world) -> None:
    url = f"{API}/campaigns/{world.ids['gp_campaign']}/rounds"
    h = {**world.auth("gp-office"), "Idempotency-Key": "script-run-42:round"}
    before = len(_rounds(client, world))
    first = client.post(url, json={"name": "幂等"}, headers=h)
    again = client.post(url, json={"name": "幂等"}, headers=h)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert len(_rounds(client, world)) == before + 1
    other = client.post(url, json={"name": "另一个"}, headers=h)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    # keys belong to the caller: the same key from another account is its own request
    admin = client.post(
        url, json={"name": "幂等"}, headers={**world.auth("sysadmin"), "Idempotency-Key": "script-run-42:round"}
    )
    assert admin.status_code == 201 and admin.json()["id"] != first.json()["id"]


def test_a_refusal_is_replayed_but_a_server_failure_lets_the_retry_run(app, client, world, monkeypatch) -> None:
    from fastapi.testclient import TestClient

    url = f"{API}/campaigns/{world.ids['gp_campaign']}/rounds"
    h = {**world.auth("gp-office"), "Idempotency-Key": "retry-after-500"}

    def broken(*args, **kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(scoring, "create_round", broken)
    with TestClient(app, raise_server_exceptions=False) as plain:  # answers 500 as a real server does
        failed = plain.post(url, json={"name": "故障后重试"}, headers=h)
    assert failed.status_code == 500
    monkeypatch.undo()
    retried = client.post(url, json={"name": "故障后重试"}, headers=h)
    assert retried.status_code == 201 and "idempotent-replayed" not in retried.headers

    bad = {**world.auth("gp-office"), "Idempotency-Key": "bad-body"}
    first = client.post(url, json={"name": ""}, headers=bad)
    again = client.post(url, json={"name": ""}, headers=bad)
    assert first.status_code == again.status_code == 422 and again.json() == first.json()


def test_a_key_in_flight_is_409(client, world, monkeypatch) -> None:
    url = f"{API}/campaigns/{world.ids['gp_campaign']}/rounds"
    h = {**world.auth("gp-office"), "Idempotency-Key": "in-flight"}
    original = scoring.create_round

    def slow(*args, **kwargs):
        time.sleep(1.0)
        return original(*args, **kwargs)

    monkeypatch.setattr(scoring, "create_round", slow)
    results: list[int] = []
    first = threading.Thread(
        target=lambda: results.append(client.post(url, json={"name": "慢"}, headers=h).status_code)
    )
    first.start()
    time.sleep(0.3)
    second = client.post(url, json={"name": "慢"}, headers=h)
    first.join()
    assert results == [201]
    assert second.status_code == 409 and second.json()["code"] == "idempotency_in_progress"


def test_a_malformed_key_is_refused_plainly(client, world) -> None:
    bad = client.post(f"{API}/campaigns/{world.ids['gp_campaign']}/rounds", json={"name": "x"},
                      headers={**world.auth("gp-office"), "Idempotency-Key": "has space"})  # fmt: skip
    assert bad.status_code == 400 and bad.json()["code"] == "idempotency_key_invalid"


def _login(client, username: str) -> dict[str, str]:
    r = client.post(f"{API}/auth/token", data={"username": username, "password": "shifan-demo"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_keys_belong_to_the_account_not_the_token(client, world) -> None:
    # A script logs in, posts, loses the answer, logs in again and retries with the same key: one round.
    url = f"{API}/campaigns/{world.ids['gp_campaign']}/rounds"
    before = len(_rounds(client, world))
    first = client.post(
        url, json={"name": "重新登录"}, headers={**_login(client, "gp-office"), "Idempotency-Key": "k-relog"}
    )
    again = client.post(
        url, json={"name": "重新登录"}, headers={**_login(client, "gp-office"), "Idempotency-Key": "k-relog"}
    )
    assert first.status_code == again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true" and again.json()["id"] == first.json()["id"]
    assert len(_rounds(client, world)) == before + 1


def test_a_token_that_no_longer_authenticates_gets_401_not_a_replay(client, world, session) -> None:
    from datetime import timedelta

    from sqlmodel import select

    from app.models import IdempotencyRecord
    from app.services import auth
    from app.services.accounts import users

    url = f"{API}/campaigns/{world.ids['gp_campaign']}/rounds"
    token, row = users.mint_script_token(session, username="gp-office", name="幂等脚本", days=30)
    session.commit()
    script = {"Authorization": f"Bearer {token}", "Idempotency-Key": "k-revoked"}
    assert client.post(url, json={"name": "吊销前"}, headers=script).status_code == 201
    users.revoke_script_token(session, token_id=row.id)
    session.commit()
    revoked = client.post(url, json={"name": "吊销前"}, headers=script)
    assert revoked.status_code == 401 and revoked.json()["code"] == "token_revoked"
    assert "idempotent-replayed" not in revoked.headers

    user_id = world_user_id(session, "gp-office")
    expired, _ = auth.issue_token(user_id=user_id, role="office", ttl=timedelta(seconds=-5))
    late = client.post(
        url, json={"name": "吊销前"}, headers={"Authorization": f"Bearer {expired}", "Idempotency-Key": "k-revoked"}
    )
    assert late.status_code == 401 and "idempotent-replayed" not in late.headers

    # Nothing is stored for a request that does not authenticate.
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": f"Bearer {expired}"}):
        r = client.post(url, json={"name": "匿名"}, headers={**headers, "Idempotency-Key": "k-anonymous"})
        assert r.status_code == 401
    session.expire_all()
    assert session.exec(select(IdempotencyRecord).where(IdempotencyRecord.key == "k-anonymous")).all() == []


def world_user_id(session, username: str) -> int:
    from sqlmodel import select

    from app.models import User

    return session.exec(select(User.id).where(User.username == username)).one()


def test_a_kept_answer_holding_a_secret_is_not_in_the_clear(client, world, session) -> None:
    from sqlmodel import select

    from app.models import IdempotencyRecord

    h = {**world.auth("gp-office"), "Idempotency-Key": "k-webhook-secret"}
    first = client.post(f"{API}/webhooks", json={"url": "https://93.184.216.34/hook"}, headers=h)
    assert first.status_code == 201, first.text
    secret = first.json()["secret"]
    stored = session.exec(select(IdempotencyRecord).where(IdempotencyRecord.key == "k-webhook-secret")).one()
    assert stored.owner == f"user:{world_user_id(session, 'gp-office')}"
    assert secret.encode() not in stored.body and b"secret" not in stored.body
    again = client.post(f"{API}/webhooks", json={"url": "https://93.184.216.34/hook"}, headers=h)
    assert again.headers["idempotent-replayed"] == "true" and again.json()["secret"] == secret
    client.delete(f"{API}/webhooks/{first.json()['id']}", headers=world.auth("gp-office"))


def test_a_database_away_while_the_key_is_looked_up_is_503_not_500(app, world, monkeypatch) -> None:
    # Found by the soak (bench/soak): the middleware reads the account and the key record before the app's
    # exception handlers run, so a PostgreSQL restart there was answered 500 internal_error.
    import sqlalchemy as sa
    from fastapi.testclient import TestClient

    from app.services.platform import idempotency

    def refused(*args, **kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    url = f"{API}/campaigns/{world.ids['gp_campaign']}/rounds"
    for name in ("owner_of", "begin"):
        monkeypatch.setattr(idempotency, name, refused)
        h = {**world.auth("gp-office"), "Idempotency-Key": f"while-restarting-{name}"}
        with TestClient(app, raise_server_exceptions=False) as plain:
            r = plain.post(url, json={"name": "数据库重启中"}, headers=h)
        assert r.status_code == 503, (name, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "database_unavailable"
        monkeypatch.undo()

    # a statement the database refuses is still our fault, not an outage
    def bad_statement(**kwargs):
        raise sa.exc.ProgrammingError("SELECT nothing", {}, Exception("syntax error"))

    monkeypatch.setattr(idempotency, "begin", bad_statement)
    with TestClient(app, raise_server_exceptions=False) as plain:
        r = plain.post(url, json={"name": "坏语句"}, headers={**world.auth("gp-office"), "Idempotency-Key": "bad-sql"})
    assert r.status_code == 500 and r.json()["code"] == "internal_error"


def test_a_database_lost_after_the_answer_leaves_the_answer_alone(client, world, monkeypatch) -> None:
    # Found by the soak: a PostgreSQL restart between the answer and closing the key's record raised out of the
    # middleware after the response ("Exception in ASGI application"); now it is logged and the record left open.
    import sqlalchemy as sa

    from app.services.platform import idempotency

    def refused(*args, **kwargs):
        raise sa.exc.OperationalError("UPDATE idempotency_record", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setattr(idempotency, "finish", refused)
    url = f"{API}/campaigns/{world.ids['gp_campaign']}/rounds"
    h = {**world.auth("gp-office"), "Idempotency-Key": "answer-then-restart"}
    r = client.post(url, json={"name": "答复后数据库重启"}, headers=h)  # the test client raises what escapes
    assert r.status_code == 201, r.text
    monkeypatch.undo()
    again = client.post(url, json={"name": "答复后数据库重启"}, headers=h)
    assert again.status_code == 409 and again.json()["code"] == "idempotency_in_progress"
