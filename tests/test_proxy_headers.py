"""`shifan serve` believes X-Forwarded-For only from the proxy's own address (FORWARDED_ALLOW_IPS): a
client that sends the header itself does not choose the address login throttling and the logs see."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from app.db import get_engine
from app.models import LoginAttempt
from tests.s3servers import _wait_port, free_port

ROOT = Path(__file__).resolve().parents[1]


def _client_seen(database_url: str, tmp_path: Path, trusted: str) -> str:
    """The client address a served API records for a failed login sent with a forged X-Forwarded-For."""
    port = free_port()
    env = {**os.environ, "SHIFAN_DATABASE_URL": database_url, "SHIFAN_JWT_SECRET": uuid.uuid4().hex,
           "SHIFAN_OBJECT_DIR": str(tmp_path / "objects"), "FORWARDED_ALLOW_IPS": trusted}  # fmt: skip
    name = f"xff-{uuid.uuid4().hex[:10]}"
    with (tmp_path / f"serve-{port}.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            _wait_port(port, 60, proc)
            r = httpx.post(
                f"http://127.0.0.1:{port}/api/v1/auth/token",
                data={"username": name, "password": "wrong"},
                headers={"X-Forwarded-For": "203.0.113.77"},
                timeout=30,
            )
            assert r.status_code == 401, r.text
        finally:
            proc.terminate()
            proc.wait(20)
    with Session(get_engine()) as s:
        return s.exec(select(LoginAttempt.client).where(LoginAttempt.username == name)).one()


@pytest.mark.one_pass("uvicorn's proxy headers in front of the app: the database only records the address")
def test_a_forged_forwarded_for_from_an_untrusted_peer_is_ignored(database_url, tmp_path) -> None:
    # The documented deployment trusts nginx's address only; this test's client (127.0.0.1) is not it.
    assert _client_seen(database_url, tmp_path, trusted="172.31.240.10") == "127.0.0.1"
    # Control: from the trusted proxy address the header is believed (so the check above means something).
    assert _client_seen(database_url, tmp_path, trusted="127.0.0.1") == "203.0.113.77"
