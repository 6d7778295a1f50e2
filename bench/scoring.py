"""Score report and progress at scale: 罗平's 229 items × 60 units × 3 evidence each, then 4× and 16× the units.

Each scale gets a fresh PostgreSQL database migrated with Alembic and filled in bulk; the report and
the progress dashboard are then fetched through HTTP (in-process app, real token) and timed. The
baseline is the 1× time: the 4× and 16× figures are reported as growth against the growth of data.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

SCALES = (1, 4, 16)
UNITS = 60
REPEAT = 5


def _fill(units: int) -> tuple[int, int]:
    """Fill the current database with 罗平 at `units` units; returns (round id, campaign id)."""
    from app.db import session_scope
    from app.models.region import RegionLevel
    from app.services import demo
    from bench.fixtures import county, region

    with session_scope() as s:
        fw = demo.load_seed_frameworks(s)["luoping-yunnan"]
        province = region(s, "云南省", RegionLevel.province)
        city = region(s, "曲靖市", RegionLevel.city, province)
        made = county(s, city_id=city, name="罗平县", office="bench-office", framework_id=fw, units=units, evidence=3)
        return made.round_id, made.campaign_id


def _time(client: Any, url: str, headers: dict) -> float:
    samples = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        r = client.get(url, headers=headers)
        samples.append(time.perf_counter() - started)
        assert r.status_code == 200, r.text
    return statistics.median(samples)


def run() -> list[dict]:
    """Time the report and progress at each scale in a fresh database."""
    from fastapi.testclient import TestClient

    from bench.fixtures import fresh_database

    results = []
    for scale in SCALES:
        with fresh_database():
            started = time.perf_counter()
            round_id, campaign_id = _fill(UNITS * scale)
            fill = time.perf_counter() - started
            from app.main import create_app

            with TestClient(create_app()) as client:
                token = client.post(
                    "/api/v1/auth/token", data={"username": "bench-office", "password": "bench-password"}
                ).json()
                h = {"Authorization": f"Bearer {token['access_token']}"}
                report = _time(client, f"/api/v1/rounds/{round_id}/report", h)
                progress = _time(client, f"/api/v1/campaigns/{campaign_id}/progress", h)
                board = _time(client, f"/api/v1/campaigns/{campaign_id}/deadlines", h)
            results.append({"scale": scale, "units": UNITS * scale, "assignments": 229 * UNITS * scale, "fill": fill,
                            "report": report, "progress": progress, "deadlines": board})  # fmt: skip
            print(results[-1], flush=True)
    return results


def markdown(results: list[dict]) -> str:
    """The BENCHMARKS.md section."""
    base = results[0]
    lines = [
        "## Score report and progress at scale",
        "",
        "罗平's 229 items × 60 units × 3 evidence each (13 740 assignments, 41 220 evidence rows), then 4× and 16×",
        "the units, each in a fresh PostgreSQL database; office token, in-process HTTP, median of 5 requests.",
        "Target: well under a second at 1×, and no faster than linear growth (time ratio ≤ data ratio).",
        "",
        "| scale | assignments | score report | × 1× | progress (5 groupings) | × 1× | deadline board | × 1× |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['scale']}× | {r['assignments']:,} | {r['report'] * 1000:.0f} ms | {r['report'] / base['report']:.2f} "
            f"| {r['progress'] * 1000:.0f} ms | {r['progress'] / base['progress']:.2f} "
            f"| {r['deadlines'] * 1000:.0f} ms | {r['deadlines'] / base['deadlines']:.2f} |"
        )
    top = results[-1]
    growth = {k: top[k] / base[k] for k in ("report", "progress", "deadlines")}
    met = base["report"] < 1 and base["progress"] < 1 and all(g <= top["scale"] for g in growth.values())
    lines += [
        "",
        f"{'Met' if met else 'Not met'}: {base['report'] * 1000:.0f} ms for the report at 1×; at {top['scale']}× the data the report "
        f"takes {growth['report']:.1f}×, progress {growth['progress']:.1f}×, the board {growth['deadlines']:.1f}× the 1× time.",
    ]
    return "\n".join(lines) + "\n"
