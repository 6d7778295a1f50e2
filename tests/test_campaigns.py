"""Launching campaigns, the assignment ledger and a liaison's to-do list, through HTTP."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from app.models import Assignment, Item
from app.services.campaign.units import Resolver
from tests.conftest import pin_today


def test_demo_launch_resolves_or_reports_every_cell(client, world, session) -> None:
    report = client.get(
        f"/api/v1/campaigns/{world.ids['lc_campaign']}/launch-report", headers=world.auth("lc-office")
    ).json()
    assert report["items"] == 104
    reported = {(u["item_key"], u["name"]) for u in report["unresolved"]}
    assert ("indicator-46", "执行单位") in reported
    assert ("indicator-53", None) in reported and ("veto-1", None) in reported
    assert ("indicator-85", "各相关单位") in reported
    # Name by name: each printed name gave its item an assignment for every unit it stands for,
    # or is in the report; an item without any name is reported as such.
    resolver = Resolver.for_county(session, county_id=world.ids["lc_county"])
    assigned: dict[int, set[int]] = {}
    for item_id, unit_id in session.exec(
        select(Assignment.item_id, Assignment.unit_id).where(Assignment.campaign_id == world.ids["lc_campaign"])
    ).all():
        assigned.setdefault(item_id, set()).add(unit_id)
    for item in session.exec(select(Item).where(Item.framework_id == _framework_id(client, world))).all():
        names = [*item.lead_units, *item.units]
        if not names:
            assert (item.key, None) in reported, item.key
        for name in names:
            unit_ids, reason = resolver.resolve(name)
            if reason:
                assert (item.key, name) in reported, (item.key, name)
            else:
                assert set(unit_ids) <= assigned.get(item.id, set()), (item.key, name)


def _framework_id(client, world) -> int:
    return client.get(f"/api/v1/campaigns/{world.ids['lc_campaign']}", headers=world.auth("sysadmin")).json()[
        "framework_id"
    ]


def test_first_listed_unit_leads(client, world) -> None:
    rows = client.get(
        f"/api/v1/campaigns/{world.ids['lc_campaign']}/assignments",
        params={"limit": 500, "section": "indicator"},
        headers=world.auth("lc-office"),
    ).json()["items"]
    item5 = {r["unit_name"]: r["role"] for r in rows if r["item_key"] == "indicator-5"}
    assert item5 == {"县行政审批局": "lead", "县市场监督管理局": "co", "县税务局": "co", "县人社局": "co"}
    item47 = [r for r in rows if r["item_key"] == "indicator-47"]
    assert {r["role"] for r in item47 if r["unit_name"] == "县委编办"} == {"lead"}
    assert len(item47) == 1 + 12 + 24  # 县委编办 + 各乡镇 (12) + 县直各行政执法单位 (24)


def test_filters(client, world) -> None:
    url = f"/api/v1/campaigns/{world.ids['lc_campaign']}/assignments"
    h = world.auth("lc-office")
    bonus = client.get(url, params={"section": "bonus", "limit": 500}, headers=h).json()
    assert bonus["total"] == 2 * (12 + 24)
    headings = client.get(
        f"/api/v1/frameworks/{_framework_id(client, world)}/headings", params={"limit": 500}, headers=h
    ).json()["items"]
    first_l1 = next(x for x in headings if x["level"] == 1)
    by_l1 = client.get(url, params={"level1_id": first_l1["id"], "limit": 500}, headers=h).json()
    assert by_l1["total"] > 0 and all(r["level1_id"] == first_l1["id"] for r in by_l1["items"])
    by_unit = client.get(url, params={"unit_id": world.ids["lc_sfj"], "limit": 500}, headers=h).json()
    assert {r["unit_name"] for r in by_unit["items"]} == {"县司法局"}
    page = client.get(url, params={"limit": 10, "offset": 10}, headers=h).json()
    assert len(page["items"]) == 10 and page["total"] > 1000
    assert client.get(url, params={"limit": 501}, headers=h).json()["code"] == "validation_failed"


def test_overdue_is_computed_from_today(client, app, world) -> None:
    url = f"/api/v1/campaigns/{world.ids['lc_campaign']}/assignments"
    h = world.auth("lc-office")
    pin_today(app, date(2023, 2, 27))
    assert client.get(url, params={"overdue": "true"}, headers=h).json()["total"] == 0
    # Open work (not started, or returned to the unit) becomes overdue the day after its due date.
    still_open = sum(
        client.get(url, params={"status": s}, headers=h).json()["total"] for s in ("not_started", "returned")
    )
    pin_today(app, date(2023, 3, 1))
    assert client.get(url, params={"overdue": "true"}, headers=h).json()["total"] == still_open
    # The workflow status stays what it is; overdue is a flag beside it.
    assert client.get(url, params={"overdue": "false", "status": "not_started"}, headers=h).json()["total"] == 0
    late = client.get(url, params={"status": "not_started", "limit": 5}, headers=h).json()
    assert late["total"] > 0 and all(r["status"] == "not_started" and r["overdue"] for r in late["items"])
    assert client.get(url, params={"status": "overdue"}, headers=h).status_code == 422  # not a status any more
    everything = client.get(url, params={"limit": 1}, headers=h).json()["total"]
    assert client.get(url, params={"due_before": "2023-03-01", "limit": 1}, headers=h).json()["total"] == everything


def test_due_override_and_reset(client, app, world) -> None:
    h = world.auth("lc-office")
    row = client.get(
        f"/api/v1/campaigns/{world.ids['lc_campaign']}/assignments",
        params={"unit_id": world.ids["lc_gaj"], "limit": 1},
        headers=h,
    ).json()["items"][0]
    assert row["due_on"] == "2023-02-28" and not row["due_overridden"]
    later = client.patch(f"/api/v1/assignments/{row['id']}", json={"due_on": "2023-03-15"}, headers=h).json()
    assert later["due_on"] == "2023-03-15" and later["due_overridden"]
    pin_today(app, date(2023, 3, 1))
    assert client.get(f"/api/v1/assignments/{row['id']}", headers=h).json()["status"] == "not_started"
    reset = client.patch(f"/api/v1/assignments/{row['id']}", json={"due_on": None}, headers=h).json()
    assert (
        reset["due_on"] == "2023-02-28"
        and not reset["due_overridden"]
        and reset["status"] == "not_started"
        and reset["overdue"]
    )


def test_my_assignments(client, app, world) -> None:
    pin_today(app, date(2023, 1, 10))
    r = client.get("/api/v1/me/assignments", params={"limit": 50}, headers=world.auth("lc-sfj"))
    assert r.status_code == 200
    body = r.json()
    assert body["total"] >= 30 and {a["unit_id"] for a in body["items"]} == {world.ids["lc_sfj"]}
    assert client.get("/api/v1/me/assignments", headers=world.auth("lc-office")).status_code == 403


def test_relaunch_after_fixing_a_group_adds_only_missing(client, world) -> None:
    h = world.auth("gp-office")
    campaign = world.ids["gp_campaign"]
    first = client.get(f"/api/v1/campaigns/{campaign}/launch-report", headers=h).json()
    assert any(u["name"] == "各乡镇" and u["reason"] == "empty_group" for u in first["unresolved_names"])
    town = client.post(
        f"/api/v1/counties/{world.ids['gp_county']}/units", json={"name": "米山镇", "kind": "township"}, headers=h
    ).json()
    groups = client.get(f"/api/v1/counties/{world.ids['gp_county']}/unit-groups", headers=h).json()["items"]
    group = next(g for g in groups if g["name"] == "各乡镇")
    r = client.patch(f"/api/v1/unit-groups/{group['id']}", json={"member_ids": [town["id"]]}, headers=h)
    assert r.status_code == 200 and r.json()["member_ids"] == [town["id"]]
    again = client.post(f"/api/v1/campaigns/{campaign}/launch", headers=h).json()
    assert again["created"] == 25  # items naming 各乡镇: 23 indicators and both bonus items
    assert again["total_assignments"] == first["total_assignments"] + again["created"]
    assert not any(u["name"] == "各乡镇" for u in again["unresolved_names"])
    third = client.post(f"/api/v1/campaigns/{campaign}/launch", headers=h).json()
    assert third["created"] == 0


def test_manual_assignment_for_unresolved_item(client, world) -> None:
    h = world.auth("lc-office")
    fw = _framework_id(client, world)
    items = client.get(f"/api/v1/frameworks/{fw}/items", params={"limit": 500}, headers=h).json()["items"]
    item53 = next(i for i in items if i["key"] == "indicator-53")
    body = {"item_id": item53["id"], "unit_id": world.ids["lc_sfj"], "role": "lead"}
    r = client.post(f"/api/v1/campaigns/{world.ids['lc_campaign']}/assignments", json=body, headers=h)
    assert r.status_code == 201 and r.json()["item_key"] == "indicator-53" and r.json()["role"] == "lead"
    again = client.post(f"/api/v1/campaigns/{world.ids['lc_campaign']}/assignments", json=body, headers=h)
    assert again.status_code == 409 and again.json()["code"] == "assignment_exists"
    foreign_unit = {**body, "unit_id": world.ids["gp_sfj"]}
    assert (
        client.post(
            f"/api/v1/campaigns/{world.ids['lc_campaign']}/assignments", json=foreign_unit, headers=h
        ).status_code
        == 404
    )


def test_phases_validated(client, world) -> None:
    body = {
        "name": "坏阶段",
        "framework_id": _framework_id(client, world),
        "materials_deadline": "2024-02-28",
        "phases": [{"name": "县级初审", "starts_on": "2024-03-01", "ends_on": "2024-02-01"}],
    }
    r = client.post("/api/v1/campaigns", json=body, headers=world.auth("lc-office"))
    assert r.status_code == 422 and r.json()["code"] == "phases_invalid"
    assert "结束日期早于开始日期" in r.json()["errors"][0]["msg"]
