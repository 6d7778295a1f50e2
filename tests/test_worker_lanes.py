"""The worker no file can stall, tried as it runs: a real `shifan worker` process beside a real API on a fresh
demo county, hostile files uploaded through HTTP (a PDF whose words take minutes of CPU, one sharing a huge
content stream over 500 pages, a 100-megapixel PNG, an XML-heavy DOCX), then a webhook event and deadline
reminders queued behind them — delivered within seconds — while every hostile file ends marked with its
reason, is tried once, and the worker's own memory stays small. A renderer that crashes (a child killed by
SIGSEGV) marks its file crashed. And `shifan serve --with-worker` makes a first upload's preview by itself."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from app.services.demo import DEMO_PASSWORD
from tests import hostile_files
from tests.conftest import fresh_database, served_demo
from tests.test_webhooks import Receiver

ROOT = Path(__file__).resolve().parents[1]
API = "/api/v1"
DELIVERY_BOUND = 5.0  # seconds from an event's creation to its delivery, with hostile files in the file lanes
WORKER_MEMORY_BOUND_MB = 400  # the worker process's peak resident memory (its file jobs run in children)


def _login(base: str, who: str) -> dict[str, str]:
    r = httpx.post(f"{base}{API}/auth/token", data={"username": who, "password": DEMO_PASSWORD}, timeout=30)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _upload(base: str, headers: dict[str, str], assignment_id: int, data: bytes, name: str) -> int:
    r = httpx.post(
        f"{base}{API}/assignments/{assignment_id}/evidence/file",
        files={"file": (name, data, "application/octet-stream")},
        params={"title": f"恶意文件-{name}"},
        headers=headers,
        timeout=60,
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _version(base: str, headers: dict[str, str], evidence_id: int) -> dict:
    r = httpx.get(f"{base}{API}/evidence/{evidence_id}", headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["versions"][0]


def _wait(what: str, check, timeout: float, every: float = 0.2):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


def _descendants(pid: int) -> list[int]:
    """Every process below pid (children, grandchildren, ...), read from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        kids = [p for p, pp in parents.items() if pp == parent]
        found += kids
        frontier += kids
    return found


def _peak_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.fixture
def demo_api(pg_admin_engine, tmp_path, monkeypatch):
    """A fresh database with the demo county, and `shifan serve` on it (no worker: each test starts its own)."""
    monkeypatch.setenv("SHIFAN_WEBHOOK_ALLOW_NETWORKS", "127.0.0.1/32")
    url, drop = fresh_database(pg_admin_engine, tmp_path, "lanes")
    try:
        with served_demo(url, tmp_path) as (base, _log):
            yield base, url, tmp_path
    finally:
        drop()


def _worker_env(url: str, tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SHIFAN_DATABASE_URL": url,
        "SHIFAN_OBJECT_DIR": str(tmp / "objects"),
        "SHIFAN_STORAGE_BACKEND": "local",
        "SHIFAN_FILE_JOB_SECONDS": "8",
        "SHIFAN_FILE_JOB_CPU_SECONDS": "3",
        "SHIFAN_FILE_JOB_MEMORY_MB": "512",
        "SHIFAN_WEBHOOK_ALLOW_NETWORKS": "127.0.0.1/32",
    }


# On both backends: on SQLite every write waits for the one writer (BEGIN IMMEDIATE), so lanes busy with hostile files
# beside an API are a case of their own there.
def test_hostile_files_never_hold_up_deliveries_or_reminders(demo_api) -> None:
    base, url, tmp = demo_api
    office, liaison = _login(base, "lc-office"), _login(base, "lc-sfj")
    receiver = Receiver()
    hook = httpx.post(f"{base}{API}/webhooks", json={"url": receiver.url}, headers=office, timeout=30)
    assert hook.status_code == 201, hook.text
    receiver.secret = hook.json()["secret"]
    mine = httpx.get(f"{base}{API}/me/assignments", params={"limit": 50}, headers=liaison, timeout=30).json()["items"]
    target = mine[0]["id"]
    hostile = {
        "stalling.pdf": hostile_files.stalling_pdf(),
        "busy.pdf": hostile_files.busy_pdf(tag=b"first"),
        "huge.png": hostile_files.huge_png(),
        "heavy.docx": hostile_files.xml_heavy_docx(),
    }
    sent = {name: _upload(base, liaison, target, data, name) for name, data in hostile.items()}
    statement = httpx.post(
        f"{base}{API}/assignments/{target}/evidence",
        json={"kind": "statement", "text": "已落实行政执法公示制度。"},
        headers=liaison,
        timeout=30,
    ).json()["id"]

    log = (tmp / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker", "--poll-seconds", "0.5"],
        cwd=ROOT,
        env=_worker_env(url, tmp),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        # The reminders the first scan queues (the demo's 公安局 is overdue) arrive within seconds.
        def reminders() -> list[dict]:
            return [
                b for b in receiver.processed.values() if b["type"] in ("assignment.overdue", "assignment.due_soon")
            ]

        _wait("the first reminders", reminders, timeout=60)
        for body in reminders():
            queued = datetime.fromisoformat(body["created_at"])
            got = next(r["at"] for r in receiver.requests if r["headers"]["Idempotency-Key"] == body["id"])
            assert (got - queued).total_seconds() < DELIVERY_BOUND, (body["type"], got - queued)

        # While the file lanes chew on the hostile files, a review's event goes out within seconds.
        _wait("the search lane busy on a hostile file", lambda: _lane(base)["search"]["busy_seconds"], timeout=60)
        returned = httpx.post(
            f"{base}{API}/evidence/{statement}/reviews",
            json={"decision": "return", "version": 1, "comment": "请补充公示截图"},
            headers=office,
            timeout=30,
        )
        assert returned.status_code in (200, 201), returned.text
        asked = datetime.now(UTC)

        def returned_event() -> dict | None:
            return next((b for b in receiver.processed.values() if b["type"] == "evidence.returned"), None)

        event = _wait("the evidence.returned delivery", returned_event, timeout=DELIVERY_BOUND * 3)
        got = next(r["at"] for r in receiver.requests if r["headers"]["Idempotency-Key"] == event["id"])
        assert (got - asked).total_seconds() < DELIVERY_BOUND, got - asked

        # Every hostile file ends marked with its reason, tried once.
        def settled() -> dict | None:
            shown = {name: _version(base, office, eid) for name, eid in sent.items()}
            waiting = [n for n, v in shown.items() if v["text_status"] == "pending" or v["preview"] == "pending"]
            return None if waiting else shown

        shown = _wait("every hostile file marked", settled, timeout=120, every=1)
        for name in ("stalling.pdf", "busy.pdf"):
            assert shown[name]["text_status"] == "failed", shown[name]
            assert shown[name]["text_failure"]["code"] in ("cpu_limit", "time_limit"), shown[name]
            assert "上限" in shown[name]["text_failure"]["message"] or "超时" in shown[name]["text_failure"]["message"]
        assert shown["huge.png"]["preview"] == "none" and shown["huge.png"]["preview_failure"] is None
        assert shown["heavy.docx"]["text_status"] == "done", shown["heavy.docx"]
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            attempts = conn.execute(
                sa.text(
                    "SELECT preview_attempts, text_attempts FROM evidenceversion WHERE evidence_id IN :ids"
                ).bindparams(sa.bindparam("ids", expanding=True)),
                {"ids": list(sent.values())},
            ).all()
        engine.dispose()
        assert all(p <= 1 and t == 1 for p, t in attempts), attempts

        # A renderer that crashes: the child is killed by SIGSEGV while it reads; the file is marked crashed.
        crashing = _upload(base, liaison, target, hostile_files.busy_pdf(tag=b"crash"), "crash.pdf")

        # Every file job's child that appears is killed with SIGSEGV until the file is marked (its preview
        # may finish first; reading its words takes seconds of CPU, so that child is always caught).
        def crash_children() -> dict | None:
            for pid in [p for p in _descendants(worker.pid) if _is_job(p)]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGSEGV)
            shown = _version(base, office, crashing)
            return shown if shown["text_status"] != "pending" else None

        crashed = _wait("the crashed file marked", crash_children, timeout=60, every=0.05)
        assert crashed["text_status"] == "failed" and crashed["text_failure"]["code"] == "crashed", crashed

        ready = httpx.get(f"{base}/readyz", timeout=30).json()
        assert ready["worker"] == "ok", ready
        assert {k: v["status"] for k, v in ready["lanes"].items()} == dict.fromkeys(
            ("reminders", "deliveries", "previews", "search"), "ok"
        )
        peak = _peak_memory_mb(worker.pid)
        assert peak < WORKER_MEMORY_BOUND_MB, f"worker peaked at {peak:.0f} MB"
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            code = worker.wait(40)
        except subprocess.TimeoutExpired:
            worker.kill()
            code = None
        log.close()
        receiver.stop()
    assert code == 0, (tmp / "worker.log").read_text()[-3000:]
    assert httpx.get(f"{base}/readyz", timeout=30).json()["worker"] == "absent"  # a clean stop removes its beats


def _lane(base: str) -> dict:
    return httpx.get(f"{base}/readyz", timeout=30).json().get("lanes") or {
        "search": {"busy_seconds": None},
    }


def _is_job(pid: int) -> bool:
    """A file job's child: forked by the multiprocessing forkserver (not the forkserver itself)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        parent_cmd = Path(f"/proc/{parent}/cmdline").read_bytes()
    except (OSError, ValueError):
        return False
    return b"forkserver" in parent_cmd and b"forkserver" in cmdline


# A first run (`make run`, `shifan demo --serve`) is on SQLite, where this command is met first.
@pytest.mark.one_pass("a process's flag: the worker started beside the API", where="sqlite")
def test_serve_with_worker_makes_a_first_uploads_preview(pg_admin_engine, tmp_path) -> None:
    url, drop = fresh_database(pg_admin_engine, tmp_path, "withworker")
    try:
        with served_demo(url, tmp_path, serve_args=("--with-worker",)) as (base, log_path):
            liaison = _login(base, "lc-sfj")
            mine = httpx.get(f"{base}{API}/me/assignments", params={"limit": 5}, headers=liaison, timeout=30).json()
            from app.services.demo import samples

            evidence_id = _upload(base, liaison, mine["items"][0]["id"], samples.one_page_pdf(b""), "方案.pdf")
            preview = f"{base}{API}/evidence/{evidence_id}/versions/1/preview.png"
            _wait(
                "the preview",
                lambda: httpx.get(preview, headers=liaison, timeout=30).status_code == 200,
                timeout=60,
                every=0.5,
            )
            ready = httpx.get(f"{base}/readyz", timeout=30).json()
            assert ready["worker"] == "ok", ready
            # The worker child killed: the supervisor starts it again, and the next upload gets its preview too.
            serve_pid = int(next(iter(_serving_pids(base))))
            workers = [p for p in _descendants(serve_pid) if b"worker" in Path(f"/proc/{p}/cmdline").read_bytes()]
            assert workers, "no worker child under shifan serve --with-worker"
            os.kill(workers[0], signal.SIGKILL)
            second = _upload(base, liaison, mine["items"][0]["id"], samples.one_page_pdf(b"% 2"), "方案二.pdf")
            preview = f"{base}{API}/evidence/{second}/versions/1/preview.png"
            _wait(
                "the second preview",
                lambda: httpx.get(preview, headers=liaison, timeout=30).status_code == 200,
                timeout=90,
                every=0.5,
            )
            assert "worker exited" in log_path.read_text(errors="replace")
            workers = [p for p in _descendants(serve_pid) if b"worker" in Path(f"/proc/{p}/cmdline").read_bytes()]
        # served_demo's end sends SIGTERM to `shifan serve`: it stops its worker child, and exits cleanly
        _wait(
            "the worker child stopped with the API", lambda: not any(Path(f"/proc/{p}").exists() for p in workers), 30
        )
    finally:
        drop()


def _serving_pids(base: str) -> list[int]:
    """The pid of the `shifan serve` process listening on base's port."""
    port = base.rsplit(":", 1)[1]
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"serve" in cmd and port.encode() in cmd:
                found.append(int(entry.name))
    return found


@pytest.mark.one_pass("README's `make run`: its own SQLite file and processes", where="sqlite")
def test_make_run_serves_the_demo_with_its_worker(tmp_path) -> None:
    """`make run` as README says (its database pointed at a file of this test's): the demo is served and the worker
    runs beside it — every lane beats, no `shifan worker` started by hand."""
    from tests.s3servers import _wait_port, free_port

    port = free_port()
    env = {**os.environ, "SHIFAN_DATABASE_URL": f"sqlite:///{tmp_path}/run.db",
           "SHIFAN_OBJECT_DIR": str(tmp_path / "objects"), "SHIFAN_STORAGE_BACKEND": "local"}  # fmt: skip
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"):  # not the outer `make test`'s own
        env.pop(name, None)
    with (tmp_path / "run.log").open("wb") as log:
        run = subprocess.Popen(
            ["make", "--no-print-directory", "run", f"PORT={port}"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        _wait_port(port, 180, run)
        ready = _wait(
            "every lane's heartbeat",
            lambda: (r := httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=30).json())["worker"] == "ok" and r,
            timeout=60,
            every=0.5,
        )
        assert set(ready["lanes"]) == {"reminders", "deliveries", "previews", "search"}, ready
        assert (
            httpx.post(
                f"http://127.0.0.1:{port}{API}/auth/token", data={"username": "lc-sfj", "password": DEMO_PASSWORD}
            ).status_code
            == 200
        )
    finally:
        os.killpg(run.pid, signal.SIGTERM)
        try:
            run.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(10)
