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

from app.api.openapi import request_body
from app.services.errors import Invalid, file_too_large

T = TypeVar("T")
FIELD = "file"
_ESCAPED = re.compile(r"%(22|[01][0-9A-Fa-f])")
HANDOVER = 1024 * 1024
_BUFFERED_CHUNKS = 2  # at most this many hand-overs wait for the worker thread: bounded memory
FIELD_BYTES = 16 * 1024  # every text field of one upload together (a title, an id)


def openapi_body(name: str, **fields: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI requestBody of a streamed upload, a schema called name: the "file" part and the text fields
    (field name=JSON schema)."""
    properties: dict[str, Any] = dict(fields)
    properties[FIELD] = {
        "type": "string",
        "format": "binary",
        "description": "资料文件：PDF、OFD、JPEG、PNG、DOC/DOCX、XLS/XLSX、WPS/ET、MP4、ZIP",
    }
    schema = {"title": name, "type": "object", "required": [FIELD], "properties": properties}
    return request_body(name, schema, "multipart/form-data")


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


class StreamingForm:
    """One multipart/form-data request read as it arrives: the text fields, then the "file" part
    handed to a worker thread as a reader, then any text fields after it.

    Browsers send FormData fields in the order they were appended, so a field may come before or
    after the file: `open()` answers the fields sent before it (enough to check the caller before
    any file byte is stored), `fields` holds every field once `stream()` has returned."""

    def __init__(self, request: Request, *, max_bytes: int) -> None:
        ctype, options = parse_options_header(request.headers.get("content-type", ""))
        boundary = options.get(b"boundary")
        if ctype != b"multipart/form-data" or not boundary:
            raise Invalid("请以 multipart/form-data 方式上传，文件字段名为 file", code="multipart_required")
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_bytes + 64 * 1024:
            raise file_too_large(max_bytes)
        self.fields: dict[str, str] = {}
        self._send, self._receive = anyio.create_memory_object_stream[bytes | BaseException | None](_BUFFERED_CHUNKS)
        self._pending = bytearray()  # file bytes parsed but not yet handed over, coalesced up to HANDOVER
        self._field: bytearray | None = None  # the text field being read
        self._field_bytes = 0  # every text field's bytes so far (bounded: FIELD_BYTES)
        self._state: dict[str, Any] = {"header": b"", "headers": {}, "in_file": False, "filename": None}
        self._state.update(done=False, ended=False, name=None)
        self._chunks = request.stream()
        self._parser = MultipartParser(
            boundary,
            {
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
                "on_end": lambda: self._state.update(ended=True),
            },
        )

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._state["header"] += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        key = self._state["header"].lower()
        self._state["headers"][key] = self._state["headers"].get(key, b"") + data[start:end]

    def _on_header_end(self) -> None:
        self._state["header"] = b""

    def _on_headers_finished(self) -> None:
        state = self._state
        name, filename = _filename(state["headers"].get(b"content-disposition", b""))
        state["headers"] = {}
        state["in_file"] = name == FIELD and filename is not None and state["filename"] is None
        if state["in_file"]:
            state["filename"] = filename
        elif filename is None and name and name != FIELD:  # a text field; a second file part is ignored
            if name in self.fields:
                raise _FormError(f"表单字段 {name} 出现了不止一次", "form_field_invalid")
            state["name"], self._field = name, bytearray()

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._state["in_file"]:
            self._pending.extend(data[start:end])
        elif self._field is not None:
            self._field_bytes += end - start
            if self._field_bytes > FIELD_BYTES:
                raise _FormError(f"表单文本字段合计不能超过 {FIELD_BYTES // 1024} KB", "form_field_too_large")
            self._field.extend(data[start:end])

    def _on_part_end(self) -> None:
        if self._state["in_file"]:
            self._state["in_file"] = False
            self._state["done"] = True
        elif self._field is not None:
            name, raw, self._field = self._state["name"], bytes(self._field), None
            try:
                self.fields[name] = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise _FormError(f"表单字段 {name} 不是 UTF-8 文本", "form_field_invalid") from None

    async def _hand_over(self) -> None:
        # One hand-over per ~1 MiB rather than per socket read: fewer thread hops, larger writes.
        if len(self._pending) >= HANDOVER or (self._state["done"] and self._pending):
            data = bytes(self._pending)
            self._pending.clear()
            await self._send.send(data)

    async def _feed(self, *, until_file: bool) -> BaseException | None:
        """Parse body chunks and pass file bytes on; returns the error that ended the body, if any.

        until_file: stop as soon as the file part's headers are known, keeping its bytes pending."""
        state = self._state
        try:
            async for chunk in self._chunks:
                self._parser.write(chunk)
                if until_file:
                    if state["filename"] is not None:
                        return None
                    continue
                await self._hand_over()
                if state["done"]:
                    return None
        except ClientDisconnect:
            return _incomplete()
        except _FormError as exc:
            return Invalid(exc.message, code=exc.code)
        except ValueError as exc:  # python-multipart's malformed-body errors
            return Invalid(f"上传数据格式错误：{exc}", code="multipart_invalid")
        if state["done"] or (until_file and state["ended"]):
            return None  # the file part ended, or the whole body did (without one: file_missing)
        return _incomplete()

    async def open(self) -> dict[str, str]:
        """Read up to the file part's headers: the text fields sent before it (nothing is stored yet)."""
        problem = await self._feed(until_file=True)
        if problem is not None:
            raise problem
        if self._state["filename"] is None:
            raise Invalid("请求中没有名为 file 的文件", code="file_missing")
        return dict(self.fields)

    async def stream(self, consume: Callable[[Any, str], T]) -> T:
        """Run consume(reader, filename) in a worker thread on the file part, then read the fields after it."""
        filename: str = self._state["filename"]
        outcome: dict[str, Any] = {}

        async with anyio.create_task_group() as group:

            async def work() -> None:
                try:
                    outcome["value"] = await anyio.to_thread.run_sync(consume, _Pipe(self._receive), filename)
                except BaseException as exc:  # noqa: BLE001 - handed back below, outside the task group
                    outcome["error"] = exc
                group.cancel_scope.cancel()  # the file is consumed (or refused): stop reading the body

            group.start_soon(work)
            await self._hand_over()  # what the first read already parsed
            problem = None if self._state["done"] else await self._feed(until_file=False)
            await self._send.send(problem)  # None: the file part ended cleanly
        if "error" in outcome:
            raise outcome["error"]
        await self._read_rest()
        return outcome["value"]

    async def _read_rest(self) -> None:
        """The text fields after the file part (the body's tail, bounded like every text field)."""
        tail = 0
        try:
            async for chunk in self._chunks:
                tail += len(chunk)
                if tail > FIELD_BYTES + 64 * 1024:
                    raise Invalid("文件之后的表单内容过多（只接受一个文件和少量文本字段）", code="form_field_too_large")
                self._parser.write(chunk)
        except ClientDisconnect:
            raise _incomplete() from None
        except _FormError as exc:
            raise Invalid(exc.message, code=exc.code) from None
        except ValueError as exc:
            raise Invalid(f"上传数据格式错误：{exc}", code="multipart_invalid") from None


class _FormError(Exception):
    """Raised inside the parser's callbacks; turned into Invalid where the body is read."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


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
