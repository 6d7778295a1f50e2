"""Engine and sessions. The request's session commits once at the end or rolls back."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DataError, DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import ORMExecuteState
from sqlmodel import Session, create_engine

from app.settings import get_settings

_INT64 = range(-(2**63), 2**63)


def _refuse_out_of_range(_conn, _cursor, statement, parameters, _context, _executemany) -> None:  # noqa: ANN001
    """An integer no database column can hold (beyond 64 bits) is the caller's bad value on every backend:
    SQLite's driver would raise a bare OverflowError (a 500) and PostgreSQL's would send it as a numeric
    that silently matches nothing. Both now get the DataError a too-large value gets (422 value_out_of_range)."""
    # one row (a dict or a tuple) or many; "insertmanyvalues" batches hand over one flat tuple even then
    rows = parameters if isinstance(parameters, list) else (parameters,)
    for row in rows:
        for value in row.values() if isinstance(row, dict) else row if isinstance(row, (tuple, list)) else (row,):
            if type(value) is int and value not in _INT64:
                raise DataError(statement, parameters, OverflowError(f"integer out of range: {value}"))


def make_engine(url: str) -> Engine:
    """An engine for url; SQLite gets foreign keys on, row locks as write locks and its folder created."""
    engine = _make_engine(url)
    event.listen(engine, "before_cursor_execute", _refuse_out_of_range)
    return engine


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        db_path = url.split("///", 1)[-1]
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _fk_on(dbapi_conn, _record) -> None:  # noqa: ANN001
            dbapi_conn.execute("PRAGMA foreign_keys=ON")

        @event.listens_for(engine, "before_execute")
        def _lock_for_update(conn, statement, *_args: object) -> None:  # noqa: ANN001
            # SQLite has no row locks and drops FOR UPDATE, so a read-check-write (an ETag compare, a
            # once-only claim) would race. Where the code asks for a lock, take SQLite's write lock
            # instead (BEGIN IMMEDIATE): other writers wait until this transaction ends, and the locked
            # read sees every commit before it. A transaction that has already written holds the lock.
            if getattr(statement, "_for_update_arg", None) is not None:
                dbapi_conn = conn.connection.dbapi_connection
                if dbapi_conn is not None and not dbapi_conn.in_transaction:
                    try:
                        dbapi_conn.execute("BEGIN IMMEDIATE")
                    except sqlite3.Error as exc:  # as SQLAlchemy wraps the driver's errors (busy: write_conflict)
                        raise OperationalError("BEGIN IMMEDIATE", None, exc) from exc

        return engine
    engine = create_engine(url, pool_size=10, max_overflow=20)
    _ping_when_idle(engine)
    return engine


# A pooled connection that sat unused this long is pinged before it is handed out; a busy one is not (a ping
# per checkout was one of five round trips of every read). A connection that died while in use — the server
# restarted — fails its statement instead: SQLAlchemy sees the disconnect, invalidates the whole pool, and
# that request answers 503 database_unavailable; the next ones get fresh connections.
IDLE_PING_SECONDS = 10.0


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is not None and time.monotonic() - since > IDLE_PING_SECONDS:
            try:
                engine.dialect.do_ping(dbapi_conn)
            except Exception as exc:  # the pool throws it away and checks out another (up to three times)
                raise DisconnectionError("idle connection no longer answers") from exc


# PostgreSQL's answers that mean "the server went away or is not accepting connections": class 08
# (connection exception) and 57P01-57P03 (shut down by the administrator, crashed, starting up).
_LOST_SQLSTATES = ("08", "57P01", "57P02", "57P03")


def connection_lost(exc: DBAPIError) -> bool:
    """Whether a database error means the connection is gone (an outage worth retrying), not a bad statement.

    SQLAlchemy marks an error on a live connection that broke (`connection_invalidated`); a failed connect
    has no connection to judge, so its driver error decides: a socket error, or a psycopg OperationalError
    without a server answer (refused, closed, lost) or with one of the shutdown states. Everything else —
    a syntax error, a missing table, SQLite's "database is locked", a cancelled statement — is not an
    outage, whatever class the driver files it under."""
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if isinstance(orig, OSError):
        return True
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency; SQLite-only installs still work
        return False
    if isinstance(orig, psycopg.OperationalError):
        state = getattr(orig, "sqlstate", None)
        return state is None or state.startswith(_LOST_SQLSTATES)
    return False


# A deadlock one side of which PostgreSQL aborted (40P01), or a serialization failure (40001): nothing was
# written, and the same request sent again succeeds.
_CONFLICT_SQLSTATES = ("40P01", "40001")


def write_conflict(exc: DBAPIError) -> bool:
    """Whether a database error means the transaction collided with another one and was rolled back (worth
    sending again), not a bad statement. On SQLite: another writer held the database past the busy timeout."""
    if isinstance(exc.orig, sqlite3.OperationalError):
        return "database is locked" in str(exc.orig)
    return getattr(exc.orig, "sqlstate", None) in _CONFLICT_SQLSTATES


@lru_cache
def get_engine() -> Engine:
    """The process-wide engine for the configured database."""
    return make_engine(get_settings().database_url)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits when the caller's work finishes, or rolls back on any error."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def on_commit(session: Session, action: Callable[[], None]) -> None:
    """Run action once the session's transaction has committed (never if it rolls back): for what must not
    happen before the work is durable, such as removing an object a failed commit's retry still needs."""
    event.listen(session, "after_commit", lambda _session: action(), once=True)


class ReadOnlySession(Session):
    """A session that only reads: see read_scope."""


@event.listens_for(ReadOnlySession, "before_flush")
def _refuse_flush(session: Session, *_args: object) -> None:
    raise RuntimeError("a read-only request tried to write (use the request's SessionDep for writes)")


@event.listens_for(ReadOnlySession, "do_orm_execute")
def _refuse_write_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        raise RuntimeError("a read-only request tried to write (use the request's SessionDep for writes)")


@lru_cache(maxsize=4)  # one per engine the process has pointed at
def _autocommit(engine: Engine) -> Engine:
    return engine.execution_options(isolation_level="AUTOCOMMIT")


@contextmanager
def read_scope() -> Iterator[Session]:
    """A session for a request that only reads: no BEGIN and no COMMIT round trips (the driver runs in
    autocommit). Each statement sees every commit before it, as each statement of a READ COMMITTED
    transaction (PostgreSQL's default) does. A write through the ORM (a flush, an insert/update/delete
    statement) raises, a programming error; raw SQL is not inspected — read routes do not send any."""
    with ReadOnlySession(_autocommit(get_engine()), expire_on_commit=False) as session:
        yield session


# --- Statements compiled once (issue 28) -------------------------------------------------------------------------
# The busiest reads build their statements from the same SQLAlchemy conditions as every other read (the tenancy
# rules in app/services/access.py); what differs is how one is run. SQLAlchemy re-builds a statement, computes its
# cache key and runs the ORM's result machinery on every call (~0.9 ms of CPU for the to-do list). A Prepared holds
# the statement compiled once for the engine's dialect; a call only binds its values and runs the SQL text on the
# driver through the connection (SQLAlchemy still wraps driver errors and throws a dead connection's pool away), and
# the dialect's own type processors turn the driver's values into Python ones (SQLite's dates are text).


class Prepared:
    """A select compiled once for a dialect, run with run(session, values): its rows as plain tuples."""

    def __init__(self, statement: Any, dialect: Any) -> None:
        self.compiled = statement.compile(dialect=dialect)
        self.keys: tuple[str, ...] = tuple(statement.selected_columns.keys())
        types = [c.type.dialect_impl(dialect) for c in statement.selected_columns]
        processors = [t.result_processor(dialect, None) for t in types]
        self._processors = [(i, p) for i, p in enumerate(processors) if p] or None  # the few columns that have one
        # a row whose processed columns are all NULL is kept as it is where every processor leaves None as None
        # (UTCDateTime: the last review's time of a row with no review)
        self._none_stays = self._processors is not None and all(_keeps_none(p) for _, p in self._processors)
        self._expanding = bool(self.compiled.post_compile_params)  # an IN list: its SQL depends on the values

    def run(self, session: Session, values: dict[str, Any]) -> list[tuple[Any, ...]]:
        """The statement's rows for values (one per named bindparam), on the session's connection."""
        compiled = self.compiled
        if self._expanding:
            state = compiled.construct_expanded_state(values)
            sql, params = state.statement, state.parameters
            processors = state.processors
        else:
            sql, params, processors = compiled.string, compiled.construct_params(values), compiled._bind_processors
        for name, process in processors.items():
            if name in params:
                params[name] = process(params[name])
        if compiled.positional:
            order = state.positiontup if self._expanding else compiled.positiontup
            params = tuple(params[name] for name in order)  # type: ignore[assignment,union-attr]
        if getattr(session, "on_loop", False):  # a read on the event loop (app/loop_reads.py)
            return self._processed(session.rows(sql, params))
        return self._processed(_on_driver(session.connection(), sql, params))

    def _processed(self, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        if self._processors is None:
            return rows
        done = []
        processed = [i for i, _ in self._processors]
        for row in rows:
            if self._none_stays:
                for i in processed:
                    if row[i] is not None:
                        break
                else:
                    done.append(row)
                    continue
            cells = list(row)
            for i, process in self._processors:
                cells[i] = process(cells[i])
            done.append(tuple(cells))
        return done


def _keeps_none(process: Callable[[Any], Any]) -> bool:
    try:
        return process(None) is None
    except Exception:  # noqa: BLE001 - a processor that cannot take None: every row is processed
        return False


def _on_driver(conn: Any, sql: str, params: Any) -> list[tuple[Any, ...]]:
    """The rows of sql on conn's driver cursor. Not exec_driver_sql: its result object reads the cursor's description
    and sets up per-column metadata, a third of the work for rows used once as plain tuples. What it does around the
    driver is kept: the engine's before_cursor_execute listeners (the out-of-range check, statement counters) and a
    driver error handed to SQLAlchemy, which wraps it (a lost connection: 503 database_unavailable) and throws a
    dead connection's pool away."""
    for listen in conn.dispatch.before_cursor_execute:
        sql, params = listen(conn, None, sql, params, None, False)
    cursor = None
    try:
        cursor = conn.connection.dbapi_connection.cursor()
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        cursor.close()
        return rows
    except Exception as exc:
        conn._handle_dbapi_exception(exc, sql, params, cursor, None)
        raise  # pragma: no cover - _handle_dbapi_exception always raises


_PREPARED: dict[tuple[Any, ...], Prepared] = {}
_PREPARED_MAX = 1024


def prepared(session: Session, key: tuple[Any, ...], build: Callable[[], Any]) -> Prepared:
    """The statement build() makes, compiled once per key for the session's dialect. key must name everything the
    statement's shape depends on (a caller's scope, which filters are present, the sort); the values it binds by
    name are given to run()."""
    dialect = session.get_bind().dialect
    full = (dialect.name, dialect.driver, *key)  # psycopg's and asyncpg's SQL differ (%(name)s, $1)
    found = _PREPARED.get(full)
    if found is None:
        if len(_PREPARED) >= _PREPARED_MAX:
            _PREPARED.clear()  # simpler than an LRU: that many callers and shapes in one process is rare
        found = _PREPARED[full] = Prepared(build(), dialect)
    return found
