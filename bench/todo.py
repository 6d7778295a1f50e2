"""The busiest reads under load vs a bare FastAPI endpoint returning 50 static rows.

Both servers are one uvicorn process with the same settings on 127.0.0.1; wrk (from Debian) drives 32
connections with 2 threads for the same time against each, in turn, three times (ROUNDS). The reads are the real thing
(JWT checked, account re-read, PostgreSQL, demo data): a liaison's to-do list and the office's assignment
ledger (50 a page), and one piece of evidence with its versions and reviews.
Targets (issue 28): at least 0.5x the bare endpoint's throughput, p99 under 60 ms (or server CPU per request at most
0.5 ms). Besides the server's CPU per request, the database's (its backends serving the benchmark's database) is
recorded: on 2 shared cores it is half of what a read costs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from datetime import date
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
CONNECTIONS = 32
DURATION = "10s"
ROUNDS = 3  # a run's requests/s moves by 10–20% with the shared machine's other work: the best of three of each


def _serve(args: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    from tests.s3servers import _wait_port

    proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    _wait_port(port, 60, proc)
    return proc


def _wrk(url: str, headers: dict[str, str], duration: str = DURATION) -> dict[str, float]:
    """Requests per second and the p50/p99 latency (ms) wrk measured."""
    args = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{duration}", "--latency", url]
    for name, value in headers.items():
        args[1:1] = ["-H", f"{name}: {value}"]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=120).stdout

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert errors is None, out
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": ms("50%"), "p99": ms("99%")}  # type: ignore[union-attr]


def _tree(pid: int) -> list[int]:
    """pid and its descendants (uvicorn's worker processes under --workers N)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += _tree(int(child))
    return found


def _backends() -> list[int]:
    """The PostgreSQL server processes connected to the benchmark's database (the API's pools; not this one)."""
    from sqlalchemy import text

    from app.db import get_engine

    with get_engine().connect() as conn:
        found = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                  "AND pid <> pg_backend_pid()"))  # fmt: skip
        return [pid for (pid,) in found]


def _measured(pid: int, url: str, headers: dict[str, str]) -> dict[str, float]:
    """wrk's figures plus the server processes' own CPU milliseconds per request (from /proc, so the other
    work on a shared machine does not count: the steadier figure when comparing two versions), and the
    database's: its server processes for the benchmark's database, those alive at the end (one opened during the
    run counts from its start; one closed during it is missed — the pools keep theirs open)."""
    from bench.upload import _cpu_seconds

    pids, backends = _tree(pid), _backends()
    before, db_before = _cpu_seconds(pids), {b: _cpu_seconds([b]) for b in backends}
    figures = _wrk(url, headers)
    requests = max(figures["rps"] * float(DURATION.rstrip("s")), 1)
    figures["cpu_ms"] = (_cpu_seconds(pids) - before) * 1000 / requests
    # a backend that appeared during the run (a pool's new connection) counts from its start
    db_after = {b: _cpu_seconds([b]) for b in _backends() if Path(f"/proc/{b}").exists()}
    figures["db_cpu_ms"] = sum(db_after[b] - db_before.get(b, 0.0) for b in db_after) * 1000 / requests
    return figures


ENDPOINTS = {
    "todo": "liaison's to-do list (`GET /me/assignments?limit=50`)",
    "ledger": "office's assignment ledger (`GET /campaigns/{id}/assignments?limit=50`)",
    "evidence": "evidence detail (`GET /evidence/{id}`)",
}


def _urls(base: str) -> dict[str, tuple[str, dict[str, str]]]:
    """Each endpoint's URL and the token it is read with."""

    def login(username: str) -> dict[str, str]:
        r = httpx.post(f"{base}/api/v1/auth/token", data={"username": username, "password": "shifan-demo"})
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    liaison, office = login("lc-sfj"), login("lc-office")
    todo = f"{base}/api/v1/me/assignments?limit=50"
    page = httpx.get(todo, headers=liaison).json()
    assert len(page["items"]) == 50, page
    campaign_id = page["items"][0]["campaign_id"]
    ledger = f"{base}/api/v1/campaigns/{campaign_id}/assignments?limit=50"
    assert len(httpx.get(ledger, headers=office).json()["items"]) == 50
    campaigns = httpx.get(f"{base}/api/v1/campaigns", headers=office).json()["items"]
    evidence = [
        e
        for c in campaigns
        for e in httpx.get(f"{base}/api/v1/campaigns/{c['id']}/evidence?limit=1", headers=office).json()["items"]
    ]
    assert evidence, "the demo county has evidence"
    detail = f"{base}/api/v1/evidence/{evidence[0]['id']}"
    assert httpx.get(detail, headers=office).status_code == 200
    return {"todo": (todo, liaison), "ledger": (ledger, office), "evidence": (detail, office)}


def _analyze() -> None:
    """Planner statistics for the freshly loaded tables, as a database in use has them (autovacuum would take them
    a minute later, in the middle of the measurement; without them PostgreSQL plans a 1,300-row join for 7 rows)."""
    from app.db import get_engine

    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")


def run(workers: int = 1) -> dict:
    """Both servers, measured in turn (bare, then each read; ROUNDS times); the best run of each is kept. The API runs
    workers server processes (`--workers`), the bare endpoint one."""
    from bench.fixtures import fresh_database
    from tests.s3servers import free_port

    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    with fresh_database(), tempfile.TemporaryDirectory() as tmp:
        from app.db import session_scope
        from app.services import demo
        from app.services.storage import LocalStore

        with session_scope() as s:  # brought to life: evidence, reviews, dates from today
            demo.load(s, today=date.today(), store=LocalStore(Path(tmp) / "objects"))
        _analyze()
        env = {**os.environ, "SHIFAN_JWT_SECRET": uuid.uuid4().hex, "SHIFAN_OBJECT_DIR": f"{tmp}/objects"}
        api_port, bare_port = free_port(), free_port()
        uvicorn = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--no-access-log", "--log-level", "warning"]
        app_args = [*uvicorn, "--port", str(api_port), "--workers", str(workers), "app.main:app"]
        api = _serve(app_args, env, api_port, Path(tmp) / "api.log")
        bare = _serve(
            [*uvicorn, "--port", str(bare_port), "bench.bare_app:app"], env, bare_port, Path(tmp) / "bare.log"
        )
        try:
            urls = _urls(f"http://127.0.0.1:{api_port}")
            results: dict[str, list[dict[str, float]]] = {"bare": [], **{name: [] for name in urls}}
            for url, headers in [(f"http://127.0.0.1:{bare_port}/todo", {}), *urls.values()]:
                _wrk(url, headers, "2s")  # warmed up: every pool's connections open, every statement prepared
            for _ in range(ROUNDS):  # interleaved, so noise on the shared machine hits all alike
                results["bare"].append(_measured(bare.pid, f"http://127.0.0.1:{bare_port}/todo", {}))
                for name, (url, headers) in urls.items():
                    results[name].append(_measured(api.pid, url, headers))
        finally:
            for proc in (api, bare):
                proc.terminate()
                proc.wait(20)
    best = {k: max(v, key=lambda r: r["rps"]) for k, v in results.items()}
    ratio = {k: best[k]["rps"] / best["bare"]["rps"] for k in ENDPOINTS}
    return {"runs": results, "best": best, "ratio": ratio, "workers": workers}


def _met(r: dict, name: str) -> bool:
    """Issue 28: at least 0.5x bare, with p99 under 60 ms or (where the machine does not allow it) server CPU per
    request at most 0.5 ms."""
    return r["ratio"][name] >= 0.5 and (r["best"][name]["p99"] < 60 or r["best"][name]["cpu_ms"] <= 0.5)


def _workers_table(rs: list[dict]) -> list[str]:
    """requests/s, p99 and server + database CPU per request of each read at each number of server processes."""
    head = "| server processes | " + " | ".join(
        f"{name} requests/s (× bare) | p99 | CPU/request server + database" for name in ENDPOINTS
    )
    lines = [head + " |", "|---|" + "---|---|---|" * len(ENDPOINTS)]
    for r in rs:
        cells = " | ".join(
            f"{r['best'][n]['rps']:.0f} ({r['ratio'][n]:.2f}) | {r['best'][n]['p99']:.0f} ms | "
            f"{r['best'][n]['cpu_ms']:.2f} + {r['best'][n]['db_cpu_ms']:.2f} ms"
            for n in ENDPOINTS
        )
        lines.append(f"| {r['workers']} | {cells} |")
    return lines


def markdown(r: dict, *more: dict) -> str:
    """The BENCHMARKS.md section: r with one server process; more, the same at other numbers of processes."""
    best = r["best"]
    runs = "; ".join(f"{k}: " + ", ".join(f"{x['rps']:.0f}" for x in v) for k, v in r["runs"].items())

    def line(label: str, f: dict[str, float], ratio: str) -> str:
        return (f"| {label} | {f['rps']:.0f} | {ratio} | {f['p50']:.1f} ms | {f['p99']:.1f} ms | {f['cpu_ms']:.2f} ms"
                f" | {f['db_cpu_ms']:.2f} ms |")  # fmt: skip

    lines = [
        "## The busiest reads under load vs a bare endpoint",
        "",
        f"wrk, 2 threads, {CONNECTIONS} connections, {DURATION} per run, on 127.0.0.1 (client, server and PostgreSQL",
        "share the 2 cores); both servers one uvicorn process, same settings. Each read is the real thing: JWT",
        "checked, account re-read (a disabled account is refused at once), tenancy, PostgreSQL, demo data. Baseline:",
        f"`bench/bare_app.py`, a bare FastAPI endpoint returning 50 static rows of the to-do shape. Best of {ROUNDS}",
        f"interleaved runs each (requests/s per run — {runs}). Server CPU per request is the server process's own",
        "CPU time (from /proc) over the requests it answered: the steadier figure on a shared machine.",
        "",
        "| | requests/s | × bare | p50 | p99 | server CPU per request | database CPU per request |",
        "|---|---|---|---|---|---|---|",
        line("bare FastAPI, 50 static rows", best["bare"], "1.00"),
        *(line(label, best[name], f"{r['ratio'][name]:.2f}") for name, label in ENDPOINTS.items()),
        "",
        "Targets (issue 28): ≥ 0.5× bare, and p99 < 60 ms or server CPU per request ≤ 0.5 ms. "
        + "; ".join(
            f"{name}: **{'met' if _met(r, name) else 'not met'}** ({r['ratio'][name]:.2f}×, p99 "
            f"{best[name]['p99']:.0f} ms)"
            for name in ENDPOINTS
        )
        + ".",
        "",
        *(
            [
                "The same reads with more server processes (`shifan serve --workers N`, the default one per core;",
                "the bare endpoint stays one process; CPU per request summed over every server process):",
                "",
                *_workers_table([r, *more]),
                "",
            ]
            if more
            else []
        ),
        GAP,
    ]
    return "\n".join(lines) + "\n"


GAP = """What each step gave (server CPU per to-do request, same machine, measured with this benchmark; the
requests/s of a run moved with the other work on the machine, the CPU per request did not):

| step | CPU per request | to-do requests/s |
|---|---|---|
| before (issue 15's figures) | 3.3 ms | 237–271 |
| one worker-thread hop, read-only autocommit session (no BEGIN/COMMIT), no ping per checkout, verified JWTs kept, the answer serialised once | 2.8 ms | 250–306 |
| at most 4 reads in threads at once (SHIFAN_READ_THREADS) instead of anyio's 40 | 2.6 ms | 240–364 |
| list rows validated in one pydantic call, AssignmentPublic a plain pydantic model | 2.2 ms | 375–389 |
| the account read as plain columns instead of an ORM object | 2.1 ms | 360–370 |

Issue 28 (measured on a machine at load 6–9 on its 2 cores, where the bare endpoint's own CPU per request rose
from 0.25 to 0.44–0.76 ms: compare within a run, not with the rows above). Main's API and this change's served
the same database side by side, wrk runs interleaved (3 rounds of 6 s each, 32 connections), server CPU per
request: to-do list 8.2 / 11.7 / 10.7 ms before → 2.3 / 3.2 / 2.9 ms after (3.6× less; requests/s 105 / 51 /
78 → 362 / 234 / 266); ledger 10.9 / 8.5 / 11.8 → 4.2 / 3.3 / 3.9 ms (2.8× less; requests/s 51 / 86 / 45 →
88 / 154 / 139); evidence detail unchanged (14.4 / 8.7 / 13.1 → 12.9 / 9.5 / 12.8 ms — only its account read
changed). What changed: the list's statements (built from the same tenancy conditions of
app/services/access.py and the same filters) are compiled once per caller scope and filter shape and run on the
driver's cursor, the rows written straight to JSON by orjson; the account read and the last reviews likewise
compiled once; the last reviews' ids one PostgreSQL array (psycopg converts a statement of more than 50
parameters anew each call); the list's page chosen on narrow rows before the item text and unit names are
joined; the password policy's default read once instead of building a SQLModel object per request.

How to run a statement built from the tenancy conditions, CPU per call of the to-do list's statement in one
process (one run, same load; the ORM figure is what every other read does):

| way | CPU per call |
|---|---|
| ORM session: build the select, SQLAlchemy's compiled cache, ORM rows | 918 µs |
| … of which building the select and its cache key alone | 233 µs |
| Core `connection.execute` of a select built once (compiled cache, Core rows) | 412–436 µs |
| SQL text compiled once, `exec_driver_sql` (SQLAlchemy's result object per call) | 297 µs |
| SQL text compiled once, the driver's cursor (chosen) | 263 µs |
| 50 rows to JSON with orjson | 49 µs |

`lambda_stmt` was not taken: it caches on the lambda's code and tracks only plain values among its closure
variables — a Principal is not one, and with tracking off one caller's tenancy condition would be served to
the next.

Issue 28, second round: 2 statements per list read (from 5: the working-day calendar and the campaigns' 督办 rules
kept per server process, keyed by the database's read generation; the last reviews folded into the page statement),
evidence detail one statement after the account (the versions, reviews, items and reuse as JSON lists), routers
matched busiest first: to-do 0.16×, ledger 0.13×, evidence 0.24× (2.18 / 2.32 / 1.48 ms of server CPU).

Issue 28, third round (2026-12-03 evening): the reads on the event loop. Server and database CPU per to-do request,
each step measured against the one before on a demo database of its own (wrk as above, 1 server process):

| step | server CPU | database CPU | to-do requests/s |
|---|---|---|---|
| before (second round) | 2.03 ms | 0.78 ms | 440 |
| the hot routes answered by app/api/hot_reads.py: FastAPI's own parameter validation kept per path/query string, no dependency solving; the route's endpoint and reader run the same sync read in a greenlet on asyncpg (app/loop_reads.py), no worker-thread hop; result processors only on the columns that have one | 0.78–0.81 ms | 0.64–0.66 ms | 1,070–1,120 |
| the page carries the assignment's columns out of its CTE (no second read of the assignment table; the statement alone 0.62 → 0.41 ms with literal values, no change seen under load) | 0.81 ms | 0.66 ms | 1,070 |
| assignment.item_position kept by triggers, indexes in the lists' order, the total counted on its own | 0.73 ms | 0.71 ms | 1,050–1,100 |
| 4 loop connections per process instead of 10 (p99 105 → 34 ms) | 0.76 ms | 0.57 ms | 1,215 |

The ledger's page statement went from 1.46 to 0.52 ms of database CPU (generic plan, measured alone): it is read off
ix_assignment_campaign_order instead of counting and sorting a county's ~1,300 assignments per request. Tried and
not kept: the whole page built as JSON by PostgreSQL (the server's CPU for the page 0.23 → 0.13 ms, but its JSON is
not orjson's bytes: key spacing, timestamps), gc.freeze() and a larger first GC generation (no difference), the
SQLAlchemy asyncio engine's AsyncSession.run_sync (0.89 ms of CPU per call against 0.83 ms for the thread path:
its adapter costs what the hop saved).

Issue 28, fourth round (2026-12-03, late evening): the database's half. This benchmark counted the CPU of the
database connections open before a run only, and the loop's connections opened during the run were missed: the
third round's database figures were low. Counting every connection (and warming each URL up for 2 s first), a
to-do read cost as much of the database's CPU as of the server's. Measured alone on 4 connections at once, the
to-do list's page statement cost 1.13–1.20 ms of database CPU: 0.71 without the joins to item, section and unit,
0.65 without the last reviews, 0.20–0.23 for the page CTE alone; the ledger's 0.60–0.72, of which counting the
county's ~1,300 assignments for the total was 0.2–0.3. Each step against the one before, side by side on one demo
database, 1 server process, wrk interleaved (server + database CPU per request, requests/s):

| step | to-do list | ledger |
|---|---|---|
| before (third round) | 1.32–1.44 + 1.29–1.33 ms, 550–581/s | — |
| what the lists show of an item, its section and its unit kept per campaign by the process, keyed by the read generation (migration 0013b stamps item, frameworksection, unit and a campaign's framework); the sort key carried out of the page CTE | 1.32–1.36 + 0.90–0.93 ms, 651–680/s | — |
| the last reviews a MATERIALIZED CTE (PostgreSQL's generic plan expected one page row and computed the reviews again for each of the 50) | 1.19–1.21 + 0.70–0.71 ms, 784–790/s (against 1.13–1.22 + 0.79–0.83, 724–791/s) | 1.10–1.12 + 0.84–0.86 ms, 762–779/s (against 1.18–1.27 + 0.90–0.94, 668–723/s) |
| a total that depends only on which assignments exist kept per caller scope and filters (0013b stamps an assignment made, removed or moved; a status, date or light filter is counted at each read) | bench runs: 0.65 → 0.55 ms of database CPU | bench runs: 0.90 → 0.51 ms of database CPU, 0.49× → 0.53× |

Gap and cause now: a to-do request costs ~1.0 ms of server CPU and ~0.55 ms of the database's against the bare
endpoint's ~0.55 ms on this (slower) machine, and the client, server and database share 2 cores. What remains in the
server is spread thin: uvicorn and the event loop, asyncpg receiving and decoding the 50 rows, building the rows'
dicts, the middlewares and sending the answer, binding the statements, the next-page link, the account check and
orjson. In the database: the account read, the page CTE, the last reviews (~0.1–0.2 ms). An evaluator's or a
province's read (their scope is read through the ORM), the first read of a caller's scope after a write that changes
what is kept (the light book is built through the ORM), an empty page and every refusal are answered the general way
(the shifan_hot_reads metric counts both ways).
"""


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    print(markdown(run(1), run(2)))
