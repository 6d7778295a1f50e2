"""Idempotency-Key for POSTs that create things: the first request with a key runs and its response is
kept; a retry with the same key and the same request gets that response again; the same key on a
different request is refused. Keys belong to the caller (the Authorization header) and are kept a day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, delete, select

from app.db import session_scope
from app.models import IdempotencyRecord
from app.models._base import utcnow
from app.services.errors import Conflict, Invalid

KEEP = timedelta(hours=24)
# A first request that has not finished after this long is taken to have died with its process.
ABANDONED = timedelta(minutes=5)


@dataclass(frozen=True)
class Replay:
    """The response the first request with this key got."""

    status_code: int
    content_type: str | None
    body: bytes


def _existing(session: Session, owner: str, key: str) -> IdempotencyRecord | None:
    query = select(IdempotencyRecord).where(IdempotencyRecord.owner == owner, IdempotencyRecord.key == key)
    return session.exec(query.with_for_update()).first()


def begin(*, owner: str, key: str, fingerprint: str, now: datetime | None = None) -> int | Replay:
    """The record id to run under (first request), or the response to replay; Conflict while the first
    one is still running, Invalid when the key was used for a different request."""
    now = now or utcnow()
    try:
        with session_scope() as session:
            row = IdempotencyRecord(owner=owner, key=key, fingerprint=fingerprint, created_at=now)
            session.add(row)
            session.flush()
            return row.id  # type: ignore[return-value]
    except IntegrityError:
        pass
    with session_scope() as session:
        row = _existing(session, owner, key)
        if row is None:  # removed in between (a failed first attempt): start again
            return begin(owner=owner, key=key, fingerprint=fingerprint, now=now)
        if row.fingerprint != fingerprint:
            raise Invalid("该 Idempotency-Key 已用于另一个请求，请为新的请求换一个键", code="idempotency_key_reused")
        if row.state == "done":
            return Replay(status_code=row.status_code or 200, content_type=row.content_type, body=row.body or b"")
        if now - row.created_at < ABANDONED:
            raise Conflict("同一 Idempotency-Key 的请求正在处理，请稍后重试", code="idempotency_in_progress")
        row.created_at = now  # the first attempt died with its process: this one runs instead
        session.add(row)
        return row.id  # type: ignore[return-value]


def finish(record_id: int, *, status_code: int, content_type: str | None, body: bytes) -> None:
    """Keep the response of the request that ran under record_id."""
    with session_scope() as session:
        row = session.get(IdempotencyRecord, record_id)
        if row is not None:
            row.state, row.status_code, row.content_type, row.body = "done", status_code, content_type, body
            row.completed_at = utcnow()
            session.add(row)


def abandon(record_id: int) -> None:
    """Forget the key (the request failed on the server's side, so a retry should run again)."""
    with session_scope() as session:
        session.exec(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))  # type: ignore[call-overload]


def purge(now: datetime | None = None) -> int:
    """Remove records older than KEEP; the number removed."""
    cutoff = (now or utcnow()) - KEEP
    with session_scope() as session:
        result = session.exec(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))  # type: ignore[call-overload]
        return result.rowcount or 0
