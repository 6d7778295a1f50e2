"""Migration 0008a: webhooks registered before kinds become standard ones and keep their hex secret (so
their receivers keep verifying), with deliveries that reference them left in place; and the delivery then
signs both ways with that secret."""

from __future__ import annotations

import sqlite3

from alembic import command
from alembic.config import Config

from app.cli import ROOT
from app.db import get_engine
from app.services.notifications import receivers, signing
from tests.conftest import use_database

OLD_SECRET = "3a" * 32


def test_existing_webhooks_become_standard_and_keep_their_secret(tmp_path, database_url) -> None:
    path = tmp_path / "old.db"
    cfg = Config(str(ROOT / "alembic.ini"))
    try:
        use_database(f"sqlite:///{path}")
        command.upgrade(cfg, "0007c")
        get_engine().dispose()
        with sqlite3.connect(path) as db:
            stamp = "2026-01-01 00:00:00"
            db.execute("INSERT INTO region (id, name, level, path) VALUES (1, '陵川县', 'county', '/1/')")
            db.execute(
                "INSERT INTO app_user (id, display_name, role, username, password_hash, is_active, created_at)"
                " VALUES (1, '办公室', 'office', 'office', 'x', 1, ?)",
                (stamp,),
            )
            db.execute(
                "INSERT INTO outboxevent (id, event_id, kind, county_id, data, created_at)"
                " VALUES (1, 'e-1', 'scores.released', 1, '{}', ?)",
                (stamp,),
            )
            db.execute(
                "INSERT INTO webhook (id, county_id, url, secret, kinds, active, created_by, created_at)"
                " VALUES (1, 1, 'http://93.184.216.34/', ?, '[]', 1, 1, ?)",
                (OLD_SECRET, stamp),
            )
            db.execute(
                "INSERT INTO delivery (id, event_id, webhook_id, status, attempts, next_attempt_at, last_error)"
                " VALUES (1, 1, 1, 'pending', 0, ?, '')",
                (stamp,),
            )
        command.upgrade(cfg, "0008a")
        get_engine().dispose()
        with sqlite3.connect(path) as db:
            row = db.execute("SELECT kind, secret, robot_secret FROM webhook").fetchone()
            assert db.execute("SELECT webhook_id FROM delivery").fetchall() == [(1,)]
        assert row == ("standard", OLD_SECRET, "")
    finally:
        use_database(database_url)
    # That secret signs the old header as before and the Standard Webhooks headers under its whsec_ form.
    request = receivers.build(
        kind=row[0], url="http://93.184.216.34/", secret=row[1], robot_secret="", event_id="e-1", body=b"{}",
        message=None,
    )  # fmt: skip
    assert request.headers["X-Shifan-Signature"].startswith("t=" + request.headers["webhook-timestamp"] + ",v1=")
    assert signing.key(signing.as_whsec(OLD_SECRET)) == OLD_SECRET.encode() == signing.key(OLD_SECRET)
