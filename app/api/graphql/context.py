"""The per-request GraphQL context: one session, the caller, fresh DataLoaders, and the way resolvers
call services. Services are synchronous; they run in a worker thread one at a time (a lock), so
resolvers that await in parallel never share the session across threads at once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from strawberry.fastapi import BaseContext

from app.db import get_engine
from app.services.access import Principal, authenticate
from app.services.errors import Unauthorized
from app.services.storage import ObjectStore

T = TypeVar("T")


@dataclass
class Transaction:
    """The request's session; rolled back instead of committed once a mutation has failed."""

    session: Session
    failed: bool = False


def transaction() -> Iterator[Transaction]:
    with Session(get_engine(), expire_on_commit=False) as session:
        tx = Transaction(session)
        try:
            yield tx
        except BaseException:
            session.rollback()
            raise
        if tx.failed:
            session.rollback()
        else:
            session.commit()


@dataclass
class Context(BaseContext):
    """What every resolver reaches through info.context."""

    tx: Transaction
    token: str | None
    today: date
    store: ObjectStore
    api_base: str  # the API's URL prefix as the caller reached it, for the links it hands out
    _principal: Principal | None = None
    _db: asyncio.Lock = field(default_factory=asyncio.Lock)
    _auth: asyncio.Lock = field(default_factory=asyncio.Lock)
    loaders: Any = None  # the request's Loaders, set by get_context (loaders sit above the types, which need Context)

    def __post_init__(self) -> None:
        super().__init__()

    async def principal(self) -> Principal:
        """The caller, authenticated once per request with the same rules as REST."""
        async with self._auth:
            if self._principal is None:
                if not self.token:
                    raise Unauthorized("请先登录", code="not_authenticated")
                self._principal = await self._run(authenticate, token=self.token)
        return self._principal

    async def call(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """Run the service function fn(session, principal=caller, **kwargs) in a worker thread."""
        principal = await self.principal()
        return await self._run(fn, principal=principal, **kwargs)

    async def fetch(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """Run fn(session, **kwargs) for an authenticated caller: services with no per-caller rule (frameworks)."""
        await self.principal()
        return await self._run(fn, **kwargs)

    async def write(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """Like call, for a mutation: if it fails, nothing the request wrote is committed."""
        try:
            return await self.call(fn, **kwargs)
        except BaseException:
            self.tx.failed = True
            raise

    async def _run(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        async with self._db:
            return await run_in_threadpool(fn, self.tx.session, **kwargs)
