"""The GraphQL region overview for 1, 10 and 50 counties: SQL statements and latency.

One fresh PostgreSQL database; counties are added to one province (罗平's 229 items × 20 units each,
a released office round scoring every item). At each size the overview query runs as the province
through HTTP (in-process app, real token). The baseline, in the same run, is what a provincial system
does without GraphQL: list the campaigns over REST, then fetch each one's score report and progress.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import sqlalchemy as sa

SIZES = (1, 10, 50)
UNITS = 20
REPEAT = 5


def _grow(to: int, have: int, city: int, fw: int) -> None:
    from app.db import get_engine, session_scope
    from bench.fixtures import county

    with session_scope() as s:
        for n in range(have, to):
            county(s, city_id=city, name=f"县{n:02d}", office=f"office-{n}", framework_id=fw, units=UNITS, evidence=0,
                   release=True)  # fmt: skip
    with get_engine().connect() as c:  # fresh planner statistics, as autovacuum would give a live database
        c.execute(sa.text("ANALYZE"))
        c.commit()


def _median(fn: Any) -> tuple[float, Any]:
    samples, result = [], None
    for _ in range(REPEAT):
        started = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), result


def run() -> list[dict]:
    """Statements and median latency of the overview, and of the REST loop, at each size."""
    from fastapi.testclient import TestClient

    from app.db import session_scope
    from app.models.region import RegionLevel
    from app.models.user import Role
    from app.services import demo
    from bench.fixtures import PASSWORD, fresh_database, region, user
    from tests.graphql_kit import OVERVIEW
    from tests.test_query_counts import counting

    results = []
    with fresh_database():
        with session_scope() as s:
            fw = demo.load_seed_frameworks(s)["luoping-yunnan"]
            province = region(s, "云南省", RegionLevel.province)
            city = region(s, "曲靖市", RegionLevel.city, province)
            user(s, "bench-province", Role.province, region_id=province)
        from app.main import create_app

        with TestClient(create_app()) as client:
            token = client.post("/api/v1/auth/token", data={"username": "bench-province", "password": PASSWORD})
            h = {"Authorization": f"Bearer {token.json()['access_token']}"}

            def overview() -> dict:
                r = client.post("/graphql", json={"query": OVERVIEW, "variables": {"first": 100}}, headers=h)
                body = r.json()
                assert r.status_code == 200 and "errors" not in body, body
                return body

            def rest_loop() -> int:
                calls = 1
                for c in client.get("/api/v1/campaigns", params={"limit": 500}, headers=h).json()["items"]:
                    rounds = client.get(f"/api/v1/campaigns/{c['id']}/rounds", params={"limit": 500}, headers=h).json()[
                        "items"
                    ]
                    client.get(f"/api/v1/rounds/{rounds[-1]['id']}/report", headers=h).raise_for_status()
                    client.get(f"/api/v1/campaigns/{c['id']}/progress", params={"by": "campaign"}, headers=h)
                    calls += 3
                return calls

            have = 0
            for size in SIZES:
                _grow(size, have, city, fw)
                have = size
                with counting() as seen:
                    overview()
                statements = len(seen)
                gql, body = _median(overview)
                assert body["data"]["counties"]["totalCount"] == size
                rest, calls = _median(rest_loop)
                results.append(
                    {"counties": size, "statements": statements, "graphql": gql, "rest": rest, "calls": calls}
                )
                print(results[-1], flush=True)
    return results


def markdown(results: list[dict]) -> str:
    """The BENCHMARKS.md section."""
    lines = [
        "## GraphQL region overview: 1, 10, 50 counties",
        "",
        f"One province; each county has 罗平's 229 items × {UNITS} units ({229 * UNITS:,} assignments) and a released",
        "office round. The overview query (tests/graphql_kit.py: every county with its campaign, current phase,",
        "progress, score total, level-1 subtotals and veto) as the province token, in-process HTTP, median of 5.",
        "Baseline in the same run: the REST calls a provincial system needs for the same figures",
        "(campaign list, then per campaign its rounds, score report and progress).",
        "Target: the statement count does not grow with the number of counties.",
        "",
        "| counties | SQL statements | overview | REST calls | REST loop | overview / REST loop |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['counties']} | {r['statements']} | {r['graphql'] * 1000:.0f} ms | {r['calls']} "
            f"| {r['rest'] * 1000:.0f} ms | {r['graphql'] / r['rest']:.2f} |"
        )
    constant = len({r["statements"] for r in results}) == 1
    lines += [
        "",
        f"{'Met' if constant else 'Not met'}: {', '.join(str(r['statements']) for r in results)} statements for "
        f"{', '.join(str(r['counties']) for r in results)} counties. The latency that remains grows with the rows the "
        "database aggregates and the rollup in Python (229 items per county), not with round trips.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    print(markdown(run()))
