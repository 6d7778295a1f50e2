"""Webhook delivery: claim due deliveries under a lease, POST them signed, record the outcome.

Any number of workers (one per API instance, or `shifan worker`) may run at once. A claim is a
conditional update (compare-and-set on the lease), with FOR UPDATE SKIP LOCKED on PostgreSQL so
workers do not queue behind each other; a worker that dies mid-delivery loses its lease and the
delivery is retried with the same Idempotency-Key, so a receiver that honours it sees it once.
No transaction is open while a request is in flight.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus

import httpx
from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from app.db import session_scope
from app.models._base import utcnow
from app.models.outbox import Delivery, DeliveryAttempt, DeliveryStatus, OutboxEvent, Webhook, WebhookKind
from app.services.notifications import addresses, messages, receivers
from app.settings import get_settings

log = logging.getLogger("shifan.worker")


@dataclass(frozen=True)
class Work:
    """A claimed delivery: everything needed to send it without the database."""

    delivery_id: int
    lease_token: str
    attempt: int
    url: str
    secret: str
    event_id: str
    kind: str  # the event's kind
    body: bytes  # the event as JSON (standard receivers)
    receiver: str = WebhookKind.standard  # the webhook's kind
    robot_secret: str = ""
    message: messages.Message | None = None  # what a chat robot posts


def backoff(attempt: int) -> timedelta:
    """Wait before the next attempt: 30 s doubling per attempt, at most an hour."""
    return timedelta(seconds=min(30 * 2 ** (attempt - 1), 3600))


def _body(event: OutboxEvent) -> bytes:
    payload = {
        "id": event.event_id,
        "type": event.kind,
        "timestamp": event.created_at.isoformat(),  # Standard Webhooks' name for it
        "created_at": event.created_at.isoformat(),
        "county_id": event.county_id,
        "campaign_id": event.campaign_id,
        "data": event.data,
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def claim(session: Session, *, now: datetime, limit: int, lease_seconds: int) -> list[Work]:
    """Take up to limit due deliveries under one fresh lease (three statements whatever the batch size)."""
    free = (
        col(Delivery.status) == DeliveryStatus.pending,
        col(Delivery.next_attempt_at) <= now,
        or_(col(Delivery.lease_until).is_(None), col(Delivery.lease_until) < now),
    )
    due = (
        select(Delivery.id)
        .join(Webhook, col(Webhook.id) == Delivery.webhook_id)
        .where(*free, col(Webhook.active).is_(True))
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True, of=Delivery)
    token = str(uuid.uuid4())
    # Compare-and-set: only rows still free are taken, so a worker that raced us simply gets fewer.
    taken = (
        session.execute(
            update(Delivery)
            .where(col(Delivery.id).in_(session.exec(due).all()), *free)
            .values(
                lease_token=token, lease_until=now + timedelta(seconds=lease_seconds), attempts=Delivery.attempts + 1
            )
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        )
        .scalars()
        .all()
    )
    rows = session.exec(
        select(Delivery, OutboxEvent, Webhook)
        .join(OutboxEvent, col(OutboxEvent.id) == Delivery.event_id)
        .join(Webhook, col(Webhook.id) == Delivery.webhook_id)
        .where(col(Delivery.id).in_(taken))
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .execution_options(populate_existing=True)
    ).all()
    chats = [event for _, event, hook in rows if hook.kind != WebhookKind.standard]
    names = messages.names_for(session, chats) if chats else None
    return [
        Work(
            delivery_id=delivery.id,  # type: ignore[arg-type]
            lease_token=token,
            attempt=delivery.attempts,
            url=hook.url,
            secret=hook.secret,
            event_id=event.event_id,
            kind=event.kind,
            body=_body(event),
            receiver=hook.kind,
            robot_secret=hook.robot_secret,
            message=messages.render(event, names) if names is not None and hook.kind != WebhookKind.standard else None,
        )
        for delivery, event, hook in rows
    ]


@dataclass(frozen=True)
class Outcome:
    """What one attempt gave."""

    status_code: int | None
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        """A 2xx answer that the receiver did not refuse (a chat platform's errcode 0)."""
        return self.status_code is not None and 200 <= self.status_code < 300 and not self.error


def send(work: Work, client: httpx.Client) -> Outcome:
    """POST the event in the receiver's format (signed, with its Idempotency-Key) to the address just checked;
    never raises.

    The host is resolved and checked now (it may point elsewhere than at registration) and the request
    connects to that checked address (Host header and TLS name stay the receiver's), so no second DNS
    lookup can slip in between. Redirects are not followed; the log keeps a status and a short reason,
    never what the receiver answered."""
    started = time.monotonic()
    try:
        target = addresses.check_url(work.url)
    except addresses.AddressRefused as exc:
        return Outcome(status_code=None, error=f"地址被拒绝（{exc.code}），未发送", duration_ms=0)
    request = receivers.build(
        kind=work.receiver,
        url=work.url,
        secret=work.secret,
        robot_secret=work.robot_secret,
        event_id=work.event_id,
        body=work.body,
        message=work.message,
    )
    url = httpx.URL(request.url)
    headers = {"Host": url.netloc.decode("ascii"), **request.headers}
    if work.receiver == WebhookKind.standard:
        headers |= {
            "Idempotency-Key": work.event_id,
            "X-Shifan-Event": work.kind,
            "X-Shifan-Delivery": str(work.delivery_id),
            "X-Shifan-Attempt": str(work.attempt),
        }
    extensions = {"sni_hostname": target.host} if url.scheme == "https" else {}
    try:
        response = client.post(
            url.copy_with(host=target.addresses[0]),
            content=request.body,
            headers=headers,
            extensions=extensions,
            follow_redirects=False,
        )
        code = response.status_code
        error = receivers.refusal(work.receiver, response) if response.is_success else reason(code)
    except httpx.HTTPError as exc:
        code, error = None, _FAILURE.get(type(exc), type(exc).__name__)
    return Outcome(status_code=code, error=error, duration_ms=int((time.monotonic() - started) * 1000))


_FAILURE: dict[type[Exception], str] = {
    httpx.ConnectError: "无法连接接收方",
    httpx.ConnectTimeout: "连接接收方超时",
    httpx.ReadTimeout: "等待接收方应答超时",
    httpx.WriteTimeout: "发送超时",
    httpx.RemoteProtocolError: "接收方应答不符合 HTTP 协议",
}


def reason(status_code: int) -> str:
    """A short reason for a non-2xx answer, from the status code alone (the receiver's text is not kept)."""
    try:
        phrase = HTTPStatus(status_code).phrase
    except ValueError:
        phrase = "Unknown"
    if 300 <= status_code < 400:
        return f"HTTP {status_code} {phrase}（不跟随重定向）"
    return f"HTTP {status_code} {phrase}"


def settle(session: Session, *, work: Work, outcome: Outcome, now: datetime, max_attempts: int) -> bool:
    """Record the attempt and the delivery's next state; False if the lease was lost meanwhile."""
    session.add(
        DeliveryAttempt(
            delivery_id=work.delivery_id,
            number=work.attempt,
            status_code=outcome.status_code,
            error=outcome.error[:200],
            duration_ms=outcome.duration_ms,
        )
    )
    if outcome.ok:
        values = {"status": DeliveryStatus.delivered, "delivered_at": now}
    elif work.attempt >= max_attempts:
        values = {"status": DeliveryStatus.dead}
    else:
        values = {"next_attempt_at": now + backoff(work.attempt)}
    result = session.execute(
        update(Delivery)
        .where(col(Delivery.id) == work.delivery_id, col(Delivery.lease_token) == work.lease_token)
        .values(
            lease_token=None,
            lease_until=None,
            last_status_code=outcome.status_code,
            last_error=outcome.error[:200],
            **values,
        )
    )
    return result.rowcount == 1


def run_once(*, client: httpx.Client, limit: int = 50, now: datetime | None = None) -> dict[str, int]:
    """Claim, send and settle one batch; counts of what happened."""
    settings = get_settings()
    with session_scope() as session:
        work = claim(session, now=now or utcnow(), limit=limit, lease_seconds=settings.webhook_lease_seconds)
    counts = {"claimed": len(work), "delivered": 0, "failed": 0}
    for item in work:
        outcome = send(item, client)
        try:
            with session_scope() as session:
                settle(session, work=item, outcome=outcome, now=utcnow(), max_attempts=settings.webhook_max_attempts)
        except Exception:  # noqa: BLE001 - its lease runs out and it is retried; the others go on
            log.exception("delivery %s could not be recorded", item.delivery_id)
        counts["delivered" if outcome.ok else "failed"] += 1
    return counts
