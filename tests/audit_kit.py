"""Helpers of the audit tests: the append-only guard lifted as a database superuser could, and the CLI run as a
separate process against a database."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path

import sqlalchemy as sa

from app import db as app_db

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def guard_off(*tables: str, engine: sa.Engine | None = None) -> Iterator[sa.Connection]:
    """A connection (one transaction) with the append-only triggers of tables lifted; put back exactly as they were."""
    engine = engine or app_db.get_engine()
    tables = tables or ("audit_entry",)
    with engine.begin() as conn:
        saved: list[str] = []
        if engine.dialect.name == "postgresql":
            for table in tables:
                conn.execute(sa.text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        else:
            for table in tables:
                rows = conn.execute(
                    sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
                    {"t": table},
                ).all()
                for name, sql in rows:
                    conn.execute(sa.text(f"DROP TRIGGER {name}"))
                    saved.append(sql)
        try:
            yield conn
        finally:
            if engine.dialect.name == "postgresql":
                for table in tables:
                    conn.execute(sa.text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
            else:
                for sql in saved:
                    conn.execute(sa.text(sql))


def cli(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`shifan ARGS` as its own process on database_url (extra environment in env)."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "SHIFAN_DATABASE_URL": database_url, **env},
    )  # fmt: skip


def cli_here(*args: str) -> subprocess.CompletedProcess[str]:
    """`shifan ARGS` through the same entry point in this process (its settings, its database): no interpreter
    start per call."""
    from app.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())
