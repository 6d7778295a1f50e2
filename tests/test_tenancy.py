"""Who may read and change what: every role against own and foreign objects, through HTTP."""

from __future__ import annotations

import pytest


def _first_assignment(client, world, unit_key: str, campaign: str = "lc_campaign") -> int:
    r = client.get(
        f"/api/v1/campaigns/{world.ids[campaign]}/assignments",
        params={"unit_id": world.ids[unit_key], "limit": 1},
        headers=world.auth("sysadmin"),
    )
    assert r.status_code == 200, r.text
    return r.json()["items"][0]["id"]


READ_CAMPAIGN = [
    # (who, campaign, expected)
    ("sysadmin", "lc_campaign", 200),
    ("lc-office", "lc_campaign", 200),
    ("lc-office", "gp_campaign", 404),
    ("gp-office", "lc_campaign", 404),
    ("lc-sfj", "lc_campaign", 200),
    ("lc-sfj", "gp_campaign", 404),
    ("evaluator", "lc_campaign", 200),
    ("evaluator", "gp_campaign", 404),
    ("idle-evaluator", "lc_campaign", 404),
    ("sx-province", "lc_campaign", 200),
    ("sx-province", "gp_campaign", 200),
    ("yn-province", "lc_campaign", 404),
]


@pytest.mark.parametrize(("who", "campaign", "expected"), READ_CAMPAIGN)
def test_read_campaign(client, world, who, campaign, expected) -> None:
    r = client.get(f"/api/v1/campaigns/{world.ids[campaign]}", headers=world.auth(who))
    assert r.status_code == expected, r.text
    if expected == 404:
        assert r.json()["code"] == "campaign_not_found"


@pytest.mark.parametrize(
    ("who", "visible"),
    [
        ("sysadmin", {"lc_campaign", "gp_campaign"}),
        ("lc-office", {"lc_campaign"}),
        ("gp-sfj", {"gp_campaign"}),
        ("evaluator", {"lc_campaign"}),
        ("idle-evaluator", set()),
        ("sx-province", {"lc_campaign", "gp_campaign"}),
        ("yn-province", set()),
    ],
)
def test_list_campaigns(client, world, who, visible) -> None:
    ids = {
        c["id"] for c in client.get("/api/v1/campaigns", params={"limit": 500}, headers=world.auth(who)).json()["items"]
    }
    known = {world.ids["lc_campaign"], world.ids["gp_campaign"]}
    assert ids & known == {world.ids[k] for k in visible}


READ_ASSIGNMENT = [
    ("lc-sfj", "lc_sfj", 200),
    ("lc-sfj", "lc_gaj", 404),  # another unit of the same county
    ("lc-gaj", "lc_gaj", 200),
    ("gp-sfj", "lc_sfj", 404),  # another county
    ("lc-office", "lc_gaj", 200),
    ("gp-office", "lc_sfj", 404),
    ("evaluator", "lc_sfj", 200),
    ("idle-evaluator", "lc_sfj", 404),
    ("sx-province", "lc_sfj", 200),
    ("yn-province", "lc_sfj", 404),
]


@pytest.mark.parametrize(("who", "unit", "expected"), READ_ASSIGNMENT)
def test_read_assignment(client, world, who, unit, expected) -> None:
    assignment_id = _first_assignment(client, world, unit)
    r = client.get(f"/api/v1/assignments/{assignment_id}", headers=world.auth(who))
    assert r.status_code == expected, r.text


def test_liaison_lists_only_its_unit(client, world) -> None:
    r = client.get(
        f"/api/v1/campaigns/{world.ids['lc_campaign']}/assignments", params={"limit": 500}, headers=world.auth("lc-sfj")
    )
    units = {a["unit_id"] for a in r.json()["items"]}
    assert units == {world.ids["lc_sfj"]}
    # asking for another unit's rows yields nothing, not someone else's work
    r = client.get(
        f"/api/v1/campaigns/{world.ids['lc_campaign']}/assignments",
        params={"unit_id": world.ids["lc_gaj"]},
        headers=world.auth("lc-sfj"),
    )
    assert r.json()["total"] == 0


CHANGE = [
    # (who, expected for PATCH due date of a 陵川 assignment)
    ("lc-office", 200),
    ("gp-office", 404),
    ("lc-sfj", 403),
    ("evaluator", 403),
    ("sx-province", 403),
    ("yn-province", 404),
]


@pytest.mark.parametrize(("who", "expected"), CHANGE)
def test_change_due_date(client, world, who, expected) -> None:
    assignment_id = _first_assignment(client, world, "lc_sfj")
    r = client.patch(f"/api/v1/assignments/{assignment_id}", json={"due_on": "2023-02-20"}, headers=world.auth(who))
    assert r.status_code == expected, r.text
    client.patch(f"/api/v1/assignments/{assignment_id}", json={"due_on": None}, headers=world.auth("lc-office"))


@pytest.mark.parametrize(
    ("who", "county", "expected"),
    [
        ("lc-office", "lc_county", 201),
        ("lc-office", "gp_county", 404),
        ("lc-sfj", "lc_county", 403),
        ("sx-province", "lc_county", 403),
        ("evaluator", "lc_county", 403),
        ("sysadmin", "gp_county", 201),
    ],
)
def test_create_unit(client, world, who, county, expected) -> None:
    name = f"测试单位-{who}-{county}"
    r = client.post(
        f"/api/v1/counties/{world.ids[county]}/units",
        json={"name": name, "kind": "department"},
        headers=world.auth(who),
    )
    assert r.status_code == expected, r.text


@pytest.mark.parametrize(
    ("who", "county", "expected"),
    [
        ("lc-office", "lc_county", 200),
        ("lc-office", "gp_county", 404),
        ("lc-sfj", "lc_county", 200),
        ("gp-sfj", "lc_county", 404),
        ("sx-province", "gp_county", 200),
        ("yn-province", "lc_county", 404),
        ("evaluator", "lc_county", 200),
        ("evaluator", "gp_county", 404),
    ],
)
def test_read_units(client, world, who, county, expected) -> None:
    r = client.get(f"/api/v1/counties/{world.ids[county]}/units", headers=world.auth(who))
    assert r.status_code == expected, r.text


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("lc-office", 201),
        ("lc-sfj", 403),
        ("evaluator", 403),
        ("sx-province", 403),
    ],
)
def test_create_campaign_roles(client, world, who, expected) -> None:
    campaign = client.get(f"/api/v1/campaigns/{world.ids['lc_campaign']}", headers=world.auth("sysadmin")).json()
    body = {
        "name": "第二轮",
        "framework_id": campaign["framework_id"],
        "materials_deadline": "2024-02-28",
        "phases": [{"name": "县级初审", "starts_on": "2024-02-01", "ends_on": "2024-02-28"}],
    }
    r = client.post("/api/v1/campaigns", json=body, headers=world.auth(who))
    assert r.status_code == expected, r.text
    if expected == 201:
        assert r.json()["county_id"] == world.ids["lc_county"] and r.json()["status"] == "draft"


def test_office_launch_of_foreign_campaign_is_not_found(client, world) -> None:
    r = client.post(f"/api/v1/campaigns/{world.ids['gp_campaign']}/launch", headers=world.auth("lc-office"))
    assert r.status_code == 404


def test_office_creates_only_own_liaisons(client, world) -> None:
    body = {
        "username": "lc-new-liaison",
        "display_name": "新联络员",
        "role": "liaison",
        "unit_id": world.ids["lc_gaj"],
        "password": "Long-enough-pw1",
    }
    assert client.post("/api/v1/users", json=body, headers=world.auth("lc-office")).status_code == 201
    foreign = {**body, "username": "gp-new-liaison", "unit_id": world.ids["gp_sfj"]}
    assert client.post("/api/v1/users", json=foreign, headers=world.auth("lc-office")).status_code == 404
    office = {**body, "username": "another-office", "role": "office", "county_id": world.ids["lc_county"]}
    assert client.post("/api/v1/users", json=office, headers=world.auth("lc-office")).status_code == 403
    listed = {
        u["username"]
        for u in client.get("/api/v1/users", params={"limit": 500}, headers=world.auth("lc-office")).json()["items"]
    }
    assert "lc-new-liaison" in listed and "gp-sfj" not in listed
    assert client.get("/api/v1/users", headers=world.auth("lc-sfj")).status_code == 403


def test_regions_admin_only(client, world) -> None:
    body = {"name": "测试省", "level": "province"}
    assert client.post("/api/v1/regions", json=body, headers=world.auth("lc-office")).status_code == 403
    bad = {"name": "孤县", "level": "county", "parent_id": world.ids["yn_province"]}
    r = client.post("/api/v1/regions", json=bad, headers=world.auth("sysadmin"))
    assert r.status_code == 422 and r.json()["code"] == "region_parent_invalid"
