"""A county of its own for the supervision tests (督办县 under 晋城, beside 陵川): a 县司法局 with a leader in charge,
a 县公安局, their liaisons and an office, and a campaign launched on 陵川's framework whose submission runs to the end
of November 2023, so work can be handed in, returned and left late around the 2023 National Day holiday (9/29–10/6
off, Saturday 10/7 and Sunday 10/8 worked). Its lights, cards and 督办单 are its own: nothing the shared world's
tests count is touched, and it is frozen when the module ends, so later deadline scans leave it alone."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.db import get_engine
from app.models import Assignment, Campaign, Region
from app.models._base import utcnow
from app.models.campaign import CampaignCreate, PhaseBase
from app.models.region import RegionCreate, RegionLevel
from app.models.unit import UnitCreate
from app.models.user import Role, UserCreate
from app.services import demo
from app.services.accounts import regions, users
from app.services.campaign import campaigns, units
from tests.test_webhooks import Receiver

API = "/api/v1"
LEADER = "王副局长 13800000001"


@dataclass
class District:
    county_id: int
    campaign_id: int
    sfj: int
    gaj: int
    tokens: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def assignments(self, unit_id: int) -> list[int]:
        """The unit's assignment ids in the campaign, in id order."""
        with Session(get_engine()) as s:
            return list(
                s.exec(
                    select(Assignment.id)
                    .where(Assignment.campaign_id == self.campaign_id, Assignment.unit_id == unit_id)
                    .order_by(col(Assignment.id))
                ).all()
            )


def build(app, world, name: str) -> Iterator[District]:
    """Make the district, log its people in, yield it, then freeze its campaign."""
    tag = uuid.uuid4().hex[:6]
    with Session(get_engine(), expire_on_commit=False) as s:
        lc = s.get(Region, world.ids["lc_county"])
        county = regions.create(
            s, data=RegionCreate(name=f"{name}{tag}", level=RegionLevel.county, parent_id=lc.parent_id)
        )
        sfj = units.create_unit(
            s,
            county_id=county.id,
            data=UnitCreate(name="县司法局", kind="department", leader_contact=LEADER),
            principal=None,
        )
        gaj = units.create_unit(
            s, county_id=county.id, data=UnitCreate(name="县公安局", kind="department"), principal=None
        )
        framework = s.get(Campaign, world.ids["lc_campaign"]).framework_id
        phase = PhaseBase(name="实施推进", starts_on=date(2023, 1, 1), ends_on=date(2023, 11, 30), is_submission=True)
        campaign = campaigns.create(
            s,
            data=CampaignCreate(name=f"{name}示范创建", framework_id=framework, county_id=county.id,
                                materials_deadline=date(2023, 12, 31), phases=[phase]),
            principal=None,
        )  # fmt: skip
        campaigns.launch(s, campaign_id=campaign.id, principal=None)
        district = District(county_id=county.id, campaign_id=campaign.id, sfj=sfj.id, gaj=gaj.id)
        for who, role, binding, display in (
            ("office", Role.office, {"county_id": county.id}, "督办县依法治县办"),
            ("sfj", Role.liaison, {"unit_id": sfj.id}, "司法局联络员"),
            ("gaj", Role.liaison, {"unit_id": gaj.id}, "公安局联络员"),
        ):
            username = f"sv-{who}-{tag}"
            district.names[who] = display
            users.create(
                s,
                data=UserCreate(username=username, display_name=display, role=role, password=demo.DEMO_PASSWORD,
                                **binding),
                checked=False,
            )  # fmt: skip
        s.commit()
    with TestClient(app) as c:
        for who in ("office", "sfj", "gaj"):
            r = c.post(f"{API}/auth/token", data={"username": f"sv-{who}-{tag}", "password": demo.DEMO_PASSWORD})
            assert r.status_code == 200, r.text
            district.tokens[who] = r.json()["access_token"]
    yield district
    with Session(get_engine()) as s:
        found = s.get(Campaign, district.campaign_id)
        found.frozen_at = utcnow()
        s.add(found)
        s.commit()


def set_due(client, district: District, assignment_id: int, due: date) -> None:
    r = client.patch(
        f"{API}/assignments/{assignment_id}", json={"due_on": due.isoformat()}, headers=district.auth("office")
    )
    assert r.status_code == 200, r.text


def return_times(client, district: District, who: str, assignment_id: int, times: int) -> None:
    """The unit hands in a statement and the office returns it, `times` times (each a new version)."""
    r = client.post(
        f"{API}/assignments/{assignment_id}/evidence", json={"kind": "statement", "text": "情况说明 v1"},
        headers=district.auth(who),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    evidence_id = r.json()["id"]
    for version in range(1, times + 1):
        if version > 1:
            r = client.post(
                f"{API}/evidence/{evidence_id}/versions", json={"kind": "statement", "text": f"情况说明 v{version}"},
                headers=district.auth(who),
            )  # fmt: skip
            assert r.status_code == 201, r.text
        r = client.post(
            f"{API}/evidence/{evidence_id}/reviews",
            json={"decision": "return", "version": version, "comment": f"第{version}次退回：材料不全"},
            headers=district.auth("office"),
        )
        assert r.status_code == 201, r.text


def office_receiver(client, district: District, monkeypatch) -> Iterator[Receiver]:
    """The district office's signed webhook, received on loopback (the operator allows 127.0.0.1 for the test)."""
    from app.settings import get_settings

    monkeypatch.setenv("SHIFAN_WEBHOOK_ALLOW_NETWORKS", "127.0.0.1/32")
    get_settings.cache_clear()
    r = Receiver()
    created = client.post(f"{API}/webhooks", json={"url": r.url}, headers=district.auth("office"))
    assert created.status_code == 201, created.text
    r.secret = created.json()["secret"]
    yield r
    r.stop()
    monkeypatch.delenv("SHIFAN_WEBHOOK_ALLOW_NETWORKS")
    get_settings.cache_clear()
