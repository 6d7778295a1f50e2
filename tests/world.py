"""The shared test world, built through the same services the API calls."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from app.models import Unit
from app.models.campaign import CampaignCreate, PhaseBase
from app.models.region import RegionCreate, RegionLevel
from app.models.unit import UnitCreate, UnitGroupCreate
from app.models.user import Role, UserCreate
from app.services import demo
from app.services.accounts import regions, users
from app.services.campaign import campaigns, units


def launched_campaign(s: Session, *, county_id: int, framework_id: int, name: str) -> campaigns.Campaign:
    """A campaign with one submission phase (February 2023), launched: its assignments made."""
    phase = PhaseBase(name="县级初审", starts_on=date(2023, 2, 1), ends_on=date(2023, 2, 28), is_submission=True)
    data = CampaignCreate(
        name=name, framework_id=framework_id, county_id=county_id, materials_deadline=date(2023, 2, 28), phases=[phase]
    )
    campaign = campaigns.create(s, data=data, principal=None)
    campaigns.launch(s, campaign_id=campaign.id, principal=None)  # type: ignore[arg-type]
    return campaign


def build(s: Session) -> dict[str, int]:
    """陵川 (demo) and 高平 in 山西/晋城, 罗平 in 云南/曲靖; users of every role."""
    loaded = demo.load(s)
    ids: dict[str, int] = {"lc_county": loaded["county_id"], "lc_campaign": loaded["campaign_id"]}
    lc_units = {u.name: u.id for u in s.exec(select(Unit).where(Unit.county_id == ids["lc_county"])).all()}
    ids["lc_sfj"] = lc_units["县司法局"]
    ids["lc_gaj"] = lc_units["县公安局"]
    city = regions.get_or_raise(s, region_id=regions.get_county_or_raise(s, county_id=ids["lc_county"]).parent_id)
    ids["sx_province"] = city.parent_id  # type: ignore[assignment]
    gp = regions.create(s, data=RegionCreate(name="高平市", level=RegionLevel.county, parent_id=city.id))
    ids["gp_county"] = gp.id  # type: ignore[assignment]
    gp_sfj = units.create_unit(s, county_id=gp.id, data=UnitCreate(name="县司法局", kind="department"), principal=None)
    gp_gov = units.create_unit(
        s, county_id=gp.id, data=UnitCreate(name="县政府办公室", kind="department"), principal=None
    )
    units.create_group(s, county_id=gp.id, data=UnitGroupCreate(name="各乡镇", member_ids=[]), principal=None)
    ids["gp_sfj"] = gp_sfj.id  # type: ignore[assignment]
    ids["gp_gov"] = gp_gov.id  # type: ignore[assignment]
    fw = s.exec(select(campaigns.Campaign.framework_id).where(campaigns.Campaign.id == ids["lc_campaign"])).one()
    gp_campaign = launched_campaign(s, county_id=gp.id, framework_id=fw, name="高平市示范创建")  # type: ignore[arg-type]
    ids["gp_campaign"] = gp_campaign.id  # type: ignore[assignment]
    yn = regions.create(s, data=RegionCreate(name="云南省", level=RegionLevel.province))
    ids["yn_province"] = yn.id  # type: ignore[assignment]
    for username, role, binding in (
        ("gp-office", Role.office, {"county_id": gp.id}),
        ("gp-sfj", Role.liaison, {"unit_id": gp_sfj.id}),
        ("yn-province", Role.province, {"region_id": yn.id}),
        ("idle-evaluator", Role.evaluator, {}),
    ):
        users.create(
            s,
            data=UserCreate(
                username=username, display_name=username, role=role, password=demo.DEMO_PASSWORD, **binding
            ),
            checked=False,  # the demo's password, as for the demo's own accounts
        )
    s.flush()
    return ids
