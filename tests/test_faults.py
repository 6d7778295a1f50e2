"""Faults while the API runs: PostgreSQL restarted under it (503 while down, served again once it is back,
without restarting the API), and the object store gone in the middle of an upload (nothing left behind).

The restart uses a PostgreSQL cluster of the test's own (tests/pg_cluster.py: initdb in a temporary folder,
its own port) under an API process of its own: stopping the machine's server would kill every other
process using it."""

from __future__ import annotations

import time

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import IN_CI, served_demo
from tests.evidence_kit import API
from tests.pg_cluster import bin_dir, start_private_cluster

PASSWORD = "fault-test-password-1"


@pytest.mark.postgresql_only("stops and starts a PostgreSQL server (a private cluster of its own)")
def test_api_survives_a_postgresql_restart(tmp_path) -> None:
    if bin_dir() is None:
        if IN_CI:
            pytest.fail("CI needs the PostgreSQL server binaries (initdb, pg_ctl); .ci/run installs them")
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not installed")
    cluster = start_private_cluster()
    try:
        url = cluster.create_database("shifan_fault")
        setup = (
            ("migrate",),
            ("create-user", "--username", "fault-admin", "--password", PASSWORD, "--role", "system_admin"),
        )
        with served_demo(url, tmp_path, setup) as (base, _), httpx.Client(base_url=base, timeout=30) as c:
            token = c.post(f"{API}/auth/token", data={"username": "fault-admin", "password": PASSWORD})
            h = {"Authorization": f"Bearer {token.json()['access_token']}"}
            assert c.get(f"{API}/me", headers=h).status_code == 200
            framework = c.get(f"{API}/frameworks", headers=h)
            assert framework.status_code == 200
            cluster.stop()
            try:
                down = c.get(f"{API}/me", headers=h)
                assert down.status_code == 503 and down.json()["code"] == "database_unavailable", down.text
                assert c.get("/readyz").status_code == 503
            finally:
                cluster.start()
            for _ in range(60):  # the server accepts connections again within a few seconds
                back = c.get(f"{API}/me", headers=h)
                if back.status_code == 200:
                    break
                time.sleep(0.5)
            assert back.status_code == 200, back.text  # same process, same engine: the pool reconnected by itself
            assert c.get(f"{API}/frameworks", headers=h).json() == framework.json()
            assert c.get("/readyz").status_code == 200
    finally:
        cluster.destroy()


def test_object_store_stopping_mid_upload_is_503_and_leaves_no_row(app, world, session, tmp_path) -> None:
    from datetime import date

    from sqlalchemy import func
    from sqlmodel import select

    from app.api import deps
    from app.models import Evidence
    from tests.conftest import pin_today, s3_store_for, use_store
    from tests.evidence_kit import PICKER, pdf
    from tests.s3servers import start_moto

    server = start_moto(tmp_path)  # a server of its own: this test kills it
    stopped = False
    try:
        use_store(app, s3_store_for(server))
        pin_today(app, date(2023, 2, 10))
        target = PICKER.assignment(session, world.ids["lc_sfj"])
        before = session.exec(select(func.count()).select_from(Evidence)).one()
        boundary = "faultline"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="大文件.pdf"\r\n\r\n'.encode()
            + pdf()
        )

        def body():
            nonlocal stopped
            yield head
            for n in range(48):  # 48 MiB in 1 MiB pieces; the store dies after 20
                if n == 20:
                    server.stop()
                    stopped = True
                yield bytes(1024 * 1024)
            yield f"\r\n--{boundary}--\r\n".encode()

        with TestClient(app, raise_server_exceptions=False) as c:
            r = c.post(
                f"{API}/assignments/{target.id}/evidence/file",
                content=body(),
                headers={**world.auth("lc-sfj"), "Content-Type": f"multipart/form-data; boundary={boundary}"},
            )
            assert r.status_code == 503 and r.json()["code"] == "storage_unavailable", r.text
            session.expire_all()
            assert session.exec(select(func.count()).select_from(Evidence)).one() == before
            # the API itself is fine: with a store back, the same upload goes through
            (tmp_path / "again").mkdir()
            revived = start_moto(tmp_path / "again")
            try:
                use_store(app, s3_store_for(revived))
                ok = c.post(
                    f"{API}/assignments/{target.id}/evidence/file",
                    files={"file": ("重传.pdf", pdf(), "application/pdf")},
                    headers=world.auth("lc-sfj"),
                )
                assert ok.status_code == 201, ok.text
            finally:
                revived.stop()
    finally:
        app.dependency_overrides.pop(deps._store, None)
        if not stopped:
            server.stop()
