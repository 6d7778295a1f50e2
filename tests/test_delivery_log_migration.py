"""Migration 0007e: delivery-log texts that earlier versions copied from a receiver's response body are
replaced by the status line, and the columns are limited to 200 characters."""

from __future__ import annotations

from tests.migration_kit import STAMP, old_database


def test_stored_response_bodies_are_scrubbed(tmp_path, database_url) -> None:
    with old_database(tmp_path, "0006", database_url) as old:
        with old.connect() as db:
            stamp = STAMP
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
        old.upgrade("0007e")
        with old.connect() as db:
            assert db.execute("SELECT id, last_error FROM delivery ORDER BY id").fetchall() == [
                (1, "HTTP 500"),
                (2, "ConnectError: refused"),  # no answer came back: nothing of a receiver's to remove
            ]
            assert db.execute("SELECT error FROM deliveryattempt ORDER BY id").fetchall() == [("HTTP 500",), ("",)]
