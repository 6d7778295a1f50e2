"""Score report and progress at scale: 罗平's 229 items × 60 units × 3 evidence each, then 4× and 16× the units.

Each scale gets a fresh PostgreSQL database migrated with Alembic and filled in bulk; the report and
the progress dashboard are then fetched through HTTP (in-process app, real token) and timed. The
baseline is the 1× time: the 4× and 16× figures are reported as growth against the growth of data.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa

PG = os.environ.get("SHIFAN_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SCALES = (1, 4, 16)
UNITS = 60
REPEAT = 5


def _fill(units: int) -> tuple[int, int]:
    """Fill the current database; returns (round id, office user id)."""
    from sqlalchemy import insert
    from sqlmodel import select

    from app.db import session_scope
    from app.models import Assignment, Evidence, Item, Score, Unit
    from app.models._base import utcnow
    from app.models.campaign import CampaignCreate, PhaseBase
    from app.models.region import RegionCreate, RegionLevel
    from app.models.scoring import RoundCreate
    from app.models.user import Role, UserCreate
    from app.services import campaigns, demo, regions, scoring, users
    from app.services.access import principal_for

    now = utcnow()
    with session_scope() as s:
        fw = demo.load_seed_frameworks(s)["luoping-yunnan"]
        province = regions.create(s, data=RegionCreate(name="云南省", level=RegionLevel.province))
        city = regions.create(s, data=RegionCreate(name="曲靖市", level=RegionLevel.city, parent_id=province.id))
        county = regions.create(s, data=RegionCreate(name="罗平县", level=RegionLevel.county, parent_id=city.id))
        s.execute(
            insert(Unit),
            [
                {"county_id": county.id, "name": f"单位{n:04d}", "kind": "department", "aliases": []}
                for n in range(units)
            ],
        )
        campaign = campaigns.create(
            s,
            data=CampaignCreate(
                name="罗平县示范创建",
                framework_id=fw,
                county_id=county.id,
                materials_deadline=date(2023, 2, 28),
                phases=[
                    PhaseBase(
                        name="县级初审", starts_on=date(2023, 2, 1), ends_on=date(2023, 2, 28), is_submission=True
                    )
                ],
            ),
            principal=None,
        )
        campaign.status = "launched"
        office = users.create(
            s,
            data=UserCreate(
                username="bench-office",
                display_name="办",
                role=Role.office,
                password="bench-password",
                county_id=county.id,
            ),
        )
        unit_ids = s.exec(select(Unit.id).where(Unit.county_id == county.id)).all()
        item_ids = s.exec(select(Item.id).where(Item.framework_id == fw)).all()
        statuses = ("not_started", "submitted", "approved", "returned")
        rows = [
            {
                "campaign_id": campaign.id,
                "item_id": i,
                "unit_id": u,
                "role": "co",
                "due_on": date(2023, 2, 28),
                "status": statuses[(i + u) % 4],
                "created_at": now,
            }
            for u in unit_ids
            for i in item_ids
        ]
        s.execute(insert(Assignment), rows)
        assignment_ids = s.exec(
            select(Assignment.id, Assignment.unit_id).where(Assignment.campaign_id == campaign.id)
        ).all()
        s.execute(
            insert(Evidence),
            [
                {
                    "campaign_id": campaign.id,
                    "unit_id": u,
                    "assignment_id": a,
                    "title": f"资料{k}",
                    "status": "submitted",
                    "created_by": office.id,
                    "created_at": now,
                    "updated_at": now,
                }
                for a, u in assignment_ids
                for k in range(3)
            ],
        )
        principal = principal_for(s, office)
        rnd = scoring.create_round(s, campaign_id=campaign.id, data=RoundCreate(name="县级初审"), principal=principal)
        s.execute(
            insert(Score),
            [
                {"round_id": rnd.id, "campaign_id": campaign.id, "item_id": i, "scorer_kind": "office", "scorer_key": "office",
                 "points": 0.5 + (i % 2) * 0.5, "not_applicable": False, "comment": "", "finding": "", "recorded_by": office.id, "created_at": now}
                for i in item_ids
            ],
        )  # fmt: skip
        return rnd.id, campaign.id  # type: ignore[return-value]


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

    from app import db, settings
    from app.cli import migrate

    admin = sa.create_engine(PG, isolation_level="AUTOCOMMIT")
    results = []
    for scale in SCALES:
        name = f"shifan_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as c:
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
        os.environ["SHIFAN_DATABASE_URL"] = PG.rsplit("/", 1)[0] + f"/{name}"
        settings.get_settings.cache_clear()
        db.get_engine.cache_clear()
        try:
            migrate()
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
        finally:
            db.get_engine().dispose()
            with admin.connect() as c:
                c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
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
    return "\n".join(lines) + "\n"
