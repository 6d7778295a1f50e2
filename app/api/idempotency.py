"""The Idempotency-Key header on POSTs (integration scripts retry): runs the first request, replays its
response to a retry with the same key, refuses the key on a different request. Bodies up to 1 MiB
(JSON and forms); file uploads take the direct-upload intents instead, which are idempotent by id.
The caller is authenticated first: keys belong to the account, and a request without a valid token is
passed on untouched (it gets its 401), never recorded or replayed."""

from __future__ import annotations

import hashlib
import logging
import re

from fastapi import Request
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import database_problem, database_response, problem
from app.services.errors import DomainError
from app.services.platform import idempotency

log = logging.getLogger("shifan.errors")
HEADER = b"idempotency-key"
MAX_BODY = 1024 * 1024
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
_SKIP = ("/api/v1/auth/",)  # logins: a token is never stored


def honours_key(method: str, path: str, content_types: set[str]) -> bool:
    """Whether a request with this method, path and body type is replayed under its Idempotency-Key
    (POSTs other than logins; file uploads are refused with the key: their direct-upload intents are idempotent)."""
    multipart = any(t.startswith("multipart/") for t in content_types)
    return method == "POST" and not path.startswith(_SKIP) and not multipart


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", [])) if scope["type"] == "http" else {}
        key = headers.get(HEADER, b"").decode("latin-1")
        if scope["type"] != "http" or not key or not honours_key(scope["method"], scope["path"], set()):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if not _KEY.match(key):
            await problem(400, "idempotency_key_invalid", "Idempotency-Key 应为 1–200 个可见 ASCII 字符", request)(
                scope, receive, send
            )
            return
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        if not honours_key(scope["method"], scope["path"], {content_type}):
            detail = "文件上传不支持 Idempotency-Key：请使用直传接口（…/evidence/uploads），按上传编号确认即可安全重试"
            await problem(422, "idempotency_not_supported", detail, request)(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_BODY:
                await problem(413, "idempotency_body_too_large", "带 Idempotency-Key 的请求体不能超过 1 MB", request)(
                    scope, receive, send
                )
                return
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        query = scope.get("query_string", b"")
        fingerprint = hashlib.sha256(b"\n".join([b"POST", scope["path"].encode(), query, body])).hexdigest()
        # This middleware sits outside the app's exception handlers: a database that is restarting must be
        # answered here as it is there (503 database_unavailable, retry with the same key), never as a 500.
        try:
            owner = await run_in_threadpool(idempotency.owner_of, token.strip()) if scheme.lower() == "bearer" else None
            started = None
            if owner is not None:
                started = await run_in_threadpool(idempotency.begin, owner=owner, key=key, fingerprint=fingerprint)
        except DomainError as exc:
            await problem(exc.status, exc.code, exc.message, request)(scope, receive, send)
            return
        except DBAPIError as exc:
            passing = database_response(exc, request)
            if passing is None:
                raise
            await passing(scope, receive, send)
            return
        if started is None:
            await self.app(scope, _replay_body(body), send)
            return
        if isinstance(started, idempotency.Replay):
            replay_headers = [(b"idempotent-replayed", b"true")]
            if started.content_type:
                replay_headers.append((b"content-type", started.content_type.encode()))
            await send({"type": "http.response.start", "status": started.status_code, "headers": replay_headers})
            await send({"type": "http.response.body", "body": started.body})
            return
        await self._run(scope, body, send, started)

    async def _run(self, scope: Scope, body: bytes, send: Send, record_id: int) -> None:
        replay_receive = _replay_body(body)
        status, content_type, chunks, size = 500, None, [], 0

        async def capture(message: Message) -> None:
            nonlocal status, content_type, size
            if message["type"] == "http.response.start":
                status = message["status"]
                content_type = dict(message.get("headers", [])).get(b"content-type", b"").decode() or None
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
                if size <= MAX_BODY:
                    chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_receive, capture)
        finally:
            try:
                if status < 500 and size <= MAX_BODY:
                    await run_in_threadpool(
                        idempotency.finish, record_id, status_code=status, content_type=content_type,
                        body=b"".join(chunks),
                    )  # fmt: skip
                else:
                    await run_in_threadpool(idempotency.abandon, record_id)
            except DBAPIError as exc:
                # The answer has gone out; the database went away (or the update collided) before the key's record
                # was closed. It stays "running": a retry gets 409 idempotency_in_progress until it is abandoned.
                if database_problem(exc) is None:
                    raise
                log.warning("idempotency record %s left open: database unavailable (%s)", record_id, exc.orig)


def _replay_body(body: bytes) -> Receive:
    """A receive() that hands the already-read body to the app once."""
    sent_body = False

    async def receive() -> Message:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive
