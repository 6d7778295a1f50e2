"""The demo county: 陵川 with its units (附件2), the seed frameworks, a launched campaign, users.

Loaded by `shifan demo` it lives today: the campaign is dated relative to the day it is loaded (materials
due three weeks ahead) and brought to life through the services, so the audit trail has it all: evidence
submitted (small real PDF and PNG files in the store), returned with a comment, approved, a few items
overdue, a scoring round with office scores, a rectification. The test world loads it as the data file
dates it (2022–23) and without activity.

May call: every domain (it is the top of the call graph); activity.py brings the campaign to life
through the services.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, select

from app.models.campaign import Campaign, CampaignCreate, PhaseBase
from app.models.region import Region, RegionCreate, RegionLevel
from app.models.unit import UnitCreate, UnitGroupCreate
from app.models.user import Role, UserCreate
from app.resources import DATA
from app.services.access import Principal, principal_for
from app.services.accounts import regions, users
from app.services.calendar import holidays
from app.services.campaign import campaigns, units
from app.services.demo import activity as demo_activity
from app.services.indicators import frameworks
from app.services.storage import ObjectStore

DEMO_PASSWORD = "shifan-demo"


def load_seed_frameworks(session: Session) -> dict[str, int]:
    """Import every data/frameworks/*.json (validated whole); code → framework id."""
    out = {}
    for path in sorted((DATA / "frameworks").glob("*.json")):
        doc = frameworks.parse(path.read_bytes())
        out[doc.code] = frameworks.import_document(session, doc=doc, principal=None).id
    return out


def _region(session: Session, name: str, level: RegionLevel, parent: Region | None) -> Region:
    data = RegionCreate(name=name, level=level, parent_id=parent.id if parent else None)
    return regions.create(session, data=data)


def _county(
    session: Session,
    *,
    name: str,
    city: Region,
    spec: dict[str, Any],
    campaign_name: str,
    fw_ids: dict[str, int],
    unit_kinds: set[str] | None = None,
) -> tuple[Region, Campaign, dict[str, int], dict[str, Any]]:
    """A county with its units and groups (of the given kinds only, when named) and a launched campaign."""
    county = _region(session, name, RegionLevel.county, city)
    assert county.id is not None
    unit_ids: dict[str, int] = {}
    for u in spec["units"]:
        if unit_kinds is None or u["kind"] in unit_kinds:
            unit = units.create_unit(session, county_id=county.id, data=UnitCreate(**u), principal=None)
            unit_ids[unit.name] = unit.id  # type: ignore[assignment]
    for g in spec["groups"]:
        members = [unit_ids[m] for m in g["members"] if m in unit_ids]
        data = UnitGroupCreate(name=g["name"], aliases=g["aliases"], member_ids=members)
        units.create_group(session, county_id=county.id, data=data, principal=None)
    c = spec["campaign"]
    campaign = campaigns.create(
        session,
        data=CampaignCreate(
            name=campaign_name,
            framework_id=fw_ids[c["framework"]],
            county_id=county.id,
            materials_deadline=date.fromisoformat(c["materials_deadline"]),
            phases=[PhaseBase.model_validate(p) for p in c["phases"]],
        ),
        principal=None,
    )
    assert campaign.id is not None
    report = campaigns.launch(session, campaign_id=campaign.id, principal=None)
    return county, campaign, unit_ids, report


# The materials deadline of a demo loaded today: a few weeks ahead, so a liaison can upload at once.
DEADLINE_AHEAD = timedelta(days=21)
_YEARS = re.compile(r"（\d{4}—\d{4}）")


def dated(spec: dict[str, Any], today: date) -> dict[str, Any]:
    """The demo spec with every campaign date moved so that materials are due DEADLINE_AHEAD after today
    (the phases keep their lengths and order), and the years in the campaign names to match."""
    c = spec["campaign"]
    shift = today + DEADLINE_AHEAD - date.fromisoformat(c["materials_deadline"])

    def moved(day: str) -> str:
        return (date.fromisoformat(day) + shift).isoformat()

    phases = [{**p, "starts_on": moved(p["starts_on"]), "ends_on": moved(p["ends_on"])} for p in c["phases"]]
    years = f"（{phases[0]['starts_on'][:4]}—{phases[-1]['ends_on'][:4]}）"
    campaign = {**c, "name": _YEARS.sub(years, c["name"]), "materials_deadline": moved(c["materials_deadline"])}
    neighbours = [{**n, "campaign_name": _YEARS.sub(years, n["campaign_name"])} for n in spec.get("neighbours", [])]
    return {**spec, "campaign": {**campaign, "phases": phases}, "neighbours": neighbours}


def load(session: Session, *, today: date | None = None, store: ObjectStore | None = None) -> dict[str, Any]:
    """Create the demo world; returns the launch report and the demo accounts. With today, the campaign is
    dated from it, and with a store too it is brought to life (see the module docstring)."""
    if session.exec(select(Region).where(Region.name == "陵川县")).first():
        return {"already_loaded": True}
    spec = json.loads((DATA / "demo" / "lingchuan.json").read_text(encoding="utf-8"))
    if today is not None:
        spec = dated(spec, today)
        for path in sorted((DATA / "calendar").glob("*.json")):
            holidays.load_file(session, path=path)
    fw_ids = load_seed_frameworks(session)
    province = _region(session, spec["province"], RegionLevel.province, None)
    city = _region(session, spec["city"], RegionLevel.city, province)
    county, campaign, unit_ids, report = _county(
        session, name=spec["county"], city=city, spec=spec, campaign_name=spec["campaign"]["name"], fw_ids=fw_ids
    )
    accounts = [
        ("sysadmin", "系统管理员", Role.system_admin, {}),  # the three administrators (三员分立, issue 23)
        ("secadmin", "安全管理员", Role.security_admin, {}),
        ("auditadmin", "安全审计员", Role.audit_admin, {}),
        ("lc-office", "陵川县委依法治县办", Role.office, {"county_id": county.id}),
        ("lc-sfj", "县司法局联络员", Role.liaison, {"unit_id": unit_ids["县司法局"]}),
        ("lc-gaj", "县公安局联络员", Role.liaison, {"unit_id": unit_ids["县公安局"]}),
        ("evaluator", "第三方评估机构（第一组）", Role.evaluator, {}),
        ("evaluator-b", "第三方评估机构（第二组）", Role.evaluator, {}),
        ("sx-province", "山西省委依法治省办", Role.province, {"region_id": province.id}),
    ]
    for n in spec.get("neighbours", []):
        other, _, _, _ = _county(
            session,
            name=n["county"],
            city=city,
            spec=spec,
            campaign_name=n["campaign_name"],
            fw_ids=fw_ids,
            unit_kinds=set(n["unit_kinds"]),
        )
        office = n["office"]
        accounts.append((office["username"], office["display_name"], Role.office, {"county_id": other.id}))
    created = []
    principals: dict[str, Principal] = {}
    for username, display, role, binding in accounts:
        user = users.create(
            session,
            data=UserCreate(username=username, display_name=display, role=role, password=DEMO_PASSWORD, **binding),
            checked=False,  # the demo's one easy password, documented; the policy holds for every other account
        )
        created.append({"username": username, "password": DEMO_PASSWORD, "role": role.value})
        if role == Role.evaluator:
            session.add(campaigns.Engagement(campaign_id=campaign.id, user_id=user.id))  # type: ignore[arg-type]
        session.flush()
        principals[username] = principal_for(session, user)
    result = {"county_id": county.id, "campaign_id": campaign.id, "launch": report, "accounts": created}
    if today is not None and store is not None:
        assert campaign.id is not None
        result["activity"] = demo_activity.bring_to_life(
            session, store=store, today=today, campaign_id=campaign.id, principals=principals
        )
    return result
