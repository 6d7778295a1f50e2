"""A province at full scale: the region overview, one county's progress, deadline board and score report.

Two fresh PostgreSQL databases, each migrated with Alembic and filled in bulk (bench/province_fill.py): the
baseline, one county of 罗平's 229 items × 60 units (13 740 assignments, the old "1×"), and the province,
100 such counties (1.37 M assignments, 4.1 M evidence rows and as many versions, a released office round per
county). Each figure is fetched through HTTP (in-process app, real tokens) as the province or the county's
office, median of 7 after a warm-up; the slowest statement of each request is EXPLAINed (ANALYZE, BUFFERS).
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from bench.province_probe import (
    analyze,
    counted_overview,
    explain_select,
    median,
    slowest,
    statements,
    summaries_both_ways,
    tallied_overview,
)

TARGETS = {"overview": 0.300, "progress": 0.150, "deadlines": 0.150, "report": 0.300}
TITLES = {
    "overview": "GraphQL region overview (every county)",
    "progress": "one county's progress (5 groupings)",
    "deadlines": "one county's deadline board",
    "report": "one county's score report",
}


def _measure(counties: int) -> dict[str, Any]:
    """Fill a fresh database with `counties` counties and time the four reads."""
    from fastapi.testclient import TestClient

    from app.db import session_scope
    from app.services import demo
    from bench.fixtures import PASSWORD, fresh_database
    from bench.province_fill import fill
    from tests.graphql_kit import OVERVIEW

    with fresh_database():
        started = time.perf_counter()
        with session_scope() as s:
            made = fill(s, framework_id=demo.load_seed_frameworks(s)["luoping-yunnan"], counties=counties)
        analyze()
        out: dict[str, Any] = {"counties": counties, "fill": time.perf_counter() - started, "steps": made.seconds}
        from app.main import create_app

        with TestClient(create_app()) as client:

            def auth(username: str) -> dict[str, str]:
                r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
                return {"Authorization": f"Bearer {r.json()['access_token']}"}

            province, office = auth("bench-province"), auth("office-0")
            campaign, round_id = made.campaign_ids[0], made.round_ids[0]

            def overview(query: str = OVERVIEW) -> None:
                r = client.post("/graphql", json={"query": query, "variables": {"first": 100}}, headers=province)
                body = r.json()
                assert r.status_code == 200 and "errors" not in body, body
                assert body["data"]["counties"]["totalCount"] == counties

            # the same overview without its warning lights (issue 25), timed in the same run for the difference
            unlit = OVERVIEW.replace("lights { blue yellow red }", "")
            assert unlit != OVERVIEW
            out["overview_unlit"] = median(lambda: overview(unlit))
            out["overview_unlit_statements"] = statements(lambda: overview(unlit))

            def get(url: str) -> Any:
                def call() -> None:
                    r = client.get(url, headers=office)
                    assert r.status_code == 200, r.text

                return call

            calls = {
                "overview": overview,
                "progress": get(f"/api/v1/campaigns/{campaign}/progress"),
                "deadlines": get(f"/api/v1/campaigns/{campaign}/deadlines"),
                "report": get(f"/api/v1/rounds/{round_id}/report"),
            }
            for name, call in calls.items():
                out[name] = median(call)
                out[f"{name}_statements"] = statements(call)
                out[f"{name}_plans"] = slowest(call, 2)
        # What the tally replaced: the overview's progress counted from every assignment, and what it reads now.
        out["counted"] = explain_select(counted_overview(made.campaign_ids, date.today()))
        out["tallied"] = explain_select(tallied_overview(made.campaign_ids, date.today()))
        out["rollup"], out["stored"] = summaries_both_ways(made.campaign_ids)
    print({k: v for k, v in out.items() if not k.endswith("_plans")}, flush=True)
    return out


def run() -> dict[str, dict[str, Any]]:
    """The baseline county alone, then the province."""
    return {"baseline": _measure(1), "province": _measure(100)}


def _plan_excerpt(plan: str, lines: int = 14) -> str:
    return "\n".join(line if len(line) < 150 else line[:140] + " …" for line in plan.splitlines()[:lines])


def markdown(results: dict[str, dict[str, Any]]) -> str:
    """The BENCHMARKS.md section."""
    base, top = results["baseline"], results["province"]
    steps = ", ".join(f"{k} {v:.0f} s" for k, v in top["steps"].items())
    lines = [
        "## A province at full scale",
        "",
        "100 counties × 罗平's 229 items × 60 units (1,373,400 assignments), three evidence each (4.1 M rows, one",
        "version each), a released office round per county, in one province: filled in "
        f"{top['fill']:.0f} s ({steps}; bench/province_fill.py: COPY for units and assignments, INSERT … SELECT",
        "for the derived rows). Baseline in the same run: one such county alone in its own database (the old 1×).",
        "Through HTTP (in-process app, real tokens), median of 7; the overview as the province, the rest as county",
        "000's office.",
        "",
        "| read | baseline: 1 county | province: 100 counties | × baseline | target | statements (1 → 100) | |",
        "|---|---|---|---|---|---|---|",
    ]
    met_all = True
    for name, title in TITLES.items():
        met = top[name] < TARGETS[name]
        if name == "overview":
            met = met and top["overview_statements"] == base["overview_statements"]
        met_all &= met
        lines.append(
            f"| {title} | {base[name] * 1000:.0f} ms | {top[name] * 1000:.0f} ms | {top[name] / base[name]:.2f} "
            f"| < {TARGETS[name] * 1000:.0f} ms | {base[f'{name}_statements']} → {top[f'{name}_statements']} "
            f"| {'met' if met else 'not met'} |"
        )
    lines += ["", f"{'All targets met.' if met_all else 'Not every target met (see the plans below).'}", ""]
    lines += [
        "The overview with each campaign's warning lights (issue 25: blue/yellow/red counts, summed from the tally",
        "and corrected for often-returned assignments) against the same query without them, same run: "
        f"{top['overview'] * 1000:.0f} ms ({top['overview_statements']} statements) against "
        f"{top['overview_unlit'] * 1000:.0f} ms ({top['overview_unlit_statements']}) at 100 counties; "
        f"{base['overview'] * 1000:.0f} ms against {base['overview_unlit'] * 1000:.0f} ms for one.",
        "",
    ]
    (counted, counted_plan), (tallied, tallied_plan) = top["counted"], top["tallied"]
    lines += [
        "### Why the overview reads a tally",
        "",
        f"The overview's progress of 100 counties counted from the assignments, as before this change: {counted:.0f} ms",
        f"in the database alone (baseline county: {base['counted'][0]:.0f} ms), growing with every assignment; summed from",
        "`assignment_tally` (campaign × unit × status × due date, kept by triggers in the same transaction as every",
        f"assignment change, migration 0009a): {tallied:.1f} ms ({counted / max(tallied, 0.01):.0f}× less). Released",
        "rounds store the office's figures (migration 0009b): the score summaries of 100 counties take "
        f"{top['stored'] * 1000:.0f} ms read",
        f"from them, {top['rollup'] * 1000:.0f} ms rolled up from the 22,900 scores as before (median of 7, in-process).",
        "",
        "Counted from the assignments:",
        "",
        "```",
        _plan_excerpt(counted_plan, 24),
        "```",
        "",
        "From the tally:",
        "",
        "```",
        _plan_excerpt(tallied_plan, 16),
        "```",
        "",
        "### The slowest statements at 100 counties, EXPLAIN (ANALYZE, BUFFERS)",
        "",
    ]
    for name, title in TITLES.items():
        for head, ms, plan in top[f"{name}_plans"][:1]:
            lines += [f"{title}: {ms:.0f} ms for `{head[:100]}…`", "", "```", _plan_excerpt(plan), "```", ""]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    print(markdown(run()))
