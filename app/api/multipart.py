"""multipart/form-data parsed as it arrives, the file part handed to a worker thread as a reader.

Starlette's form parser spools a whole upload to a temporary file before the route runs; here the
bytes go from the socket through a small bounded buffer straight into the object store, so a
1 GiB upload holds a few MiB and touches the local disk never.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread
from anyio.abc import ObjectReceiveStream
from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from app.services.errors import Invalid, file_too_large

T = TypeVar("T")
FIELD = "file"
_ESCAPED = re.compile(r"%(22|[01][0-9A-Fa-f])")
HANDOVER = 1024 * 1024
_BUFFERED_CHUNKS = 2  # at most this many hand-overs wait for the worker thread: bounded memory

OPENAPI_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FIELD],
                    "properties": {
                        FIELD: {
                            "type": "string",
                            "format": "binary",
                            "description": "资料文件：PDF、OFD、JPEG、PNG、DOC/DOCX、XLS/XLSX、WPS/ET、MP4、ZIP",
                        }
                    },
                }
            }
        },
    }
}


def _incomplete() -> Invalid:
    return Invalid("文件上传未完成（连接中断或数据不完整），请重新上传", code="upload_incomplete")


class _Pipe:
    """The worker thread's side: read() blocks until the event loop has handed over bytes."""

    def __init__(self, receive: ObjectReceiveStream[bytes | BaseException | None]) -> None:
        self._receive = receive
        self._buffer = b""
        self._done = False

    def read(self, n: int = -1) -> bytes:
        while not self._buffer and not self._done:
            item = anyio.from_thread.run(self._receive.receive)
            if item is None:
                self._done = True
            elif isinstance(item, BaseException):
                raise item
            else:
                self._buffer = item
        if n < 0 or n >= len(self._buffer):
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data


def _filename(disposition: bytes) -> tuple[str | None, str | None]:
    """(field name, file name) from a part's Content-Disposition; UTF-8 names as browsers send them."""
    _, options = parse_options_header(disposition.decode("latin-1"))
    name = options.get(b"name", b"").decode("utf-8", "replace") or None
    filename = options.get(b"filename")
    if filename is None:
        # RFC 7578 forbids filename*, but some clients send only that: honour it rather than refuse.
        for segment in disposition.decode("latin-1").split(";"):
            key, _, value = segment.strip().partition("=")
            if key.lower() == "filename*" and "''" in value:
                return name, urllib.parse.unquote(value.split("''", 1)[1], encoding="utf-8", errors="replace")
        return name, None
    # Browsers (WHATWG) and httpx percent-encode '"' and control characters in file names.
    return name, _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), filename.decode("utf-8", "replace"))


async def stream_file(request: Request, consume: Callable[[Any, str], T], *, max_bytes: int) -> T:
    """Run consume(reader, filename) in a worker thread on the multipart field "file" of request."""
    ctype, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise Invalid("请以 multipart/form-data 方式上传，文件字段名为 file", code="multipart_required")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + 64 * 1024:
        raise file_too_large(max_bytes)

    send, receive = anyio.create_memory_object_stream[bytes | BaseException | None](_BUFFERED_CHUNKS)
    pending = bytearray()  # file bytes parsed but not yet handed over, coalesced up to HANDOVER
    state: dict[str, Any] = {"header": b"", "headers": {}, "in_file": False, "filename": None, "done": False}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["header"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        key = state["header"].lower()
        state["headers"][key] = state["headers"].get(key, b"") + data[start:end]

    def on_header_end() -> None:
        state["header"] = b""

    def on_headers_finished() -> None:
        name, filename = _filename(state["headers"].get(b"content-disposition", b""))
        state["headers"] = {}
        state["in_file"] = name == FIELD and filename is not None and state["filename"] is None
        if state["in_file"]:
            state["filename"] = filename

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["in_file"]:
            pending.extend(data[start:end])

    def on_part_end() -> None:
        if state["in_file"]:
            state["in_file"] = False
            state["done"] = True

    parser = MultipartParser(
        boundary,
        {
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_end": lambda: state.update(ended=True),
        },
    )
    chunks = request.stream()

    async def hand_over() -> None:
        # One hand-over per ~1 MiB rather than per socket read: fewer thread hops, larger writes.
        if len(pending) >= HANDOVER or (state["done"] and pending):
            data = bytes(pending)
            pending.clear()
            await send.send(data)

    async def feed(*, until_file: bool) -> BaseException | None:
        """Parse body chunks and pass file bytes on; returns the error that ended the body, if any.

        until_file: stop as soon as the file part's headers are known, keeping its bytes pending."""
        try:
            async for chunk in chunks:
                parser.write(chunk)
                if until_file:
                    if state["filename"] is not None:
                        return None
                    continue
                await hand_over()
                if state["done"]:
                    return None
        except ClientDisconnect:
            return _incomplete()
        except ValueError as exc:  # python-multipart's malformed-body errors
            return Invalid(f"上传数据格式错误：{exc}", code="multipart_invalid")
        if state["done"] or (until_file and state.get("ended")):
            return None  # the file part ended, or the whole body did (without one: file_missing)
        return _incomplete()

    # Up to the file part's headers: nothing is started before we know there is a file.
    problem = await feed(until_file=True)
    if problem is not None:
        raise problem
    if state["filename"] is None:
        raise Invalid("请求中没有名为 file 的文件", code="file_missing")
    filename: str = state["filename"]
    outcome: dict[str, Any] = {}

    async with anyio.create_task_group() as group:

        async def work() -> None:
            try:
                outcome["value"] = await anyio.to_thread.run_sync(consume, _Pipe(receive), filename)
            except BaseException as exc:  # noqa: BLE001 - handed back below, outside the task group
                outcome["error"] = exc
            group.cancel_scope.cancel()  # the file is consumed (or refused): stop reading the body

        group.start_soon(work)
        await hand_over()  # what the first read already parsed
        problem = None if state["done"] else await feed(until_file=False)
        await send.send(problem)  # None: the file part ended cleanly
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


async def stream_body(request: Request, consume: Callable[[Any], T], *, max_bytes: int) -> T:
    """Run consume(reader) in a worker thread on the raw request body (a PUT of one file's bytes), handed over
    through the same bounded buffer as a multipart file; a body cut short is upload_incomplete."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise file_too_large(max_bytes)
    send, receive = anyio.create_memory_object_stream[bytes | BaseException | None](_BUFFERED_CHUNKS)
    outcome: dict[str, Any] = {}

    async def feed() -> None:
        pending = bytearray()
        try:
            async for chunk in request.stream():
                pending.extend(chunk)
                if len(pending) >= HANDOVER:
                    await send.send(bytes(pending))
                    pending.clear()
        except ClientDisconnect:
            await send.send(_incomplete())
            return
        if pending:
            await send.send(bytes(pending))
        await send.send(None)

    async with anyio.create_task_group() as group:

        async def work() -> None:
            try:
                outcome["value"] = await anyio.to_thread.run_sync(consume, _Pipe(receive))
            except BaseException as exc:  # noqa: BLE001 - handed back below, outside the task group
                outcome["error"] = exc
            group.cancel_scope.cancel()  # consumed (or refused): stop reading the body

        group.start_soon(work)
        await feed()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
