"""Request dependencies: the session (commit once / roll back) and the calling principal."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Annotated

from fastapi import Depends, Query
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from app.db import session_scope
from app.services.access import Principal, authenticate
from app.services.errors import Unauthorized
from app.services.storage import ObjectStore, get_store


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


def _principal(session: SessionDep, token: Annotated[str | None, Depends(_bearer)]) -> Principal:
    if not token:
        raise Unauthorized("请先登录", code="not_authenticated")
    return authenticate(session, token)


CurrentPrincipal = Annotated[Principal, Depends(_principal)]


def _principal_own_session(token: Annotated[str | None, Depends(_bearer)]) -> Principal:
    if not token:
        raise Unauthorized("请先登录", code="not_authenticated")
    with session_scope() as session:
        return authenticate(session, token)


# For streaming uploads: the caller is checked in a short transaction of its own, so no database
# connection is held while a large file travels.
StreamingPrincipal = Annotated[Principal, Depends(_principal_own_session)]


def _store() -> ObjectStore:
    return get_store()


StorageDep = Annotated[ObjectStore, Depends(_store)]


def _today() -> date:
    return date.today()


# The date "overdue" is judged against; one dependency so tests and reports can pin it.
Today = Annotated[date, Depends(_today)]


class PageParams:
    """limit/offset query parameters with a hard maximum page size."""

    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=500, description="每页条数（最多500）")] = 50,
        offset: Annotated[int, Query(ge=0, description="跳过的条数")] = 0,
    ) -> None:
        self.limit = limit
        self.offset = offset


PageDep = Annotated[PageParams, Depends()]
