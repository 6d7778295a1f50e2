"""A liaison's to-do list under load vs a bare FastAPI endpoint returning 50 static rows.

Both servers are one uvicorn process with the same settings on 127.0.0.1; wrk (from Debian) drives 32
connections with 2 threads for the same time against each, in turn, twice. The to-do list is the real
thing: JWT checked, PostgreSQL queried (the 县司法局 liaison's assignments, 50 a page, demo data).
Targets: at least half the bare endpoint's throughput, p99 under 50 ms.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
CONNECTIONS = 32
DURATION = "10s"


def _serve(args: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    from tests.s3servers import _wait_port

    proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    _wait_port(port, 60, proc)
    return proc


def _wrk(url: str, headers: dict[str, str]) -> dict[str, float]:
    """Requests per second and the p50/p99 latency (ms) wrk measured."""
    args = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}", "--latency", url]
    for name, value in headers.items():
        args[1:1] = ["-H", f"{name}: {value}"]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=120).stdout

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert errors is None, out
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": ms("50%"), "p99": ms("99%")}  # type: ignore[union-attr]


def _measured(pid: int, url: str, headers: dict[str, str]) -> dict[str, float]:
    """wrk's figures plus the server process's own CPU milliseconds per request (from /proc, so the other
    work on a shared machine does not count: the steadier figure when comparing two versions)."""
    from bench.upload import _cpu_seconds

    before = _cpu_seconds([pid])
    figures = _wrk(url, headers)
    seconds = float(DURATION.rstrip("s"))
    figures["cpu_ms"] = (_cpu_seconds([pid]) - before) * 1000 / max(figures["rps"] * seconds, 1)
    return figures


def run() -> dict:
    """Both servers, measured in turn (bare, to-do, bare, to-do); the better of each pair is kept."""
    from bench.fixtures import fresh_database
    from tests.s3servers import free_port

    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    with fresh_database(), tempfile.TemporaryDirectory() as tmp:
        from app.db import session_scope
        from app.services import demo

        with session_scope() as s:
            demo.load(s)
        env = {**os.environ, "SHIFAN_JWT_SECRET": uuid.uuid4().hex, "SHIFAN_OBJECT_DIR": f"{tmp}/objects"}
        api_port, bare_port = free_port(), free_port()
        uvicorn = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--no-access-log", "--log-level", "warning"]
        api = _serve([*uvicorn, "--port", str(api_port), "app.main:app"], env, api_port, Path(tmp) / "api.log")
        bare = _serve(
            [*uvicorn, "--port", str(bare_port), "bench.bare_app:app"], env, bare_port, Path(tmp) / "bare.log"
        )
        try:
            base = f"http://127.0.0.1:{api_port}"
            token = httpx.post(
                f"{base}/api/v1/auth/token", data={"username": "lc-sfj", "password": "shifan-demo"}
            ).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            todo_url = f"{base}/api/v1/me/assignments?limit=50"
            page = httpx.get(todo_url, headers=auth).json()
            assert len(page["items"]) == 50, page
            results: dict[str, list[dict[str, float]]] = {"bare": [], "todo": []}
            for _ in range(2):  # interleaved, so noise on the shared machine hits both alike
                results["bare"].append(_measured(bare.pid, f"http://127.0.0.1:{bare_port}/todo", {}))
                results["todo"].append(_measured(api.pid, todo_url, auth))
        finally:
            for proc in (api, bare):
                proc.terminate()
                proc.wait(20)
    best = {k: max(v, key=lambda r: r["rps"]) for k, v in results.items()}
    return {"runs": results, "best": best, "ratio": best["todo"]["rps"] / best["bare"]["rps"]}


def markdown(r: dict) -> str:
    """The BENCHMARKS.md section."""
    bare, todo = r["best"]["bare"], r["best"]["todo"]
    met = r["ratio"] >= 0.5 and todo["p99"] < 50
    runs = "; ".join(f"{k}: " + ", ".join(f"{x['rps']:.0f}" for x in v) for k, v in r["runs"].items())
    lines = [
        "## A liaison's to-do list under load vs a bare endpoint",
        "",
        f"wrk, 2 threads, {CONNECTIONS} connections, {DURATION} per run, on 127.0.0.1 (client and servers share the 2 cores);",
        "both servers one uvicorn process, same settings. To-do list: `GET /api/v1/me/assignments?limit=50` as the",
        "县司法局 liaison (JWT checked, account re-read, PostgreSQL query, 50 rows); baseline: a bare FastAPI",
        "endpoint returning 50 static rows of the same shape. Best of two interleaved runs each",
        f"(requests/s per run — {runs}).",
        "",
        "| | requests/s | p50 | p99 | server CPU per request |",
        "|---|---|---|---|---|",
        f"| bare FastAPI, 50 static rows | {bare['rps']:.0f} | {bare['p50']:.1f} ms | {bare['p99']:.1f} ms | {bare['cpu_ms']:.2f} ms |",
        f"| to-do list (JWT + PostgreSQL) | {todo['rps']:.0f} | {todo['p50']:.1f} ms | {todo['p99']:.1f} ms | {todo['cpu_ms']:.2f} ms |",
        "",
        f"**{'Met' if met else 'Not met'}: throughput ratio {r['ratio']:.2f}** (target ≥ 0.5), **p99 {todo['p99']:.1f} ms** (target < 50 ms).",
        *(
            [
                "",
                "Gap and cause: the bare endpoint costs ~0.3 ms of one core per request; the to-do list ~2.5 ms of Python",
                "in the service alone (verify the JWT, re-read the account so a disabled one is refused at once, one",
                "windowed query joining five tables for the page and its total, 50 rows) plus PostgreSQL's own work and",
                "four round trips, on 2 cores that wrk and PostgreSQL share. The 32 connections queue behind that CPU, so",
                "latency is queueing (p50 ≈ 32 / throughput). Measured steps: 151 → 232 requests/s after the list",
                "query stopped building ORM objects and parsing unread JSON columns and counted with a window function",
                "(4.2 → 2.5 ms per request in the service). Next: more server processes per host (the API is",
                "stateless), which this 2-core machine cannot show.",
            ]
            if not met
            else []
        ),
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    print(markdown(run()))
