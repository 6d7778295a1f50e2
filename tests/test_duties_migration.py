"""Migration 0011a: an `admin` of before becomes the system administrator and keeps working (its password counts as
set at the upgrade, so it has 90 days and no forced change); a downgrade makes it `admin` again and disables any
security or audit administrator, whom the old schema would make all-powerful."""

from __future__ import annotations

from sqlmodel import Session

from app.db import get_engine
from app.services import auth
from app.services.access import authenticate
from app.services.accounts import users
from tests.migration_kit import STAMP, old_database


def test_an_admin_becomes_the_system_administrator_and_logs_in(tmp_path, database_url) -> None:
    with old_database(tmp_path, "0010b", database_url) as old:
        with old.connect() as db:
            db.execute(
                "INSERT INTO app_user (id, display_name, role, username, password_hash, is_active, created_at)"
                " VALUES (2, '管理员', 'admin', 'old-admin', ?, 1, ?)",
                (auth.hash_password("old-admin-pw"), STAMP),
            )
        # 0011a's change, and what the login below reads: 0011b's login sessions, 0012f's read generation
        old.upgrade("0012f")
        with old.connect() as db:
            rows = db.execute("SELECT username, role, must_change_password FROM app_user ORDER BY id").fetchall()
            assert rows == [("office", "office", 0), ("old-admin", "system_admin", 0)]
            changed = db.execute("SELECT password_changed_at FROM app_user WHERE id = 2").fetchone()[0]
            assert changed > STAMP  # set at the upgrade: 90 days from now, not from the account's creation
        with Session(get_engine()) as s:
            token = users.login(s, username="old-admin", password="old-admin-pw").access_token
            # (not committed: the login's session and audit rows would hold app_user's foreign keys in the downgrade)
            assert auth.decode_token(token)["role"] == "system_admin"
            assert authenticate(s, token).role == "system_admin"  # neither expired nor to be changed first
        with old.connect() as db:
            db.execute("UPDATE app_user SET role = 'audit_admin' WHERE id = 1")
        old.downgrade("0010b")
        with old.connect() as db:
            rows = db.execute("SELECT username, role, is_active FROM app_user ORDER BY id").fetchall()
        assert rows == [("office", "admin", 0), ("old-admin", "admin", 1)]
