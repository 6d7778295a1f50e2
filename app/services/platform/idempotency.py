"""Idempotency-Key for POSTs that create things: the first request with a key runs and its response is
kept; a retry with the same key and the same request gets that response again; the same key on a
different request is refused. Keys are kept a day and belong to the account the request authenticated
as (not to the token: a script that logs in again and retries must get the first answer, never run the
work twice); a request that does not authenticate is never recorded.

A kept response may hold a secret shown once (a webhook's signing secret, a script token), so every
kept body is encrypted (AES-256-GCM, key derived from the JWT secret, bound to its account and key);
a replay decrypts it for the same account only. Rotating the JWT secret makes kept responses unreadable:
a retry then gets 409 idempotency_replay_unavailable instead of running again."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, delete, select

from app.db import session_scope
from app.models import IdempotencyRecord
from app.models._base import utcnow
from app.services.access import authenticate
from app.services.errors import Conflict, DomainError, Invalid
from app.settings import get_settings

KEEP = timedelta(hours=24)
# A first request that has not finished after this long is taken to have died with its process.
ABANDONED = timedelta(minutes=5)


@dataclass(frozen=True)
class Replay:
    """The response the first request with this key got."""

    status_code: int
    content_type: str | None
    body: bytes


def owner_of(token: str) -> str | None:
    """The owner of the keys a bearer token may use: its account; None when the token does not authenticate
    (expired, revoked, unknown, the account disabled), and then nothing is stored or replayed."""
    try:
        with session_scope() as session:
            return f"user:{authenticate(session, token).user_id}"
    except DomainError:
        return None


def _cipher() -> AESGCM:
    secret = get_settings().secret().encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"shifan idempotency responses v1").derive(secret)
    return AESGCM(key)


def _bound(owner: str, key: str) -> bytes:
    return hashlib.sha256(f"{owner}\n{key}".encode()).digest()


def seal(body: bytes, *, owner: str, key: str) -> bytes:
    """body encrypted for (owner, key): a 12-byte nonce, then the ciphertext with its tag."""
    nonce = os.urandom(12)
    return nonce + _cipher().encrypt(nonce, body, _bound(owner, key))


def unseal(sealed: bytes, *, owner: str, key: str) -> bytes:
    """The body seal() encrypted; Conflict when it cannot be read (another JWT secret, or tampered)."""
    try:
        return _cipher().decrypt(sealed[:12], sealed[12:], _bound(owner, key))
    except (InvalidTag, ValueError) as exc:
        raise Conflict(
            "无法重放该 Idempotency-Key 的原应答（服务密钥已更换），请核对结果后换一个键重试",
            code="idempotency_replay_unavailable",
        ) from exc


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
            body = unseal(row.body, owner=owner, key=key) if row.body else b""
            return Replay(status_code=row.status_code or 200, content_type=row.content_type, body=body)
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
            sealed = seal(body, owner=row.owner, key=row.key)
            row.state, row.status_code, row.content_type, row.body = "done", status_code, content_type, sealed
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
