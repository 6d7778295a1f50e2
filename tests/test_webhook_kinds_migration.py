"""Migration 0008a: webhooks registered before kinds become standard ones and keep their hex secret (so
their receivers keep verifying), with deliveries that reference them left in place; and the delivery then
signs both ways with that secret."""

from __future__ import annotations

from app.services.notifications import receivers, signing
from tests.migration_kit import STAMP, old_database

OLD_SECRET = "3a" * 32


def test_existing_webhooks_become_standard_and_keep_their_secret(tmp_path, database_url) -> None:
    with old_database(tmp_path, "0007c", database_url) as old:
        with old.connect() as db:
            stamp = STAMP
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
        old.upgrade("0008a")
        with old.connect() as db:
            row = db.execute("SELECT kind, secret, robot_secret FROM webhook").fetchone()
            assert db.execute("SELECT webhook_id FROM delivery").fetchall() == [(1,)]
        assert row == ("standard", OLD_SECRET, "")
    # That secret signs the old header as before and the Standard Webhooks headers under its whsec_ form.
    request = receivers.build(
        kind=row[0], url="http://93.184.216.34/", secret=row[1], robot_secret="", event_id="e-1", body=b"{}",
        message=None,
    )  # fmt: skip
    assert request.headers["X-Shifan-Signature"].startswith("t=" + request.headers["webhook-timestamp"] + ",v1=")
    assert signing.key(signing.as_whsec(OLD_SECRET)) == OLD_SECRET.encode() == signing.key(OLD_SECRET)
