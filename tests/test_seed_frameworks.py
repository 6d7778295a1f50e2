"""The shipped seed frameworks are complete and faithful, and imports are whole-or-nothing."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import func, select

from app.models import Framework, Item
from app.services.errors import Invalid
from app.services.indicators import frameworks

DATA = Path(__file__).resolve().parents[1] / "data" / "frameworks"


def load(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def test_lingchuan_counts_and_merged_materials() -> None:
    doc = frameworks.validate(load("lingchuan-2021.json"))
    assert Counter(i.section for i in doc.items) == {"indicator": 100, "bonus": 2, "veto": 2}
    assert len({i.level1 for i in doc.items if i.section == "indicator"}) == 9
    by_items = {tuple(m.items): m for m in doc.materials}
    merged = by_items[("indicator-26", "indicator-27", "indicator-28", "indicator-29")]
    assert merged.text.startswith("第 26、27、28、29 项指标，请合并提供")
    assert "indicator-34" in by_items[tuple(f"indicator-{n}" for n in range(34, 47))].items
    onsite = sorted(int(i.split("-")[1]) for m in doc.materials if m.onsite_only for i in m.items)
    assert onsite == [1, 5, 18, 57, 58, 59, 64, 67, 83]
    item5 = next(i for i in doc.items if i.key == "indicator-5")
    assert item5.units == ["县行政审批服务管理局", "县市场监督管理局", "县税务局", "县人力资源和社会保障局"]
    assert any("第53、54项责任单位为空" in n for n in doc.notes)


def test_luoping_counts_and_lead_columns() -> None:
    doc = frameworks.validate(load("luoping-yunnan.json"))
    assert Counter(i.section for i in doc.items) == {"basic": 155, "quantified": 32, "extension": 35, "negative": 7}
    item14 = next(i for i in doc.items if i.key == "basic-14")
    assert item14.lead_units == ["县政务局", "县市场监管局", "县税务局", "县人社局"]
    assert item14.units == ["各有关部门", "各乡镇(街道)"]
    assert next(i for i in doc.items if i.key == "basic-41").units == ["各有关部门", "各乡镇(街道)"]
    assert all(i.level1 is None for i in doc.items if i.section != "basic")
    assert next(i for i in doc.items if i.key == "basic-25").level2 == "(四)优化法治化营商环"


def _broken() -> dict:
    doc = load("lingchuan-2021.json")
    doc["items"][1]["key"] = doc["items"][0]["key"]  # duplicate key
    doc["items"][5]["number"] = 99  # numbering gap
    doc["items"][6]["section"] = "nope"  # unknown section
    doc["materials"][0]["items"] = ["indicator-999"]  # dangling reference
    return doc


def test_validation_lists_every_problem() -> None:
    with pytest.raises(Invalid) as exc:
        frameworks.validate(_broken())
    locs = " ".join(e["loc"] for e in exc.value.errors)
    assert exc.value.code == "framework_invalid"
    assert {"items.1.key", "items.6.section", "materials.0.items"} <= set(locs.split())
    assert "sections.0" in locs  # the numbering gap, in the first section (indicator): the real path


def test_upload_rejects_broken_file_and_stores_nothing(client, world, session) -> None:
    before = session.exec(select(func.count()).select_from(Framework)).one()
    files = {"file": ("bad.json", json.dumps(_broken(), ensure_ascii=False).encode(), "application/json")}
    r = client.post("/api/v1/frameworks", files=files, headers=world.auth("lc-office"))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["code"] == "framework_invalid" and "未导入任何数据" in body["detail"]
    assert len(body["errors"]) >= 4
    assert session.exec(select(func.count()).select_from(Framework)).one() == before


def test_upload_not_json(client, world) -> None:
    files = {"file": ("x.json", b"\xff\xfe not json", "application/json")}
    r = client.post("/api/v1/frameworks", files=files, headers=world.auth("lc-office"))
    assert r.status_code == 422 and r.json()["code"] == "framework_invalid"


def test_upload_new_version_then_delete_unused_but_not_frozen(client, world, session) -> None:
    raw = (DATA / "luoping-yunnan.json").read_bytes()
    # the seed frameworks are global (imported by the system): only admin versions them (issue 13.5)
    r = client.post("/api/v1/frameworks", files={"file": ("lp.json", raw)}, headers=world.auth("lc-office"))
    assert r.status_code == 403 and r.json()["code"] == "framework_not_owner"
    r = client.post("/api/v1/frameworks", files={"file": ("lp.json", raw)}, headers=world.auth("sysadmin"))
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["code"] == "luoping-yunnan" and created["version"] >= 2
    assert created["counts"] == {"basic": 155, "quantified": 32, "extension": 35, "negative": 7}
    assert created["in_use"] is False
    items = client.get(
        f"/api/v1/frameworks/{created['id']}/items", params={"section": "negative"}, headers=world.auth("lc-sfj")
    ).json()
    assert items["total"] == 7 and items["items"][0]["text"].startswith("因违法执法")
    r = client.delete(f"/api/v1/frameworks/{created['id']}", headers=world.auth("sysadmin"))
    assert r.status_code == 204
    assert session.exec(select(func.count()).select_from(Item).where(Item.framework_id == created["id"])).one() == 0
    # the 陵川 framework is used by a campaign: frozen
    campaign = client.get(f"/api/v1/campaigns/{world.ids['lc_campaign']}", headers=world.auth("lc-office")).json()
    r = client.delete(f"/api/v1/frameworks/{campaign['framework_id']}", headers=world.auth("sysadmin"))
    assert r.status_code == 409 and r.json()["code"] == "framework_in_use"


def test_liaison_cannot_upload(client, world) -> None:
    raw = (DATA / "luoping-yunnan.json").read_bytes()
    r = client.post("/api/v1/frameworks", files={"file": ("lp.json", raw)}, headers=world.auth("lc-sfj"))
    assert r.status_code == 403 and r.json()["code"] == "forbidden"


def test_materials_endpoint_shows_merged_request(client, world) -> None:
    campaign = client.get(f"/api/v1/campaigns/{world.ids['lc_campaign']}", headers=world.auth("lc-office")).json()
    mats = client.get(
        f"/api/v1/frameworks/{campaign['framework_id']}/materials",
        params={"limit": 500},
        headers=world.auth("lc-office"),
    ).json()["items"]
    merged = [m for m in mats if m["item_keys"] == ["indicator-26", "indicator-27", "indicator-28", "indicator-29"]]
    assert len(merged) == 1 and not merged[0]["onsite_only"]
    items = client.get(
        f"/api/v1/frameworks/{campaign['framework_id']}/items", params={"limit": 500}, headers=world.auth("lc-office")
    ).json()
    by_key = {i["key"]: i for i in items["items"]}
    assert by_key["indicator-27"]["material_keys"] == [merged[0]["key"]]
    assert items["total"] == 104
