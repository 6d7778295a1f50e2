"""The outbox and webhook delivery against a real HTTP receiver: signatures, retries with backoff,
two workers at once, a worker killed mid-delivery, deadline reminders deduplicated, and events that
exist exactly when their change committed."""

from __future__ import annotations

import base64
import json
import threading
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlmodel import select
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from app.db import session_scope
from app.models._base import utcnow
from app.models.outbox import Delivery, OutboxEvent
from app.services.notifications import delivery, events
from tests.conftest import pin_today

API = "/api/v1"
pytestmark = pytest.mark.usefixtures("retire_webhooks")  # the outbox stays small for later tests


class Receiver:
    """A webhook receiver on 127.0.0.1 that checks signatures (with the standardwebhooks library) and honours
    Idempotency-Key."""

    def __init__(self, secret: str = "") -> None:
        self.secret = secret
        self.requests: list[dict] = []
        self.processed: dict[str, dict] = {}  # idempotency key → body, once
        self.fail_next = 0
        self.answer: tuple[int, dict[str, str], bytes] | None = None  # a fixed answer instead of 204/500
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.requests.append({"headers": dict(self.headers), "body": body, "at": datetime.now(UTC)})
                    failing = receiver.fail_next > 0
                    receiver.fail_next -= failing
                    if not failing and receiver.verify(self.headers, body):
                        receiver.processed.setdefault(self.headers["Idempotency-Key"], json.loads(body))
                status, headers, text = receiver.answer or (
                    (500, {}, "数据库连接失败：password=hunter2".encode()) if failing else (204, {}, b"")
                )
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def verify(self, headers, body: bytes) -> bool:
        if not self.secret:
            return False
        try:
            StandardWebhook(self.secret).verify(body, dict(headers))
        except WebhookVerificationError:
            return False
        return True

    def stop(self) -> None:
        # Close the socket too: a webhook left registered to a receiver that only stopped answering would cost
        # a later test's worker a 5 s timeout per delivery, where a closed port refuses at once.
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def allow_loopback(monkeypatch):
    """The operator allows 127.0.0.0/8 (SHIFAN_WEBHOOK_ALLOW_NETWORKS): the test receivers listen there."""
    from app.settings import get_settings

    monkeypatch.setenv("SHIFAN_WEBHOOK_ALLOW_NETWORKS", "127.0.0.0/8")
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("SHIFAN_WEBHOOK_ALLOW_NETWORKS")
    get_settings.cache_clear()


@pytest.fixture
def receiver(client, world, allow_loopback):
    r = Receiver()
    created = client.post(f"{API}/webhooks", json={"url": r.url}, headers=world.auth("gp-office"))
    assert created.status_code == 201, created.text
    r.secret, r.hook_id = created.json()["secret"], created.json()["id"]
    yield r
    client.delete(f"{API}/webhooks/{r.hook_id}", headers=world.auth("gp-office"))
    r.stop()


def _deliver(now=None) -> dict:
    with httpx.Client(timeout=5) as http:
        return delivery.run_once(client=http, now=now)


def _gp_statement(client, world, app, text: str) -> dict:
    pin_today(app, date(2023, 2, 10))
    mine = client.get(f"{API}/me/assignments", params={"limit": 500}, headers=world.auth("gp-sfj")).json()["items"]
    target = next(a for a in mine if a["status"] == "not_started")
    r = client.post(
        f"{API}/assignments/{target['id']}/evidence",
        json={"kind": "statement", "text": text},
        headers=world.auth("gp-sfj"),
    )
    assert r.status_code == 201, r.text
    return r.json()


def _drain() -> None:
    """Deliver whatever earlier tests left pending, so each test counts only its own."""
    far = utcnow() + timedelta(days=1)
    while _deliver(now=far)["claimed"]:
        pass


def test_registration_rules(client, world) -> None:
    r = client.post(
        f"{API}/webhooks",
        json={"url": "http://93.184.216.34:9/x", "kinds": ["evidence.returned"]},
        headers=world.auth("gp-office"),
    )
    assert r.status_code == 201 and r.json()["kind"] == "standard"
    secret = r.json()["secret"]  # Standard Webhooks: whsec_ + base64 of a 32-byte key
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    listed = client.get(f"{API}/webhooks", headers=world.auth("gp-office")).json()["items"]
    assert all("secret" not in w for w in listed) and r.json()["id"] in [w["id"] for w in listed]
    assert r.json()["id"] not in [
        w["id"] for w in client.get(f"{API}/webhooks", headers=world.auth("lc-office")).json()["items"]
    ]
    assert client.get(f"{API}/webhooks/{r.json()['id']}/deliveries", headers=world.auth("lc-office")).status_code == 404
    assert client.post(f"{API}/webhooks", json={"url": "ftp://x"}, headers=world.auth("gp-office")).status_code == 422
    assert (
        client.post(
            f"{API}/webhooks", json={"url": "http://x", "kinds": ["nope"]}, headers=world.auth("gp-office")
        ).status_code
        == 422
    )
    assert client.post(f"{API}/webhooks", json={"url": "http://x"}, headers=world.auth("gp-sfj")).status_code == 403
    assert client.delete(f"{API}/webhooks/{r.json()['id']}", headers=world.auth("gp-office")).status_code == 204


def test_review_event_is_signed_delivered_and_logged(client, app, world, receiver) -> None:
    _drain()
    receiver.requests.clear()
    ev = _gp_statement(client, world, app, "本单位已按要求落实。")
    returned = client.post(
        f"{API}/evidence/{ev['id']}/reviews",
        json={"decision": "return", "version": 1, "comment": "请补充2022年台账"},
        headers=world.auth("gp-office"),
    )
    assert returned.status_code == 201
    receiver.fail_next = 1  # the first attempt meets a 500
    assert _deliver() == {"claimed": 1, "delivered": 0, "failed": 1}
    assert _deliver() == {"claimed": 0, "delivered": 0, "failed": 0}  # backing off, not due yet
    assert _deliver(now=utcnow() + timedelta(seconds=31)) == {"claimed": 1, "delivered": 1, "failed": 0}
    first, second = receiver.requests
    assert first["headers"]["Idempotency-Key"] == second["headers"]["Idempotency-Key"]
    assert second["headers"]["X-Shifan-Attempt"] == "2"
    body = next(iter(receiver.processed.values()))
    assert body["type"] == "evidence.returned" and body["data"]["comment"] == "请补充2022年台账"
    assert body["data"]["evidence_id"] == ev["id"] and body["county_id"] == world.ids["gp_county"]
    log = client.get(f"{API}/webhooks/{receiver.hook_id}/deliveries", headers=world.auth("gp-office")).json()
    entry = log["items"][0]
    assert entry["status"] == "delivered" and [a["status_code"] for a in entry["log"]] == [500, 204]
    # The log keeps the status and a short reason, never what the receiver answered.
    assert entry["log"][0]["error"] == "HTTP 500 Internal Server Error" and "hunter2" not in json.dumps(log)
    # A tampered body fails the receiver's check.
    assert not receiver.verify(first["headers"], first["body"] + b" ")
    # Standard Webhooks: the id is the event's (the same on a retry), the old header is not sent to new webhooks.
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"] == body["id"]
    assert "X-Shifan-Signature" not in first["headers"] and body["timestamp"] == body["created_at"]


def test_no_event_without_its_change(client, app, world, receiver, session) -> None:
    ev = _gp_statement(client, world, app, "情况说明")
    before = len(session.exec(select(OutboxEvent.id)).all())
    stale = client.post(
        f"{API}/evidence/{ev['id']}/reviews",
        json={"decision": "approve", "version": 9},
        headers=world.auth("gp-office"),
    )
    assert stale.status_code == 404 and stale.json()["code"] == "version_not_found"  # no version 9: refused
    session.expire_all()
    assert len(session.exec(select(OutboxEvent.id)).all()) == before


def test_two_workers_never_send_twice(client, app, world, receiver) -> None:
    _drain()
    receiver.processed.clear()
    receiver.requests.clear()
    with session_scope() as s:
        for n in range(30):
            events.emit(
                s,
                kind=events.EventKind.scores_released,
                county_id=world.ids["gp_county"],
                campaign_id=None,
                data={"n": n},
            )
    barrier = threading.Barrier(2)

    def work() -> None:
        barrier.wait()
        while _deliver()["claimed"]:
            pass

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keys = [r["headers"]["Idempotency-Key"] for r in receiver.requests]
    assert len(keys) == 30 == len(set(keys))


def test_claim_statements_do_not_grow_with_the_batch(client, world, receiver) -> None:
    from tests.test_query_counts import counting

    _drain()
    counts = []
    for batch in (1, 12):
        with session_scope() as s:
            for n in range(batch):
                events.emit(
                    s,
                    kind=events.EventKind.scores_released,
                    county_id=world.ids["gp_county"],
                    campaign_id=None,
                    data={"n": n},
                )
        with counting() as seen, session_scope() as s:
            work = delivery.claim(s, now=utcnow(), limit=50, lease_seconds=60)
        assert len(work) == batch
        counts.append(len(seen))
        _drain()
    assert counts[0] == counts[1], counts


def test_worker_cli_delivers_once(client, world, receiver, capsys) -> None:
    from app.cli import main

    _drain()
    receiver.processed.clear()
    with session_scope() as s:
        events.emit(
            s,
            kind=events.EventKind.scores_released,
            county_id=world.ids["gp_county"],
            campaign_id=None,
            data={"cli": 1},
        )
    receiver.requests.clear()
    main(["worker", "--once", "--today", "2023-02-10"])
    out = capsys.readouterr().out
    assert "reminders:" in out and "deliveries:" in out
    assert [b["data"] for b in receiver.processed.values()].count({"cli": 1}) == 1
    keys = [r["headers"]["Idempotency-Key"] for r in receiver.requests]
    assert len(keys) == len(set(keys))


def test_worker_killed_mid_delivery_loses_nothing(client, world, receiver) -> None:
    _drain()
    receiver.processed.clear()
    receiver.requests.clear()
    with session_scope() as s:
        events.emit(
            s, kind=events.EventKind.scores_released, county_id=world.ids["gp_county"], campaign_id=None, data={"x": 1}
        )
    # A worker claims the delivery and sends it, then dies before recording the outcome.
    with session_scope() as s:
        (work,) = delivery.claim(s, now=utcnow(), limit=10, lease_seconds=60)
    with httpx.Client() as http:
        assert delivery.send(work, http).ok
    assert _deliver()["claimed"] == 0  # its lease still holds
    later = utcnow() + timedelta(seconds=61)
    assert _deliver(now=later) == {"claimed": 1, "delivered": 1, "failed": 0}
    assert len(receiver.requests) == 2 and len(receiver.processed) == 1  # sent again, processed once
    with session_scope() as s:
        row = s.exec(select(Delivery).where(Delivery.id == work.delivery_id)).one()
        assert row.status == "delivered" and row.attempts == 2
        # The dead worker's late report cannot overwrite the new state.
        assert not delivery.settle(s, work=work, outcome=delivery.Outcome(500, "late", 1), now=utcnow(), max_attempts=8)


def test_deadline_reminders_are_deduplicated(client, world, receiver) -> None:
    _drain()
    receiver.processed.clear()
    with session_scope() as s:
        first = events.scan_deadlines(s, today=date(2023, 2, 24), within_workdays=3)
    with session_scope() as s:
        again = events.scan_deadlines(s, today=date(2023, 2, 24), within_workdays=3)
    assert first > 0 and again == 0
    while _deliver()["claimed"]:
        pass
    mine = [b for b in receiver.processed.values() if b["type"] == "assignment.due_soon"]
    assert mine and all(b["county_id"] == world.ids["gp_county"] for b in mine)
    assert {b["data"]["due_on"] for b in mine} == {"2023-02-28"} and all(b["data"]["workdays_left"] == 2 for b in mine)
    with session_scope() as s:
        overdue = events.scan_deadlines(s, today=date(2023, 3, 1), within_workdays=3)
    assert overdue > 0
