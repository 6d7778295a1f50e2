"""Worker lanes: how long a webhook delivery waits when hostile files fill the file lanes, against the same
deliveries with nothing else queued, in one run (`python -m bench.worker_lanes` writes its section of
BENCHMARKS.md; `make bench` runs it with the rest).

Set-up: a fresh PostgreSQL database (SQLite without a server) with the demo county, `shifan serve`, one
`shifan worker` with the default file-job limits, a webhook receiver on loopback. Baseline: N review events
with no file work queued. Then hostile files are uploaded (PDFs whose words take minutes of CPU, one sharing a
huge content stream over 500 pages, 100-megapixel PNGs, XML-heavy DOCX) and, while the file lanes work on
them, N more review events. Latency = the receiver's arrival time minus the API's answer to the review.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.upload import _database, _start_api, _token  # noqa: E402
from tests import hostile_files  # noqa: E402
from tests.s3servers import free_port  # noqa: E402

START, END = "<!-- worker-lanes:start -->", "<!-- worker-lanes:end -->"
EVENTS = 10


class _Receiver:
    """Records when each event id arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, tuple[str, datetime]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.arrived.setdefault(body["id"], (body["type"], datetime.now(UTC)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@dataclass
class Figures:
    backend: str
    baseline: list[float]
    loaded: list[float]
    hostile: int
    marked_after: float
    failures: dict[str, int]
    worker_peak_mb: float
    attempts: int  # the most claims any hostile file's preview or text took


def _attempts(url: str, evidence_ids: list[int]) -> int:
    """The most claims (attempts) any of these versions' preview or text job took."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    query = sa.text("SELECT max(preview_attempts), max(text_attempts) FROM evidenceversion WHERE evidence_id IN :ids")
    with engine.connect() as conn:
        row = conn.execute(query.bindparams(sa.bindparam("ids", expanding=True)), {"ids": evidence_ids}).one()
    engine.dispose()
    return max(row)


def _events(api: httpx.Client, office: dict, liaison: dict, assignment: int, receiver: _Receiver) -> list[float]:
    """EVENTS review events, one at a time; each one's delivery latency in seconds."""
    latencies = []
    for i in range(EVENTS):
        made = api.post(
            f"/api/v1/assignments/{assignment}/evidence",
            json={"kind": "statement", "text": f"基准测试说明 {i}"},
            headers=liaison,
        )
        made.raise_for_status()
        before = set(receiver.arrived)
        api.post(
            f"/api/v1/evidence/{made.json()['id']}/reviews",
            json={"decision": "return", "version": 1, "comment": "请补充"},
            headers=office,
        ).raise_for_status()
        answered = datetime.now(UTC)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            new = [v for k, v in receiver.arrived.items() if k not in before and v[0] == "evidence.returned"]
            if new:
                latencies.append((new[0][1] - answered).total_seconds())
                break
            time.sleep(0.02)
        else:
            latencies.append(float("inf"))
    return latencies


def _peak_mb(pid: int) -> float:
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def run() -> Figures:
    import subprocess

    url, backend, drop = _database()
    work = Path(tempfile.mkdtemp(prefix="shifan-bench-lanes-"))
    env = {
        **os.environ,
        "SHIFAN_DATABASE_URL": url,
        "SHIFAN_OBJECT_DIR": str(work / "objects"),
        "SHIFAN_STORAGE_BACKEND": "local",
        "SHIFAN_JWT_SECRET": "bench-" + os.urandom(8).hex(),
        "SHIFAN_WEBHOOK_ALLOW_NETWORKS": "127.0.0.1/32",
    }
    port = free_port()
    api_proc = _start_api(env, port, work)
    shifan = str(Path(sys.executable).parent / "shifan")
    worker = subprocess.Popen(
        [shifan, "worker", "--poll-seconds", "0.5"],
        env=env,
        cwd=work,
        stdout=(work / "worker.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    receiver = _Receiver()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as api:
            office, liaison = _token(api, "lc-office"), _token(api, "lc-sfj")
            api.post("/api/v1/webhooks", json={"url": receiver.url}, headers=office).raise_for_status()
            assignment = api.get("/api/v1/me/assignments", params={"limit": 1}, headers=liaison).json()["items"][0]
            time.sleep(15)  # the demo's own files and first reminders drain before the baseline
            baseline = _events(api, office, liaison, assignment["id"], receiver)
            hostile = [
                ("stalling.pdf", hostile_files.stalling_pdf()),
                *[(f"busy-{i}.pdf", hostile_files.busy_pdf(tag=str(i).encode())) for i in range(3)],
                ("huge.png", hostile_files.huge_png()),
                ("gray.png", hostile_files.huge_png(color_type=0)),
                ("heavy.docx", hostile_files.xml_heavy_docx()),
            ]
            ids = []
            started = time.monotonic()
            for name, data in hostile:
                r = api.post(
                    f"/api/v1/assignments/{assignment['id']}/evidence/file",
                    files={"file": (name, data, "application/octet-stream")},
                    params={"title": name},
                    headers=liaison,
                )
                r.raise_for_status()
                ids.append(r.json()["id"])
            time.sleep(1)  # the file lanes have claimed them
            loaded = _events(api, office, liaison, assignment["id"], receiver)
            failures: dict[str, int] = {}
            while True:
                versions = [api.get(f"/api/v1/evidence/{i}", headers=office).json()["versions"][0] for i in ids]
                if all(v["text_status"] != "pending" and v["preview"] != "pending" for v in versions):
                    break
                time.sleep(1)
            marked_after = time.monotonic() - started
            for v in versions:
                for failure in (v.get("preview_failure"), v.get("text_failure")):
                    if failure:
                        failures[failure["code"]] = failures.get(failure["code"], 0) + 1
            peak = _peak_mb(worker.pid)
            attempts = _attempts(url, ids)
    finally:
        worker.terminate()
        worker.wait(60)
        api_proc.terminate()
        api_proc.wait(30)
        receiver.server.shutdown()
        drop()
    return Figures(backend, baseline, loaded, len(hostile), marked_after, failures, peak, attempts)


def markdown(f: Figures) -> str:
    def line(name: str, values: list[float]) -> str:
        return f"| {name} | {len(values)} | {statistics.median(values) * 1000:.0f} ms | {max(values) * 1000:.0f} ms |"

    ratio = statistics.median(f.loaded) / max(statistics.median(f.baseline), 1e-6)
    codes = ", ".join(f"{k} ×{v}" for k, v in sorted(f.failures.items())) or "none"
    return "\n".join(
        [
            START,
            "## Worker lanes: deliveries behind hostile files",
            "",
            f"`python -m bench.worker_lanes` ({f.backend}; one `shifan worker` with the default file-job limits:",
            "60 s wall, 30 s CPU, 768 MiB). A webhook delivery's latency is the receiver's arrival time minus the",
            "API's answer to the review that queued it. Target: under 5 s with hostile files in the file lanes.",
            "",
            "| events | n | median | max |",
            "|---|---|---|---|",
            line("nothing else queued (baseline)", f.baseline),
            line(f"{f.hostile} hostile files in the file lanes", f.loaded),
            "",
            f"Median with hostile files / baseline: **{ratio:.2f}×**; worst {max(f.loaded):.2f} s (target < 5 s).",
            f"Every hostile file marked after {f.marked_after:.0f} s ({codes}); at most {f.attempts} attempt(s) each",
            "(claims counted in the database). The worker",
            f"process's peak resident memory: {f.worker_peak_mb:.0f} MB (its file jobs run in limited children).",
            END,
        ]
    )


def write(section: str) -> None:
    """Put this section into BENCHMARKS.md, replacing the previous one (or appending it)."""
    path = ROOT / "BENCHMARKS.md"
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if START in old and END in old:
        new = old[: old.index(START)] + section + old[old.index(END) + len(END) :]
    else:
        new = old.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    text = markdown(run())
    print(text)
    write(text)
