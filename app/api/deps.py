"""Request dependencies: the session (commit once / roll back) and the calling principal."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

import anyio
import anyio.to_thread
import orjson
from fastapi import Depends, Header, Query, Request
from fastapi.responses import Response
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel
from sqlmodel import Session

from app.api import duties
from app.db import read_scope, session_scope
from app.models.common import Page
from app.models.user import Role
from app.services.access import Principal, authenticate, principal_of_claims
from app.services.auth import decode_token
from app.services.errors import DomainError, Invalid, Unauthorized
from app.services.storage import ObjectStore, get_store
from app.settings import get_settings

T = TypeVar("T")

API_PREFIX = "/api/v1"


def public_base(request: Request) -> str:
    """Where clients reach this service, for every absolute link the API hands out (download and upload links,
    calendar feeds, the next page): SHIFAN_PUBLIC_URL when set; otherwise the request's own address, only under
    a host the deployment names (SHIFAN_ALLOWED_HOSTS, or loopback). A link built from any Host a client sends
    would lead whoever follows it (a colleague, a calendar app) to that client's server."""
    settings = get_settings()
    if settings.public_url:
        return settings.public_url.rstrip("/")
    scope = request.scope
    # what the request's own address is made of (every page of a list links the next: kept per address)
    server = scope.get("server")
    key = (scope.get("scheme"), tuple(server) if server else None, scope.get("root_path"),
           scope.get("app_root_path"), request.headers.get("host"))  # fmt: skip
    found = _BASES.get(key)
    if found is not None and found[0] is settings:
        return found[1]
    host = (request.url.hostname or "").lower()
    if host not in settings.allowed_host_list():
        raise DomainError(
            f"无法生成链接：本服务不认识访问地址中的主机名“{host[:100]}”。"
            "请管理员设置 SHIFAN_PUBLIC_URL（对外访问地址）或把该主机名加入 SHIFAN_ALLOWED_HOSTS",
            code="host_not_allowed",
        )
    base = str(request.base_url).rstrip("/")
    if len(_BASES) >= 256:
        _BASES.clear()
    _BASES[key] = (settings, base)
    return base


_BASES: dict[tuple[Any, ...], tuple[Any, str]] = {}  # request address -> (the settings it was judged by, base)


def _api_base(request: Request) -> str:
    """The API's URL prefix where clients reach it (links the API hands out point back through it)."""
    return public_base(request) + API_PREFIX


ApiBase = Annotated[str, Depends(_api_base)]


def _session() -> Iterator[Session]:
    with session_scope() as session:
        yield session


# scope="function": the commit happens when the route returns, before the response is sent,
# so a failed commit turns into an error response instead of a 200 for lost work.
SessionDep = Annotated[Session, Depends(_session, scope="function")]

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def bearer_token(token: Annotated[str | None, Depends(_bearer)]) -> str | None:
    """The bearer token of the request, if any (GraphQL authenticates it lazily)."""
    return token


def _principal(request: Request, session: SessionDep, token: Annotated[str | None, Depends(_bearer)]) -> Principal:
    if not token:
        raise Unauthorized("请先登录", code="not_authenticated")
    who = authenticate(session, token)  # refuses a password that must be changed first (issue 23)
    duties.refuse_outside_route_duty(who.role, request)  # 三员分立: an administrator only on its duty's routes
    return who


CurrentPrincipal = Annotated[Principal, Depends(_principal)]


def _password_changer(session: SessionDep, token: Annotated[str | None, Depends(_bearer)]) -> Principal:
    if not token:
        raise Unauthorized("请先登录", code="not_authenticated")
    return authenticate(session, token, password_change=True)


# The caller of POST /me/password only: the one route an expired or administrator-set password still reaches.
PasswordChanger = Annotated[Principal, Depends(_password_changer)]


def _security_administrator(who: CurrentPrincipal) -> Principal:
    who.require(Role.security_admin)
    return who


# The security administrator's duty (等保 2.0 三员分立) for the routes that take it as their caller (ending
# anyone's login session …); app/api/duties.py maps every route to its duty.
SecurityAdministrator = Annotated[Principal, Depends(_security_administrator)]


def _audit_administrator(who: CurrentPrincipal) -> Principal:
    # the audit administrator (every county), or a county's office (the service keeps it to its own county)
    who.require(Role.audit_admin, Role.office)
    return who


# Who may take the audit trail away (GET /audit/export): 审计管理员, or an office for its own county.
AuditAdministrator = Annotated[Principal, Depends(_audit_administrator)]


def _principal_own_session(request: Request, token: Annotated[str | None, Depends(_bearer)]) -> Principal:
    if not token:
        raise Unauthorized("请先登录", code="not_authenticated")
    with session_scope() as session:
        who = authenticate(session, token)
    duties.refuse_outside_route_duty(who.role, request)
    return who


# For streaming uploads: the caller is checked in a short transaction of its own, so no database
# connection is held while a large file travels.
StreamingPrincipal = Annotated[Principal, Depends(_principal_own_session)]


_READERS: list[anyio.CapacityLimiter] = []  # made on first use, inside the event loop


def _readers() -> anyio.CapacityLimiter:
    if not _READERS:
        _READERS.append(anyio.CapacityLimiter(get_settings().read_threads))
    return _READERS[0]


class Reader:
    """The busiest reads (to-do list, assignment ledger, evidence detail) in one worker-thread hop: the read-only
    session (no BEGIN/COMMIT round trips), the caller checked against the database as for every request (a
    disabled account or revoked token is refused at once), the service's answer, and its JSON written once
    by pydantic. A sync route instead hops threads for each sync dependency, the route and the response
    check, and validates its answer again before serialising it twice."""

    def __init__(self, claims: dict[str, Any]) -> None:
        self.claims = claims

    async def __call__(self, work: Callable[[Session, Principal], BaseModel | dict[str, Any]]) -> Response:
        """work(session, caller)'s answer as the JSON response (its errors become problem+json as usual): a model
        written by pydantic, or plain data (rows read on the driver, issue 28) written by orjson — as pydantic
        writes the same fields (dates ISO 8601, UTC as Z)."""

        def run() -> bytes:
            with read_scope() as session:
                return self.answer(session, work)

        return Response(await anyio.to_thread.run_sync(run, limiter=_readers()), media_type="application/json")

    def answer(self, session: Session, work: Callable[[Session, Principal], BaseModel | dict[str, Any]]) -> bytes:
        """The caller checked on session, then work's answer as JSON (app/api/hot_reads.py runs it on the loop)."""
        answer = work(session, principal_of_claims(session, self.claims))
        if isinstance(answer, BaseModel):
            return answer.__pydantic_serializer__.to_json(answer, by_alias=True)
        return orjson.dumps(answer, option=orjson.OPT_UTC_Z)


async def _reader(request: Request, token: Annotated[str | None, Depends(_bearer)]) -> Reader:
    # async: no worker-thread hop; the token's signature and expiry are checked here, before the route runs,
    # as for every other route (the account itself is read with the route's work, which refuses a token whose
    # role is no longer the account's)
    if not token:
        raise Unauthorized("请先登录", code="not_authenticated")
    claims = decode_token(token)
    duties.refuse_outside_route_duty(str(claims.get("role", "")), request)
    return Reader(claims)


# A read-only route: `return await read(lambda session, who: service_call(...))`; declare the answer's model
# with response_model= on the route for the API description.
ReadDep = Annotated[Reader, Depends(_reader)]


def _store() -> ObjectStore:
    return get_store()


StorageDep = Annotated[ObjectStore, Depends(_store)]


async def _today() -> date:  # async: no worker-thread hop for a clock read
    return date.today()


# The date "overdue" is judged against; one dependency so tests and reports can pin it.
Today = Annotated[date, Depends(_today)]


# The ETag a client read, sent back on a change: a stale one gets 412 (optional; without it, last write wins).
IfMatch = Annotated[str | None, Header(alias="If-Match", description="上次读取时的 ETag；已被他人修改则返回 412")]
STALE: dict[int | str, dict[str, Any]] = {412: {"description": "已被他人修改（If-Match 与当前 ETag 不符）"}}


# How assignment lists are ordered: due_on (default), item, unit or status; "-" in front for descending.
SortDep = Annotated[str, Query(pattern=r"^-?[a-z_]+$", description="排序：due_on、item、unit、status，前加 - 为倒序")]


class PageParams:
    """limit with offset or cursor (the next_cursor of the previous page), a hard maximum page size,
    and the page envelope with the link to the next page."""

    def __init__(self, request: Request, limit: int, offset: int, cursor: str | None) -> None:
        self.limit = limit
        self.offset = _cursor_offset(cursor) if cursor else offset
        self._request = request
        self._query = request.query_params

    def of(self, items: list[T], total: int) -> Page[T]:
        """The page envelope of items (one page of total), with next_cursor and next when more follow."""
        return Page(**self.envelope(items, total))

    def envelope(self, items: list[Any], total: int) -> dict[str, Any]:
        """The fields of the page envelope of items, as of() fills them (for rows written straight to JSON)."""
        found: dict[str, Any] = {"items": items, "total": total, "limit": self.limit, "offset": self.offset}
        following = self.offset + len(items)
        if following >= total or not items:
            return {**found, "next_cursor": None, "next": None}
        cursor = base64.urlsafe_b64encode(f"o{following}".encode()).decode().rstrip("=")
        query = [(k, v) for k, v in self._query.multi_items() if k not in ("cursor", "offset")]
        here = public_base(self._request) + self._request.url.path  # only when a next page is linked
        url = f"{here}?{urlencode([*query, ('cursor', cursor)])}"
        return {**found, "next_cursor": cursor, "next": url}

    def of_all(self, rows: Sequence[T]) -> Page[T]:
        """This page of a list the service loads whole (a county's units, a round's scores …)."""
        return self.of(list(rows[self.offset : self.offset + self.limit]), len(rows))


def _cursor_offset(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if text.startswith("o") and text[1:].isdigit():
            return int(text[1:])
    except (ValueError, UnicodeDecodeError):
        pass
    raise Invalid("分页游标无效，请使用上一页返回的 next_cursor", code="cursor_invalid")


async def _page(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500, description="每页条数（最多500）")] = 50,
    offset: Annotated[int, Query(ge=0, description="跳过的条数")] = 0,
    cursor: Annotated[str | None, Query(description="上一页返回的 next_cursor（与 offset 二选一）")] = None,
) -> PageParams:
    return PageParams(request, limit, offset, cursor)  # async: no worker-thread hop for parsing a query


PageDep = Annotated[PageParams, Depends(_page)]
