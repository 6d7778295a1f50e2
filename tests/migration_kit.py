"""Data-migration tests: a SQLite file migrated to an older revision, seeded with rows written as that
revision's tables hold them, then upgraded."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config

from app.cli import ROOT
from app.db import get_engine
from tests.conftest import use_database

STAMP = "2026-01-01 00:00:00"


class OldDatabase:
    """The file, its raw connection for seeding and reading, and the upgrade."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cfg = Config(str(ROOT / "alembic.ini"))

    def connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path)

    def upgrade(self, revision: str) -> None:
        command.upgrade(self._cfg, revision)
        get_engine().dispose()

    def downgrade(self, revision: str) -> None:
        command.downgrade(self._cfg, revision)
        get_engine().dispose()


@contextmanager
def old_database(tmp_path: Path, revision: str, restore_url: str) -> Iterator[OldDatabase]:
    """A SQLite file at `revision` holding county 1 (陵川县) and office account 1; the app points back at
    restore_url afterwards, whatever happens."""
    old = OldDatabase(tmp_path / "old.db")
    try:
        use_database(f"sqlite:///{old.path}")
        old.upgrade(revision)
        with old.connect() as db:
            db.execute("INSERT INTO region (id, name, level, path) VALUES (1, '陵川县', 'county', '/1/')")
            db.execute(
                "INSERT INTO app_user (id, display_name, role, username, password_hash, is_active, created_at)"
                " VALUES (1, '办公室', 'office', 'office', 'x', 1, ?)",
                (STAMP,),
            )
        yield old
    finally:
        use_database(restore_url)
