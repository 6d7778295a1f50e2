"""The busiest reads on the event loop (issue 28): PostgreSQL through asyncpg, with no worker-thread hop.

A read's code stays the sync code every read runs — the caller checked by access.principal_of_claims, the tenancy
conditions of app/services/access.py compiled once into statements (app.db.Prepared) — and runs here in a greenlet
(SQLAlchemy's greenlet_spawn). Where it runs a compiled statement, LoopSession sends it on an asyncpg connection and
the greenlet waits for the rows on the loop (await_), so the loop serves other requests meanwhile. LoopSession does
nothing else: any other use of the session (an ORM query, a lazy load, building what app.kept has not kept yet)
raises NotOnLoop, as does a statement that fails, and the request is then answered the general way (a read: nothing
was written). Only PostgreSQL, and only with asyncpg installed: elsewhere available() is False.

The connections are the loop's own (asyncpg's are bound to the loop that opened them): at most
settings.loop_read_connections per loop, in autocommit like app.db.read_scope, never reset between reads (they run
nothing but these reads' selects), and thrown away after any error. close() at the app's shutdown."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import inspect
import logging
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from app.db import get_engine
from app.settings import get_settings

T = TypeVar("T")
log = logging.getLogger("shifan.loop_reads")


# How the loop's connections name themselves to PostgreSQL (pg_stat_activity)
APPLICATION_NAME = "shifan-hot-reads"
# A connection not made in this time is given up and the read answered the general way (asyncpg waits 60 s); after
# that, the loop tries no new connection for a while, so an outage does not cost every read the wait twice
CONNECT_SECONDS = 5.0
REST_SECONDS = 2.0
# The longest a read waits for one of the loop's connections (the general pool's own limit); then the general way
SLOT_SECONDS = 30.0


class NotOnLoop(Exception):
    """What a read asked of its session cannot be done on the loop: answer it the general way."""


def _single(convert: Callable[[str], Any]) -> Callable[[Any], Any]:
    def one(value: Any) -> Any:
        if not isinstance(value, str):  # the option given more than once
            raise ValueError(f"one value expected, not {value!r}")
        return convert(value)

    return one


# libpq's URL options asyncpg takes under another name (a URL written for psycopg works for both)
_LIBPQ = {"sslmode": ("ssl", _single(str)), "connect_timeout": ("timeout", _single(float))}


@lru_cache(maxsize=4)
def _target(url: str) -> tuple[Any, dict[str, Any]] | None:
    """The asyncpg dialect and connect arguments for a PostgreSQL url; None for another database, without asyncpg, or
    for a URL option asyncpg does not take (logged once: the busiest reads are then answered the general way). Never
    raises: every GET asks (available())."""
    try:
        return _translated(url)
    except Exception:  # noqa: BLE001 - a URL nobody foresaw: the general way, which reports it as it always did
        log.warning("database URL not usable on the loop: the busiest reads run the general way", exc_info=True)
        return None


def _translated(url: str) -> tuple[Any, dict[str, Any]] | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return None
    try:
        import asyncpg
        from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return None
    dialect = PGDialect_asyncpg()
    query = dict(parsed.query)
    try:
        named = {_LIBPQ[k][0]: _LIBPQ[k][1](query.pop(k)) for k in list(query) if k in _LIBPQ}
    except (TypeError, ValueError):  # a value given twice, or not a number where one is wanted
        log.warning("database URL options %s not understood: the busiest reads run the general way", sorted(query))
        return None
    if named.get("timeout", 1) <= 0:  # libpq's 0: wait as long as it takes; the loop gives up after its own time
        named.pop("timeout")
    _args, kwargs = dialect.create_connect_args(parsed.set(drivername="postgresql+asyncpg", query=query))
    kwargs.pop("prepared_statement_name_func", None)
    kwargs = {"timeout": CONNECT_SECONDS, **kwargs, **named}
    unknown = set(kwargs) - set(inspect.signature(asyncpg.connect).parameters)
    if unknown:
        log.warning("database URL option(s) %s not understood by asyncpg: the busiest reads run the general way",
                    ", ".join(sorted(unknown)))  # fmt: skip
        return None
    kwargs["server_settings"] = {**kwargs.get("server_settings", {}), "application_name": APPLICATION_NAME}
    return dialect, kwargs


def available() -> bool:
    """Whether reads can run on the loop for the configured database."""
    return _target(get_settings().database_url) is not None


class _Bind:
    """What app.db.prepared and app.kept read of a session's bind: the dialect statements compile for, and the
    database's URL (the same as the general path's, so what app.kept keeps serves both)."""

    def __init__(self, dialect: Any, url: Any) -> None:
        self.dialect = dialect
        self.url = url


class LoopSession:
    """A read's session on the loop: its bind, per-request info, and rows(sql, params) for a compiled statement."""

    on_loop = True  # what app.db.Prepared and app.kept ask (a SQLAlchemy Session has no such attribute)

    def __init__(self, connection: Any, bind: _Bind, engine: Engine) -> None:
        self.info: dict[str, Any] = {}
        self._connection = connection
        self._bind = bind
        self._listeners = engine.dispatch.before_cursor_execute

    def get_bind(self) -> _Bind:
        return self._bind

    def rows(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        """The rows of sql (asyncpg's $n parameters) for params, waited for on the loop. The engine's
        before_cursor_execute listeners see it first, as every statement of the general path (app.db's check of
        out-of-range integers; a test's statement count), with no SQLAlchemy connection (None)."""
        from sqlalchemy.util.concurrency import await_

        for listen in self._listeners:  # their refusal (a value no column holds) is the read's own error
            sql, params = listen(None, None, sql, params, None, False)
        try:
            return await_(self._connection.fetch(sql, *params))  # asyncpg's Records: indexed and sliced as tuples
        except Exception as exc:  # the general path gives the same error, or an answer after a lost connection
            raise NotOnLoop(f"statement failed on the loop: {exc!r}") from exc

    def __getattr__(self, name: str) -> Any:
        raise NotOnLoop(f"session.{name} is not available on the loop")


async def _on_connect(connection: Any) -> None:
    # json and jsonb as Python values, as psycopg gives them (asyncpg gives text)
    import orjson

    for name in ("json", "jsonb"):
        await connection.set_type_codec(name, encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads,
                                        schema="pg_catalog")  # fmt: skip


class _Pool:
    """The loop's connections: at most size in use at once, idle ones kept for the next read."""

    def __init__(self, connect: dict[str, Any], size: int) -> None:
        self._connect = connect
        self._slots = asyncio.Semaphore(size)
        self._idle: list[Any] = []
        self._resting_until = 0.0  # after a failed connect: no new one tried before (the general way answers)

    async def acquire(self) -> Any:
        import asyncpg

        if self._slots.locked():  # every connection busy: wait as long as the general pool waits for one
            try:
                await asyncio.wait_for(self._slots.acquire(), SLOT_SECONDS)
            except TimeoutError as exc:
                raise ConnectionError("no loop connection free") from exc
        else:
            await self._slots.acquire()  # free: taken at once (wait_for costs a task and a timer per call)
        try:
            while self._idle:
                connection = self._idle.pop()
                if not connection.is_closed():
                    return connection
            if time.monotonic() < self._resting_until:
                raise ConnectionError("the database did not take a connection a moment ago")
            try:
                connection = await asyncpg.connect(**self._connect)
            except Exception:
                self._resting_until = time.monotonic() + REST_SECONDS
                raise
            try:
                await _on_connect(connection)
            except BaseException:
                connection.terminate()
                raise
            return connection
        except BaseException:
            self._slots.release()
            raise

    def release(self, connection: Any, *, reusable: bool) -> None:
        if reusable and not connection.is_closed():
            self._idle.append(connection)
        else:
            connection.terminate()
        self._slots.release()

    def drop(self) -> None:
        """Close the idle connections without the loop (the interpreter's exit: the loop may be gone)."""
        idle, self._idle = self._idle, []
        for connection in idle:
            with contextlib.suppress(Exception):  # the loop is closed: the socket goes with the process
                connection.terminate()

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            try:
                await asyncio.wait_for(connection.close(), 5)
            except Exception:  # noqa: BLE001 - closing: a connection already gone is gone
                connection.terminate()


_POOLS: dict[asyncio.AbstractEventLoop, tuple[str, _Pool]] = {}


def _pool(url: str, connect: dict[str, Any]) -> _Pool:
    loop = asyncio.get_running_loop()
    found = _POOLS.get(loop)
    if found is None or found[0] != url:
        for other in [other for other in _POOLS if other.is_closed()]:  # a loop gone without the app's shutdown
            _POOLS.pop(other)[1].drop()
        if found is not None:
            found[1].drop()
        found = _POOLS[loop] = (url, _Pool(connect, get_settings().loop_read_connections))
    return found[1]


async def run(work: Callable[[LoopSession], T]) -> T:
    """work(session)'s answer, run on the loop with a LoopSession; NotOnLoop when it cannot be (answer the general
    way). Other errors of work are its own (the caller decides)."""
    from sqlalchemy.util.concurrency import greenlet_spawn

    engine = get_engine()
    url = get_settings().database_url
    target = _target(url)
    if target is None:
        raise NotOnLoop("not PostgreSQL")
    dialect, connect = target
    pool = _pool(url, connect)
    try:
        connection = await pool.acquire()
    except Exception as exc:  # the database is not reachable: the general path answers (503 database_unavailable)
        raise NotOnLoop(f"no connection on the loop: {exc!r}") from exc
    reusable = False
    try:
        answer = await greenlet_spawn(work, LoopSession(connection, _Bind(dialect, engine.url), engine))
        reusable = True
        return answer
    except Exception as exc:
        reusable = _still_good(exc)
        raise
    finally:  # cancelled (BaseException) mid-statement: the connection's state is unknown, it is thrown away
        pool.release(connection, reusable=reusable)


def _still_good(exc: Exception) -> bool:
    """Whether a connection is fit for the next read after exc: an error of the read's own code, or the server's
    answer to a statement (asyncpg's PostgresError) — not a driver or network failure."""
    import asyncpg

    cause = exc.__cause__ if isinstance(exc, NotOnLoop) else None
    return cause is None or isinstance(cause, asyncpg.PostgresError)


@atexit.register
def _drop_all() -> None:
    # a loop that ended without the app's shutdown (a server run with lifespan off): its connections are closed
    # here, not found open by the garbage collector after the interpreter has torn its modules down
    for _url, pool in list(_POOLS.values()):
        pool.drop()


async def close() -> None:
    """Close the running loop's idle connections (the app's shutdown)."""
    found = _POOLS.pop(asyncio.get_running_loop(), None)
    if found is not None:
        await found[1].close()
