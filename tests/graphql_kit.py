"""Helpers for the GraphQL tests: run an operation through HTTP with a real token, build extra counties."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from app.models import Item, User
from app.models.region import RegionCreate, RegionLevel
from app.models.scoring import RoundCreate, ScoreBatch, ScoreCreate
from app.models.unit import UnitCreate
from app.models.user import Role, UserCreate
from app.services import demo
from app.services.access import principal_for
from app.services.accounts import regions, users
from app.services.assessment import release, scoring
from app.services.campaign import units
from tests.world import launched_campaign

OVERVIEW = """
query Overview($first: Int) {
  counties(first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id name level
      campaigns {
        id name status
        currentPhase { name }
        progress { total notStarted submitted returned approved overdue submittedPct approvedPct }
        lights { blue yellow red }
        score { roundId total percent bonusPoints vetoed verdict level1 { key title points max } }
      }
    } }
  }
}
"""


def gql(client, headers: dict[str, str] | None, query: str, variables: dict[str, Any] | None = None) -> dict:
    """POST an operation; the parsed body (data and errors)."""
    r = client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {})
    assert r.status_code == 200, r.text
    return r.json()


def codes(body: dict) -> list[str]:
    """The extension codes of a response's errors."""
    return [e["extensions"]["code"] for e in body.get("errors") or []]


def add_province(session: Session, name: str) -> tuple[int, int, str]:
    """A province with one city and a province account; (province id, city id, username)."""
    province = regions.create(session, data=RegionCreate(name=name, level=RegionLevel.province))
    city = regions.create(session, data=RegionCreate(name=f"{name}一市", level=RegionLevel.city, parent_id=province.id))
    username = f"p-{province.id}"
    users.create(
        session,
        data=UserCreate(
            username=username,
            display_name=name,
            role=Role.province,
            password=demo.DEMO_PASSWORD,
            region_id=province.id,
        ),
        checked=False,  # the demo's password, as for the demo's own accounts
    )
    return province.id, city.id, username  # type: ignore[return-value]


def add_scored_county(session: Session, *, city_id: int, name: str, framework_id: int, unit_names: list[str]) -> int:
    """A county with units, a launched campaign on framework_id and a released office round; its campaign id."""
    county = regions.create(session, data=RegionCreate(name=name, level=RegionLevel.county, parent_id=city_id))
    for unit in unit_names:
        units.create_unit(session, county_id=county.id, data=UnitCreate(name=unit, kind="department"), principal=None)  # type: ignore[arg-type]
    campaign = launched_campaign(session, county_id=county.id, framework_id=framework_id, name=f"{name}示范创建")  # type: ignore[arg-type]
    admin = principal_for(session, session.exec(select(User).where(User.username == "sysadmin")).one())
    row = scoring.create_round(session, campaign_id=campaign.id, data=RoundCreate(name="初审"), principal=admin)  # type: ignore[arg-type]
    items = session.exec(select(Item).where(Item.framework_id == framework_id).order_by(Item.position)).all()
    standard = [i for i in items if i.key.startswith("indicator-")][: 5 + len(name) % 5]
    batch = ScoreBatch(scores=[ScoreCreate(item_id=i.id, points=1.0) for i in standard])  # type: ignore[arg-type]
    scoring.record(session, round_id=row.id, batch=batch, principal=admin)  # type: ignore[arg-type]
    release.release(session, round_id=row.id, principal=admin)  # type: ignore[arg-type]
    return campaign.id  # type: ignore[return-value]
