"""One `shifan demo` per test session, copied into every database a test serves the demo from (served_demo).

`shifan demo` migrates an empty database and loads 陵川 through the services: ten to twenty seconds a time, and
half a dozen tests serve the demo. The first of them in a session runs the real command into a template (a
PostgreSQL database on the test server, or an SQLite file, with its object folder); later ones get a copy: for
PostgreSQL `CREATE DATABASE … TEMPLATE` (a file copy inside the server), for SQLite the backup API. The copy is
what the command would have made that day (the demo is dated from today), under the same JWT secret (the secret
a copy must be served with: clone() returns it). tests/test_demo.py still runs the command itself on fresh files.
A database on another server (a private cluster) is never copied into: served_demo runs the command there."""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
_made: dict[str, Template] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Template:
    url: str  # the template database
    objects: Path  # its evidence objects (the local store)
    secret: str  # the JWT secret it was made under


def _server(url: str) -> str:
    """The PostgreSQL server a URL names (everything before the database name); '' for SQLite."""
    return "" if url.startswith("sqlite") else url.rsplit("/", 1)[0]


def _make(server: str) -> Template:
    folder = Path(tempfile.mkdtemp(prefix="shifan-demo-template-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    if server:
        name = f"shifan_test_demotemplate_{uuid.uuid4().hex[:8]}"
        with _admin(server) as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        atexit.register(_drop, server, name)
        url = f"{server}/{name}"
    else:
        url = f"sqlite:///{folder / 'demo.db'}"
    template = Template(url=url, objects=folder / "objects", secret=uuid.uuid4().hex)
    env = {**os.environ, "SHIFAN_DATABASE_URL": url, "SHIFAN_JWT_SECRET": template.secret,
           "SHIFAN_OBJECT_DIR": str(template.objects), "SHIFAN_STORAGE_BACKEND": "local"}  # fmt: skip
    command = [sys.executable, "-m", "app.cli", "demo"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=300)
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace")[-3000:]
        raise RuntimeError(f"shifan demo exited with {done.returncode}:\n{tail}")
    return template


def _admin(server: str) -> sa.Connection:
    engine = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    return engine.connect()


def _drop(server: str, name: str) -> None:
    with _admin(server) as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def copyable(database_url: str) -> bool:
    """True when database_url is an SQLite file or on the suite's PostgreSQL server (where the template lives)."""
    from tests.conftest import PG_ADMIN_URL

    return database_url.startswith("sqlite:///") or _server(database_url) == _server(PG_ADMIN_URL)


def clone(database_url: str, objects: Path) -> str:
    """Make database_url (empty, as fresh_database leaves it) and the folder objects a copy of the session's demo;
    the JWT secret to serve it with."""
    server = _server(database_url)
    with _lock:
        template = _made.get(server) or _made.setdefault(server, _make(server))
    if server:
        name = database_url.rsplit("/", 1)[1]
        with _admin(server) as conn:  # the empty database fresh_database made gives way to the copy
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template.url.rsplit("/", 1)[1]}"'))
    else:
        source = sqlite3.connect(template.url.removeprefix("sqlite:///"))
        target = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    shutil.copytree(template.objects, objects, dirs_exist_ok=True)
    return template.secret
