"""Every error as application/problem+json (RFC 9457) with a stable code and a Chinese message."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db import connection_lost, write_conflict
from app.services import messages
from app.services.errors import DomainError, TooManyRequests

log = logging.getLogger("shifan.errors")

# The problem title says what kind of failure it is, per status (RFC 9457: the same for every
# problem of that kind); detail says what happened this time.
TITLES = {
    400: "请求有误",
    401: "未登录",
    403: "无权操作",
    404: "未找到",
    405: "不支持的请求方法",
    406: "无法提供所要求的格式",
    409: "与当前数据冲突",
    410: "已失效",
    412: "数据已被他人修改",
    413: "内容过大",
    415: "不支持的内容类型",
    422: "提交的数据不符合要求",
    423: "已锁定",
    428: "缺少前提条件",
    429: "请求过于频繁",
    500: "服务器内部错误",
    502: "上游服务出错",
    503: "服务暂时不可用",
    504: "上游服务超时",
}

_HTTP_MESSAGES = {
    400: ("bad_request", "请求内容无法解析，请检查格式"),
    401: ("unauthorized", "未登录或登录已失效，请重新登录"),
    403: ("forbidden", "当前角色无权进行此操作"),
    404: ("not_found", "请求的地址不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    406: ("not_acceptable", "无法按请求的格式（Accept）返回内容"),
    413: ("too_large", "请求内容过大"),
    415: ("unsupported_media_type", "不支持该内容类型（Content-Type）"),
}


def title_of(status: int) -> str:
    """The Chinese problem title for an HTTP status (by its class when the status is unusual)."""
    return TITLES.get(status) or ("请求有误" if status < 500 else "服务器出错")


class Problem(BaseModel):
    """An error as application/problem+json (RFC 9457): a stable code and a message in Chinese."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str
    errors: list[dict[str, Any]] | None = None


PROBLEM_CONTENT = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with the errors as they are sent: 422 and every other error as problem+json
    (FastAPI would describe 422 as its own validation body, which this service never sends)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    # `errors` is left out of an answer that has none (never null): no default, so generators keep it optional
    components["Problem"]["properties"]["errors"] = {
        "type": "array",
        "items": {"type": "object", "additionalProperties": True},
        "description": "逐项列出的问题（仅部分错误带有，例如字段校验）",
    }
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            responses["422"] = {"description": "提交的数据不符合要求", "content": PROBLEM_CONTENT}
            for status, response in responses.items():
                if status[0] in "45":
                    response["content"] = PROBLEM_CONTENT
            responses.setdefault("default", {"description": "错误（problem+json）", "content": PROBLEM_CONTENT})
    return schema


INTERNAL = "服务器内部错误，请稍后重试或联系管理员"
UNAVAILABLE = "数据库暂时不可用，请稍后重试"
BUSY = "数据正被他人同时修改，本次未作改动，请稍后重试"


def database_problem(exc: DBAPIError) -> tuple[int, str, str] | None:
    """(status, code, message) of a database error that is a passing condition worth sending the request again
    for — the database away (503 database_unavailable) or a collision it rolled back (503 database_busy) — or
    None for a statement it refused (our fault, a 500). One answer for REST, GraphQL and the Idempotency-Key
    middleware, which sits outside the app's handlers."""
    if connection_lost(exc):
        return 503, "database_unavailable", UNAVAILABLE
    if write_conflict(exc):
        return 503, "database_busy", BUSY
    return None


def database_response(exc: DBAPIError, request: Request) -> JSONResponse | None:
    """The problem response of database_problem(exc), with Retry-After; None when it is not one."""
    found = database_problem(exc)
    if found is None:
        return None
    log.warning("%s on %s %s: %s", found[1], request.method, request.url.path, exc.orig)
    response = problem(*found, request)
    response.headers["Retry-After"] = "1"
    return response


def problem(status: int, code: str, detail: str, request: Request, **extra: Any) -> JSONResponse:
    """A problem+json response."""
    body = {
        "type": f"urn:shifan:problem:{code}",
        "title": title_of(status),
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.url.path,
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers on app."""

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        errors = (
            [{**e, "loc": ".".join(p for p in ("body", e.get("loc")) if p)} for e in exc.errors]
            if exc.in_body
            else exc.errors
        )
        extra = {"errors": errors} if errors else {}
        response = problem(exc.status, exc.code, exc.message, request, **extra)
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = messages.errors_of(exc.errors())
        return problem(422, "validation_failed", "提交的数据不符合要求，请检查标出的字段", request, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Starlette's own details are English ("Method Not Allowed"): never shown as they are.
        code, message = _HTTP_MESSAGES.get(exc.status_code, ("http_error", title_of(exc.status_code)))
        return problem(exc.status_code, code, message, request)

    @app.exception_handler(DataError)
    async def _out_of_range(request: Request, exc: DataError) -> JSONResponse:
        # a value the database cannot hold (an id beyond its integer range, a date out of range …)
        log.info("value refused by the database on %s %s: %s", request.method, request.url.path, exc.orig)
        return problem(422, "value_out_of_range", "提交的数值超出允许范围（例如编号过大）", request)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        # a constraint the services did not foresee (they check the usual ones with their own codes)
        log.warning("integrity error on %s %s: %s", request.method, request.url.path, exc.orig)
        return problem(409, "conflict", "与现有数据冲突（引用的对象不存在或已重复），未作修改", request)

    @app.exception_handler(DBAPIError)
    async def _database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        # the database restarting (the pool reconnects on its own) or a collision it rolled back: send again
        passing = database_response(exc, request)
        if passing is not None:
            return passing
        # a statement the database refused (a SQL error, a lock timeout …) is a fault of ours, not an outage
        log.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem(500, "internal_error", INTERNAL, request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # what UnexpectedErrorMiddleware cannot catch: an error in the middlewares outside it
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "internal_error", INTERNAL, request)


class UnexpectedErrorMiddleware:
    """Turns an unexpected exception into the 500 problem+json inside the app's own middleware, so the answer
    still passes the request id, CORS and security headers on its way out (Starlette's last-resort handler
    sits outside all of them: a browser page on another origin saw a 500 as a network error, without its
    request id). An exception after the answer has started is left to the server, which drops the connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            if started:
                raise
            request = Request(scope)
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            response = problem(500, "internal_error", INTERNAL, request)
            await response(scope, receive, send)
