"""The database half of a backup, the only place PostgreSQL and SQLite differ.

PostgreSQL: a REPEATABLE READ transaction exports its snapshot and pg_dump dumps exactly that snapshot
(--snapshot) while the same transaction reads the row counts and the object keys, so the dump, the counts and
the objects copied all describe one moment, whatever is written meanwhile. pg_dump and pg_restore are the
server's own major version where installed (Debian's /usr/lib/postgresql/<major>/bin), else a newer one.
SQLite: the online backup API copies the live file page by page into a consistent copy, which is then read.
Restoring across backends is not supported: a PostgreSQL dump goes back into PostgreSQL, a SQLite file into
SQLite."""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from app.resources import ALEMBIC_INI
from app.services.errors import DomainError, Invalid, Unavailable

DUMP_FILES = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}


@dataclass
class Snapshot:
    """A database frozen at one moment: conn reads it, file (in the backup directory) holds it."""

    backend: str
    file: str
    server_version: str
    conn: sa.Connection


def backend_of(url: str) -> str:
    backend = sa.make_url(url).get_backend_name()
    if backend not in DUMP_FILES:
        raise Invalid(
            f"不支持备份这种数据库：{backend}（只支持 PostgreSQL 和 SQLite）", code="backup_backend_unsupported"
        )
    return backend


@contextmanager
def snapshot(url: str, directory: Path) -> Iterator[Snapshot]:
    """The database at one moment, written into directory; the yielded connection reads that same moment."""
    if backend_of(url) == "postgresql":
        with _postgresql_snapshot(url, directory) as snap:
            yield snap
    else:
        with _sqlite_snapshot(url, directory) as snap:
            yield snap


def row_counts(conn: sa.Connection) -> dict[str, int]:
    """Rows per table, every table of the database (alembic_version included)."""
    names = sorted(sa.inspect(conn).get_table_names())
    return {name: conn.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one() for name in names}


def schema_revision(conn: sa.Connection) -> str | None:
    if "alembic_version" not in sa.inspect(conn).get_table_names():
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def check_revision(revision: str | None) -> None:
    """Refuse a backup whose schema this version of Shifan does not know (made by a newer one)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    if revision is None:
        raise Invalid("备份中的数据库没有版本记录，不是本系统的数据库", code="backup_schema_unknown")
    try:
        ScriptDirectory.from_config(Config(str(ALEMBIC_INI))).get_revision(revision)
    except CommandError as exc:
        raise Invalid(
            f"备份来自较新版本的示范系统（数据库版本 {revision}），请先把本系统升级到不低于做备份时的版本再恢复",
            code="backup_schema_unknown",
        ) from exc


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(url, poolclass=NullPool)


def table_count(url: str) -> int:
    """How many tables the database holds (0 for a new, empty one); Unavailable when it cannot be reached."""
    if backend_of(url) == "sqlite":
        path = _sqlite_path(url)
        if not path.exists() or path.stat().st_size == 0:
            return 0
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return len(sa.inspect(conn).get_table_names())
    except sa.exc.OperationalError as exc:
        raise Unavailable(
            f"无法连接要恢复到的数据库（{sa.make_url(url).render_as_string()}）：请先建好一个空数据库"
            "（PostgreSQL：createdb），并确认 SHIFAN_DATABASE_URL 填写无误",
            code="restore_database_unavailable",
        ) from exc
    finally:
        engine.dispose()


def restore(url: str, directory: Path, file: str) -> None:
    """Put the snapshot file back into the (empty) database url names."""
    if backend_of(url) == "postgresql":
        engine = _engine(url)
        try:
            with engine.connect() as conn:
                major = _server_major(conn)
        finally:
            engine.dispose()
        cmd = [str(_tool("pg_restore", major)), "--no-owner", "--no-privileges", "--exit-on-error",
               "--single-transaction", "--dbname", _conninfo(url), str(directory / file)]  # fmt: skip
        _run(cmd, url, "pg_restore")
        return
    target = _sqlite_path(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, part = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.restore-")
    try:
        with os.fdopen(fd, "wb") as out, (directory / file).open("rb") as source:
            shutil.copyfileobj(source, out, 1024 * 1024)
            out.flush()
            os.fsync(out.fileno())
        os.replace(part, target)  # whole or not at all: an interrupted copy never looks like a database
    finally:
        Path(part).unlink(missing_ok=True)


@contextmanager
def _postgresql_snapshot(url: str, directory: Path) -> Iterator[Snapshot]:
    engine = _engine(url)
    file = DUMP_FILES["postgresql"]
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
            conn.execute(sa.text("SET TRANSACTION READ ONLY"))
            exported = conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
            version = conn.execute(sa.text("SHOW server_version")).scalar_one()
            cmd = [str(_tool("pg_dump", _server_major(conn))), "--format=custom", "--snapshot", exported,
                   "--file", str(directory / file), "--dbname", _conninfo(url)]  # fmt: skip
            # pg_dump runs while this transaction reads the same snapshot; the snapshot lives until it ends
            with tempfile.TemporaryFile() as errors:
                dump = subprocess.Popen(cmd, env=_pg_env(url), stdout=subprocess.DEVNULL, stderr=errors)
                try:
                    yield Snapshot("postgresql", file, f"PostgreSQL {version}", conn)
                finally:
                    code = dump.wait()
                errors.seek(0)
                if code != 0:
                    raise _tool_failed("pg_dump", errors.read().decode(errors="replace"))
    finally:
        engine.dispose()


@contextmanager
def _sqlite_snapshot(url: str, directory: Path) -> Iterator[Snapshot]:
    file = DUMP_FILES["sqlite"]
    path = _sqlite_path(url)
    if not path.is_file():  # connecting would make an empty database and back that up
        raise Invalid(f"找不到数据库文件 {path}，请检查 SHIFAN_DATABASE_URL", code="backup_database_missing")
    source = sqlite3.connect(path)
    target = sqlite3.connect(directory / file)
    try:
        source.backup(target)  # one step: a consistent copy even while the API writes (it waits for writers)
    finally:
        target.close()
        source.close()
    copy = directory / file
    engine = sa.create_engine("sqlite://", creator=lambda: sqlite3.connect(f"file:{copy}?mode=ro", uri=True))
    try:
        with engine.connect() as conn:
            yield Snapshot("sqlite", file, f"SQLite {sqlite3.sqlite_version}", conn)
    finally:
        engine.dispose()


def _sqlite_path(url: str) -> Path:
    path = sa.make_url(url).database
    if not path or path == ":memory:":
        raise Invalid("内存中的 SQLite 数据库无法备份或恢复", code="backup_backend_unsupported")
    return Path(path)


def _conninfo(url: str) -> str:
    """The libpq address of url, without its password (passed in PGPASSWORD: never on a command line)."""
    u = sa.make_url(url)
    return sa.URL.create("postgresql", u.username, None, u.host, u.port, u.database, u.query).render_as_string()


def _pg_env(url: str) -> dict[str, str]:
    password = sa.make_url(url).password
    return {**os.environ, **({"PGPASSWORD": str(password)} if password else {})}


def _server_major(conn: sa.Connection) -> int:
    return int(conn.execute(sa.text("SHOW server_version_num")).scalar_one()) // 10000


def _major_of(binary: Path) -> int:
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=False).stdout
    return int(out.split()[-1].split(".")[0]) if out.split() else 0


def _tool(name: str, major: int) -> Path:
    """pg_dump or pg_restore of the server's major version, else the oldest newer one (both read older
    servers' data; an older one refuses a newer server)."""
    installed = sorted(
        (int(Path(p).parents[1].name), Path(p)) for p in glob.glob(f"/usr/lib/postgresql/*/bin/{name}")
        if Path(p).parents[1].name.isdigit()
    )  # fmt: skip
    on_path = shutil.which(name)
    if on_path:
        installed.append((_major_of(Path(on_path)), Path(on_path)))
    fitting = [(m, p) for m, p in installed if m >= major]
    if not fitting:
        raise Unavailable(
            f"找不到与数据库服务器（PostgreSQL {major}）版本相配的 {name}：请安装 postgresql-client-{major}",
            code="backup_tool_missing",
        )
    return min(fitting, key=lambda mp: mp[0])[1]


def _run(cmd: list[str], url: str, name: str) -> None:
    done = subprocess.run(cmd, env=_pg_env(url), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise _tool_failed(name, done.stderr)


def _tool_failed(name: str, stderr: str) -> DomainError:
    tail = stderr.strip().splitlines()[-5:]
    return DomainError(f"{name} 出错，未能完成：{' / '.join(tail)}", code="backup_tool_failed")
