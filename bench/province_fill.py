"""A province at full scale in a few minutes: 100 counties × 罗平's 229 items × 60 units, three evidence (one
version each) per assignment, a released office round scoring every item per county.

What has rules (regions, campaigns, accounts, rounds and their release, with audit and events) goes through the
services, 100 times; the million-row tables are written in bulk: units and assignments with COPY
(psycopg's `cursor.copy`), evidence, versions and scores with one INSERT … SELECT each, derived from the rows
already there. Statuses and due dates are spread so that every measure (overdue, due soon, returned) has rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.models import Item
from app.models.campaign import CampaignCreate, PhaseBase
from app.models.region import RegionLevel
from app.models.scoring import RoundCreate
from app.models.user import Role
from app.services.access import principal_for
from app.services.assessment import release, scoring
from app.services.campaign import campaigns, tally
from bench.fixtures import region, user

COUNTIES = 100
UNITS = 60
EVIDENCE = 3
PHASE_END = 30  # days from today
OVERRIDES = (-30, -14, -7, -1, 1, 2, 5, 14)
STATUSES = ("approved", "approved", "submitted", "not_started", "returned", "approved", "submitted", "not_started")


@dataclass(frozen=True)
class Province:
    province_id: int
    county_ids: list[int]
    campaign_ids: list[int]
    round_ids: list[int]
    seconds: dict[str, float]


def _campaign(s: Session, *, county_id: int, name: str, framework_id: int) -> int:
    campaign = campaigns.create(
        s,
        data=CampaignCreate(
            name=f"{name}示范创建",
            framework_id=framework_id,
            county_id=county_id,
            materials_deadline=date.today() + timedelta(days=PHASE_END),
            phases=[
                PhaseBase(
                    name="资料报送",
                    starts_on=date.today() - timedelta(days=60),
                    ends_on=date.today() + timedelta(days=PHASE_END),
                    is_submission=True,
                )
            ],
        ),
        principal=None,
    )
    campaign.status = "launched"
    return campaign.id  # type: ignore[return-value]


def fill(s: Session, *, framework_id: int, counties: int = COUNTIES, units: int = UNITS) -> Province:
    """Fill the session's (PostgreSQL) database with one province; `s` is committed by the caller."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    province = region(s, "云南省", RegionLevel.province)
    city = region(s, "曲靖市", RegionLevel.city, province)
    user(s, "bench-province", Role.province, region_id=province)
    county_ids, campaign_ids, offices = [], [], []
    for n in range(counties):
        county_id = region(s, f"县{n:03d}", RegionLevel.county, city)
        county_ids.append(county_id)
        campaign_ids.append(_campaign(s, county_id=county_id, name=f"县{n:03d}", framework_id=framework_id))
        offices.append(principal_for(s, user(s, f"office-{n}", Role.office, county_id=county_id)))
    rounds = [
        scoring.create_round(s, campaign_id=c, data=RoundCreate(name="县级初审"), principal=p).id
        for c, p in zip(campaign_ids, offices, strict=True)
    ]
    s.flush()
    seconds["services"] = time.perf_counter() - started

    started = time.perf_counter()
    # The rows below are consistent by construction: skip the per-row foreign-key triggers (superuser only;
    # for this transaction only). Summaries kept by triggers are rebuilt from the raw rows afterwards.
    s.execute(sa.text("SET LOCAL session_replication_role = replica"))
    cursor = s.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy("COPY unit (county_id, name, kind, aliases) FROM STDIN") as copy:
        for county_id in county_ids:
            for u in range(units):
                copy.write_row((county_id, f"单位{u:03d}", "department", "[]"))
    unit_ids: dict[int, list[int]] = {}
    for unit_id, county_id in s.execute(sa.text("SELECT id, county_id FROM unit ORDER BY id")).all():
        unit_ids.setdefault(county_id, []).append(unit_id)
    item_ids = s.exec(select(Item.id).where(Item.framework_id == framework_id).order_by(col(Item.position))).all()
    today, now = date.today(), sa.func.now()
    columns = "campaign_id, item_id, unit_id, role, due_on, due_overridden, status, created_at"
    stamp = s.execute(sa.select(now)).scalar_one()
    with cursor.copy(f"COPY assignment ({columns}) FROM STDIN") as copy:
        for campaign_id, county_id in zip(campaign_ids, county_ids, strict=True):
            for k, unit_id in enumerate(unit_ids[county_id]):
                for j, item_id in enumerate(item_ids):
                    # the phase's end, or for one assignment in eight a date the office set by hand
                    spread = OVERRIDES[(j + k) % len(OVERRIDES)] if (j * 5 + k) % 8 == 0 else None
                    due = today + timedelta(days=PHASE_END if spread is None else spread)
                    status = STATUSES[(j + k + campaign_id) % len(STATUSES)]
                    role = "lead" if k == j % units else "co"
                    copy.write_row((campaign_id, item_id, unit_id, role, due, spread is not None, status, stamp))
    seconds["copy"] = time.perf_counter() - started

    started = time.perf_counter()
    s.execute(
        sa.text(
            "INSERT INTO evidence (campaign_id, unit_id, assignment_id, title, status, current_version, created_by,"
            " created_at, updated_at)"
            " SELECT a.campaign_id, a.unit_id, a.id, '资料' || k, 'submitted', 1, r.created_by, a.created_at,"
            " a.created_at FROM assignment a JOIN scoringround r ON r.campaign_id = a.campaign_id"
            f" CROSS JOIN generate_series(1, {EVIDENCE}) AS k ORDER BY a.id, k"
        )
    )
    s.execute(
        sa.text(
            "INSERT INTO evidenceversion (evidence_id, number, kind, url, resubmitted_unchanged, state, created_by,"
            " created_at, preview, preview_attempts)"
            " SELECT e.id, 1, 'url', 'https://example.gov.cn/' || e.id, false, 'active', e.created_by, e.created_at,"
            " 'none', 0 FROM evidence e ORDER BY e.id"
        )
    )
    seconds["evidence and versions"] = time.perf_counter() - started
    started = time.perf_counter()
    s.execute(
        sa.text(
            "INSERT INTO score (round_id, campaign_id, item_id, scorer_kind, scorer_key, points, not_applicable,"
            " comment, finding, recorded_by, created_at)"
            " SELECT r.id, r.campaign_id, i.id, 'office', 'office', 0.5 + (i.id % 2) * 0.5, false, '', '',"
            " r.created_by, now() FROM scoringround r JOIN campaign c ON c.id = r.campaign_id"
            " JOIN item i ON i.framework_id = c.framework_id"
        )
    )
    seconds["scores"] = time.perf_counter() - started
    started = time.perf_counter()
    tally.rebuild(s)  # the triggers were off for the bulk rows
    seconds["tally"] = time.perf_counter() - started
    s.execute(sa.text("SET LOCAL session_replication_role = origin"))
    started = time.perf_counter()
    for round_id, office in zip(rounds, offices, strict=True):
        release.release(s, round_id=round_id, principal=office)  # type: ignore[arg-type]
    seconds["release"] = time.perf_counter() - started
    return Province(province, county_ids, campaign_ids, rounds, seconds)  # type: ignore[arg-type]
