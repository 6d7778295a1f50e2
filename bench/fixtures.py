"""Bulk-filled counties for the benchmarks: units, a launched 罗平 campaign, assignments, evidence rows and
an office round, inserted in a handful of statements (the services would take minutes at these sizes)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy import insert
from sqlmodel import Session, select

from app.models import Assignment, Evidence, Item, Score, Unit, User
from app.models._base import utcnow
from app.models.campaign import CampaignCreate, PhaseBase
from app.models.region import RegionCreate, RegionLevel
from app.models.scoring import RoundCreate
from app.models.user import Role, UserCreate
from app.services.access import principal_for
from app.services.accounts import regions, users
from app.services.assessment import scoring
from app.services.assessment.release import release as release_round
from app.services.campaign import campaigns

PASSWORD = "bench-password"
PG = os.environ.get("SHIFAN_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@contextmanager
def fresh_database() -> Iterator[None]:
    """A new PostgreSQL database, migrated with Alembic and made the app's, dropped afterwards."""
    from app import db, settings
    from app.cli import migrate

    admin = sa.create_engine(PG, isolation_level="AUTOCOMMIT")
    name = f"shifan_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    os.environ["SHIFAN_DATABASE_URL"] = PG.rsplit("/", 1)[0] + f"/{name}"
    settings.get_settings.cache_clear()
    db.get_engine.cache_clear()
    try:
        migrate()
        yield
    finally:
        db.get_engine().dispose()
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass(frozen=True)
class County:
    county_id: int
    campaign_id: int
    round_id: int


def region(s: Session, name: str, level: RegionLevel, parent_id: int | None = None) -> int:
    """A new region's id."""
    return regions.create(s, data=RegionCreate(name=name, level=level, parent_id=parent_id)).id  # type: ignore[return-value]


def user(s: Session, username: str, role: Role, **binding: int) -> User:
    """An account with the bench password."""
    data = UserCreate(username=username, display_name=username, role=role, password=PASSWORD, **binding)
    return users.create(s, data=data, checked=False)  # the bench's one easy password, as the demo's


def county(
    s: Session,
    *,
    city_id: int,
    name: str,
    office: str,
    framework_id: int,
    units: int,
    evidence: int,
    release: bool = False,
) -> County:
    """A county of `units` units, every item assigned to every unit, `evidence` rows per assignment, and an
    office round scoring every item (released when asked); `office` is the username of its office account."""
    now = utcnow()
    county_id = region(s, name, RegionLevel.county, city_id)
    s.execute(
        insert(Unit),
        [{"county_id": county_id, "name": f"单位{n:04d}", "kind": "department", "aliases": []} for n in range(units)],
    )
    campaign = campaigns.create(
        s,
        data=CampaignCreate(
            name=f"{name}示范创建",
            framework_id=framework_id,
            county_id=county_id,
            materials_deadline=date(2023, 2, 28),
            phases=[
                PhaseBase(name="县级初审", starts_on=date(2023, 2, 1), ends_on=date(2023, 2, 28), is_submission=True)
            ],
        ),
        principal=None,
    )
    campaign.status = "launched"
    office_principal = principal_for(s, user(s, office, Role.office, county_id=county_id))
    unit_ids = s.exec(select(Unit.id).where(Unit.county_id == county_id)).all()
    item_ids = s.exec(select(Item.id).where(Item.framework_id == framework_id)).all()
    statuses = ("not_started", "submitted", "approved", "returned")
    s.execute(
        insert(Assignment),
        [
            {"campaign_id": campaign.id, "item_id": i, "unit_id": u, "role": "co", "due_on": date(2023, 2, 28),
             "status": statuses[(i + u) % 4], "created_at": now}
            for u in unit_ids
            for i in item_ids
        ],
    )  # fmt: skip
    if evidence:
        pairs = s.exec(select(Assignment.id, Assignment.unit_id).where(Assignment.campaign_id == campaign.id)).all()
        s.execute(
            insert(Evidence),
            [
                {"campaign_id": campaign.id, "unit_id": u, "assignment_id": a, "title": f"资料{k}", "status": "submitted",
                 "created_by": office_principal.user_id, "created_at": now, "updated_at": now}
                for a, u in pairs
                for k in range(evidence)
            ],
        )  # fmt: skip
    rnd = scoring.create_round(
        s, campaign_id=campaign.id, data=RoundCreate(name="县级初审"), principal=office_principal
    )  # type: ignore[arg-type]
    s.execute(
        insert(Score),
        [
            {"round_id": rnd.id, "campaign_id": campaign.id, "item_id": i, "scorer_kind": "office", "scorer_key": "office",
             "points": 0.5 + (i % 2) * 0.5, "not_applicable": False, "comment": "", "finding": "", "recorded_by": office_principal.user_id,
             "created_at": now}
            for i in item_ids
        ],
    )  # fmt: skip
    if release:
        release_round(s, round_id=rnd.id, principal=office_principal)  # type: ignore[arg-type]
    return County(county_id=county_id, campaign_id=campaign.id, round_id=rnd.id)  # type: ignore[arg-type]
