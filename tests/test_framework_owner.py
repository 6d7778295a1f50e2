"""One county cannot touch another's: a framework belongs to the county whose office imported it (admin
imports are global); only that office or admin deletes it or imports a new version of its code; every
framework and region change is audited."""

from __future__ import annotations

import uuid

from tests.evidence_kit import API
from tests.test_security import own_framework


def _import(client, world, who: str, code: str):
    files = {"file": (f"{code}.json", own_framework(code), "application/json")}
    return client.post(f"{API}/frameworks", files=files, headers=world.auth(who))


def _trail(client, world, who: str, **params) -> list[dict]:
    return client.get(f"{API}/audit", params={"limit": 50, **params}, headers=world.auth(who)).json()["items"]


def test_an_offices_framework_is_its_countys(client, world) -> None:
    code = f"lc-{uuid.uuid4().hex[:8]}"
    first = _import(client, world, "lc-office", code)
    assert first.status_code == 201, first.text
    fw = first.json()
    assert fw["owner_county_id"] == world.ids["lc_county"] and fw["version"] == 1
    # every account may read it (frameworks are published reference texts)
    for who in ("gp-office", "yn-province", "idle-evaluator", "gp-sfj"):
        assert client.get(f"{API}/frameworks/{fw['id']}", headers=world.auth(who)).status_code == 200, who

    # another county's office can neither version nor delete it; nothing is written
    taken = _import(client, world, "gp-office", code)
    assert taken.status_code == 403 and taken.json()["code"] == "framework_not_owner"
    gone = client.delete(f"{API}/frameworks/{fw['id']}", headers=world.auth("gp-office"))
    assert gone.status_code == 403 and gone.json()["code"] == "framework_not_owner"
    listed = client.get(f"{API}/frameworks?limit=500", headers=world.auth("sysadmin")).json()["items"]
    versions = [f for f in listed if f["code"] == code]
    assert [f["version"] for f in versions] == [1]

    # the owner versions it (the county keeps it), admin too; the owner deletes its own version
    second = _import(client, world, "lc-office", code)
    assert second.status_code == 201 and second.json()["owner_county_id"] == world.ids["lc_county"]
    third = _import(client, world, "sysadmin", code)
    assert third.status_code == 201 and third.json()["version"] == 3
    assert client.delete(f"{API}/frameworks/{second.json()['id']}", headers=world.auth("lc-office")).status_code == 204
    assert client.delete(f"{API}/frameworks/{third.json()['id']}", headers=world.auth("sysadmin")).status_code == 204

    trail = _trail(client, world, "lc-office", object_type="framework")
    mine = [e for e in trail if (e["after"] or e["before"] or {}).get("code") == code]
    assert [e["action"] for e in mine] == ["framework.delete"] * 2 + ["framework.import"] * 3
    assert all(e["county_id"] == world.ids["lc_county"] for e in mine)
    assert {e["username"] for e in mine} == {"lc-office", "sysadmin"}
    assert not [e for e in _trail(client, world, "gp-office", object_type="framework")
                if (e["after"] or e["before"] or {}).get("code") == code]  # fmt: skip


def test_admin_frameworks_are_global_and_only_admin_changes_them(client, world) -> None:
    code = f"global-{uuid.uuid4().hex[:8]}"
    fw = _import(client, world, "sysadmin", code).json()
    assert fw["owner_county_id"] is None
    for who in ("lc-office", "gp-office"):
        r = _import(client, world, who, code)
        assert r.status_code == 403 and r.json()["code"] == "framework_not_owner", who
        r = client.delete(f"{API}/frameworks/{fw['id']}", headers=world.auth(who))
        assert r.status_code == 403, who
    for who in ("lc-sfj", "evaluator", "sx-province"):  # roles that import nothing at all
        assert _import(client, world, who, f"x-{code}").status_code == 403, who
    assert client.delete(f"{API}/frameworks/{fw['id']}", headers=world.auth("sysadmin")).status_code == 204
    entries = [  # by code: SQLite may hand a deleted framework's id to a new one
        e
        for e in _trail(client, world, "auditadmin", object_type="framework", object_id=str(fw["id"]))
        if (e["after"] or e["before"])["code"] == code
    ]
    assert [e["action"] for e in entries] == ["framework.delete", "framework.import"]
    assert all(e["county_id"] is None for e in entries)


def test_region_changes_are_admins_and_audited(client, world) -> None:
    admin = world.auth("sysadmin")
    made = client.post(f"{API}/regions", json={"name": "测试县", "level": "county", "parent_id": None}, headers=admin)
    assert made.status_code == 422  # a county needs its city
    regions = client.get(f"{API}/regions?limit=500", headers=admin).json()["items"]
    city = next(r for r in regions if r["level"] == "city")
    made = client.post(
        f"{API}/regions", json={"name": "测试县", "level": "county", "parent_id": city["id"]}, headers=admin
    )
    assert made.status_code == 201, made.text
    county = made.json()["id"]
    for who in ("lc-office", "sx-province", "lc-sfj", "evaluator"):
        r = client.patch(f"{API}/regions/{county}", json={"name": "越权县"}, headers=world.auth(who))
        assert r.status_code == 403, who
    renamed = client.patch(f"{API}/regions/{county}", json={"name": "测试二县"}, headers=admin)
    assert renamed.status_code == 200 and renamed.json()["name"] == "测试二县"
    assert client.patch(f"{API}/regions/987654321", json={"name": "无"}, headers=admin).status_code == 404
    assert client.patch(f"{API}/regions/{county}", json={"name": ""}, headers=admin).status_code == 422
    entries = _trail(client, world, "auditadmin", object_type="region", object_id=str(county))
    assert [e["action"] for e in entries] == ["region.update", "region.create"]
    assert entries[0]["before"]["name"] == "测试县" and entries[0]["after"]["name"] == "测试二县"
    assert all(e["county_id"] == county and e["username"] == "sysadmin" for e in entries)
