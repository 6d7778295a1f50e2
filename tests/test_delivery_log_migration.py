"""Migration 0007e: delivery-log texts that earlier versions copied from a receiver's response body are
replaced by the status line, and the columns are limited to 200 characters."""

from __future__ import annotations

import sqlite3

from alembic import command
from alembic.config import Config

from app.cli import ROOT
from app.db import get_engine
from tests.conftest import use_database


def test_stored_response_bodies_are_scrubbed(tmp_path, database_url) -> None:
    path = tmp_path / "old.db"
    cfg = Config(str(ROOT / "alembic.ini"))
    try:
        use_database(f"sqlite:///{path}")
        command.upgrade(cfg, "0006")
        get_engine().dispose()
        with sqlite3.connect(path) as db:
            stamp = "2026-01-01 00:00:00"
            db.execute("INSERT INTO region (id, name, level, path) VALUES (1, '陵川县', 'county', '/1/')")
            db.execute(
                "INSERT INTO app_user (id, display_name, role, username, password_hash, is_active, created_at)"
                " VALUES (1, '办公室', 'office', 'office', 'x', 1, ?)",
                (stamp,),
            )
            for n in (1, 2):
                db.execute(
                    "INSERT INTO outboxevent (id, event_id, kind, county_id, data, created_at)"
                    " VALUES (?, ?, 'scores.released', 1, '{}', ?)",
                    (n, f"e-{n}", stamp),
                )
            db.execute(
                "INSERT INTO webhook (id, county_id, url, secret, kinds, active, created_by, created_at)"
                " VALUES (1, 1, 'http://93.184.216.34/', 's', '[]', 1, 1, ?)",
                (stamp,),
            )
            db.execute(
                "INSERT INTO delivery (id, event_id, webhook_id, status, attempts, next_attempt_at, last_status_code,"
                " last_error) VALUES (1, 1, 1, 'dead', 8, ?, 500, 'Traceback: password=hunter2'), "
                "(2, 2, 1, 'pending', 1, ?, NULL, 'ConnectError: refused')",
                (stamp, stamp),
            )
            db.execute(
                "INSERT INTO deliveryattempt (id, delivery_id, number, started_at, status_code, error, duration_ms)"
                " VALUES (1, 1, 1, ?, 500, 'Traceback: password=hunter2', 3), (2, 1, 2, ?, 204, '', 2)",
                (stamp, stamp),
            )
        command.upgrade(cfg, "0007e")
        get_engine().dispose()
        with sqlite3.connect(path) as db:
            assert db.execute("SELECT id, last_error FROM delivery ORDER BY id").fetchall() == [
                (1, "HTTP 500"),
                (2, "ConnectError: refused"),  # no answer came back: nothing of a receiver's to remove
            ]
            assert db.execute("SELECT error FROM deliveryattempt ORDER BY id").fetchall() == [("HTTP 500",), ("",)]
    finally:
        use_database(database_url)
