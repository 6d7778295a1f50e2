"""The per-request GraphQL context: one session, the caller, fresh DataLoaders, and the way resolvers
call services. Services are synchronous; they run in a worker thread one at a time (a lock), so
resolvers that await in parallel never share the session across threads at once, and the request ends
(commit or roll back, connection returned) only after every piece of work it started."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

import anyio
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from strawberry.fastapi import BaseContext

from app.api import duties
from app.db import get_engine
from app.services.access import Principal, authenticate
from app.services.errors import Unauthorized
from app.services.storage import ObjectStore

T = TypeVar("T")


class RequestClosed(RuntimeError):
    """Work of a request reached its session after the request had ended (an orphaned resolver)."""


class TransactionBroken(RuntimeError):
    """Work of a request reached its session after an earlier statement of the request failed: the transaction
    can only be rolled back (PostgreSQL aborts it; a lost connection is gone). `cause` is that first error, so
    the answer is the same (a restarting database is 503 for every field it broke, not a 500)."""

    def __init__(self, cause: DBAPIError) -> None:
        super().__init__(str(cause))
        self.cause = cause


@dataclass
class Transaction:
    """The request's session and its lifecycle. Every use of the session and its final commit or roll back
    take the same thread lock, in the worker thread that does the work: a resolver whose awaiting coroutine
    was cancelled (or left running by a failed sibling) still holds the session until its thread is done, the
    end of the request waits for it, and nothing touches the session once the request has ended."""

    session: Session
    failed: bool = False
    closed: bool = False
    broken: DBAPIError | None = None  # the first database error of the request: nothing may be committed
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def run(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """fn(session, **kwargs), alone on the session; refused once the request has ended or a statement of
        it failed."""
        with self._guard:
            if self.closed:
                raise RequestClosed("the request has ended")
            if self.broken is not None:
                raise TransactionBroken(self.broken)
            try:
                return fn(self.session, **kwargs)
            except DBAPIError as exc:
                self.broken = exc
                raise

    def finish(self, *, ok: bool) -> None:
        """Commit (ok, no mutation failed and no statement failed) or roll back, then close: after any work
        still running."""
        with self._guard:
            self.closed = True
            try:
                if ok and not self.failed and self.broken is None:
                    self.session.commit()
                else:
                    self.session.rollback()
            finally:
                self.session.close()  # the connection goes back to the pool, never idle in transaction


async def transaction() -> AsyncIterator[Transaction]:
    """The request's transaction; ends (shielded from cancellation) only after all work it started."""
    tx = Transaction(Session(get_engine(), expire_on_commit=False))
    ok = False
    try:
        yield tx
        ok = True
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(functools.partial(tx.finish, ok=ok))


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
                who = await self._run(authenticate, token=self.token)
                duties.refuse_outside_duty(who.role, "POST", "/graphql")  # 三员分立
                self._principal = who
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
        # the asyncio lock keeps one worker thread per request; the transaction's own lock is what holds
        # when a coroutine is cancelled and its thread runs on
        async with self._db:
            return await run_in_threadpool(self.tx.run, fn, **kwargs)
