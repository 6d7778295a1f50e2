"""The Idempotency-Key header on POSTs (integration scripts and mobile apps retry): runs the first request,
replays its response to a retry with the same key, refuses the key on a different request. The caller is
authenticated first: keys belong to the account, and a request without a valid token is passed on untouched
(it gets its 401), never recorded or replayed.

A request is known by its fingerprint: method, path, query and body. Bodies up to 1 MiB are read here first
(JSON, forms; a multipart form by its parts, not its bytes: a client picks a new boundary on every retry). The
streamed file uploads (STREAMED, up to 500 MB) cannot be held: they pass through as they arrive and the route
itself claims the key once it knows the fingerprint (the file's SHA-256, measured while it streamed, and the
fields), before recording anything: a retry then discards its copy of the file and answers the first response,
a different upload under the same key is refused."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request, Response
from python_multipart.multipart import MultipartParser, parse_options_header
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
_CLAIM = "idempotency_claim"  # where a streamed upload finds its Claim (request.state)
# The streamed file uploads (up to 500 MB, never held here): evidence and its new versions.
STREAMED = re.compile(r"^/api/v1/(assignments/[^/]+/evidence|evidence/[^/]+/versions)/file$")


def honours_key(method: str, path: str) -> bool:
    """Whether a request with this method and path is replayed under its Idempotency-Key (every POST but logins,
    file uploads included)."""
    return method == "POST" and not path.startswith(_SKIP)


def streams_itself(path: str) -> bool:
    """Whether path is a streamed file upload (app/api/routes/files.py) that claims its key itself (Claim)."""
    return bool(STREAMED.match(path))


def form_fingerprint(scope: Scope, parts: list[tuple[str, str | None, str]]) -> str:
    """The fingerprint of a form: path, query and each part as (name, file name, SHA-256 of its bytes), in any
    order (browsers append fields before or after the file as the page was written)."""
    lines = [b"POST", scope["path"].encode(), scope.get("query_string", b"")]
    lines += [f"{name}\x00{filename}\x00{digest}".encode() for name, filename, digest in sorted(parts, key=str)]
    return hashlib.sha256(b"\n".join(lines)).hexdigest()


def _multipart_fingerprint(scope: Scope, body: bytes, content_type: str) -> str | None:
    """form_fingerprint of a whole multipart body; None when it does not parse (the route will say why)."""
    _, options = parse_options_header(content_type)
    if not options.get(b"boundary"):
        return None
    parts: list[tuple[str, str | None, str]] = []
    current: dict[str, Any] = {"header": b"", "disposition": b"", "hash": None}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        current["header"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        if current["header"].lower() == b"content-disposition":
            current["disposition"] += data[start:end]

    def on_header_end() -> None:
        current["header"] = b""

    def on_headers_finished() -> None:
        current["hash"] = hashlib.sha256()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        current["hash"].update(data[start:end])

    def on_part_end() -> None:  # the part's Content-Disposition names it (field and file name) as sent
        parts.append((current["disposition"].decode("latin-1"), None, current["hash"].hexdigest()))
        current["disposition"] = b""

    callbacks = {
        "on_header_field": on_header_field, "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished, "on_part_data": on_part_data, "on_part_end": on_part_end,
    }  # fmt: skip
    try:
        parser = MultipartParser(options[b"boundary"], callbacks)
        parser.write(body)
        parser.finalize()
    except (ValueError, TypeError):
        return None
    return form_fingerprint(scope, parts)


@dataclass
class Claim:
    """The Idempotency-Key of a streamed upload, for the route to claim once it knows the request's fingerprint."""

    owner: str
    key: str
    record_id: int | None = field(default=None)

    async def begin(self, fingerprint: str) -> Response | None:
        """None: this request runs (its response is kept when it ends); or the first request's response to send
        back instead. Refusals (the key used for another request, or still running) raise."""
        started = await run_in_threadpool(idempotency.begin, owner=self.owner, key=self.key, fingerprint=fingerprint)
        if isinstance(started, idempotency.Replay):
            return Response(
                started.body, status_code=started.status_code, media_type=started.content_type,
                headers={"Idempotent-Replayed": "true"},
            )  # fmt: skip
        self.record_id = started
        return None


def claim_of(request: Request) -> Claim | None:
    """The key a streamed upload is to claim, when it was sent with one by an authenticated caller."""
    return getattr(request.state, _CLAIM, None)


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", [])) if scope["type"] == "http" else {}
        key = headers.get(HEADER, b"").decode("latin-1")
        if scope["type"] != "http" or not key or not honours_key(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if not _KEY.match(key):
            await problem(400, "idempotency_key_invalid", "Idempotency-Key 应为 1–200 个可见 ASCII 字符", request)(
                scope, receive, send
            )
            return
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        if streams_itself(scope["path"]):
            await self._streamed(scope, receive, send, headers, key)
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
        query = scope.get("query_string", b"")
        fingerprint = hashlib.sha256(b"\n".join([b"POST", scope["path"].encode(), query, body])).hexdigest()
        if content_type.lower().startswith("multipart/"):
            fingerprint = _multipart_fingerprint(scope, body, content_type) or fingerprint
        # This middleware sits outside the app's exception handlers: a database that is restarting must be
        # answered here as it is there (503 database_unavailable, retry with the same key), never as a 500.
        try:
            owner = await _owner(headers)
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

    async def _streamed(self, scope: Scope, receive: Receive, send: Send, headers: dict, key: str) -> None:
        """A streamed upload: the body passes through untouched; the route claims the key (Claim.begin)."""
        try:
            owner = await _owner(headers)
        except DBAPIError as exc:
            passing = database_response(exc, Request(scope))
            if passing is None:
                raise
            await passing(scope, receive, send)
            return
        if owner is None:
            await self.app(scope, receive, send)
            return
        claim = Claim(owner=owner, key=key)
        scope.setdefault("state", {})[_CLAIM] = claim
        await self._run(scope, receive, send, lambda: claim.record_id)

    async def _run(
        self, scope: Scope, body: bytes | Receive, send: Send, record_id: int | Callable[[], int | None]
    ) -> None:
        replay_receive = _replay_body(body) if isinstance(body, bytes) else body
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
            # a streamed upload: the record the route claimed, if it got that far (else there is none to close)
            record = record_id() if callable(record_id) else record_id
            if record is not None:
                await _close(record, status, content_type, b"".join(chunks), size)


async def _close(record_id: int, status: int, content_type: str | None, body: bytes, size: int) -> None:
    """Keep the response under the key, or forget the key when the server failed (a retry runs again)."""
    try:
        if status < 500 and size <= MAX_BODY:
            await run_in_threadpool(
                idempotency.finish, record_id, status_code=status, content_type=content_type, body=body
            )
        else:
            await run_in_threadpool(idempotency.abandon, record_id)
    except DBAPIError as exc:
        # The answer has gone out; the database went away (or the update collided) before the key's record
        # was closed. It stays "running": a retry gets 409 idempotency_in_progress until it is abandoned.
        if database_problem(exc) is None:
            raise
        log.warning("idempotency record %s left open: database unavailable (%s)", record_id, exc.orig)


async def _owner(headers: dict) -> str | None:
    scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    return await run_in_threadpool(idempotency.owner_of, token.strip()) if scheme.lower() == "bearer" else None


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
