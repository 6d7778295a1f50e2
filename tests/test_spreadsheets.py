"""Frameworks and unit lists as .xlsx: both seed frameworks survive export → import unchanged, an office's
own workbook imports whole or not at all with every bad cell named, and the files open in LibreOffice."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from app.services.indicators import framework_sheet, frameworks
from tests.office_kit import libreoffice_rows

API = "/api/v1"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SEEDS = sorted((Path(__file__).resolve().parents[1] / "data" / "frameworks").glob("*.json"))


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.stem)
def test_seed_framework_document_round_trips_through_xlsx(seed) -> None:
    doc = frameworks.parse(seed.read_bytes())
    assert framework_sheet.read(framework_sheet.write(doc)) == doc


def _tree(client, headers, framework_id: int) -> dict:
    """What a framework holds, without ids: sections, headings, items (with headings by title), materials."""
    base = f"{API}/frameworks/{framework_id}"
    headings = client.get(f"{base}/headings", params={"limit": 500}, headers=headers).json()["items"]
    title = {h["id"]: h["title"] for h in headings}
    items = client.get(f"{base}/items", params={"limit": 500}, headers=headers).json()["items"]
    for it in items:
        it["level1"], it["level2"] = title.get(it.pop("level1_id")), title.get(it.pop("level2_id"))
        it.pop("id")
    materials = client.get(f"{base}/materials", params={"limit": 500}, headers=headers).json()["items"]
    for m in materials:
        m.pop("id")
        m["item_keys"] = sorted(m["item_keys"])
    sections = [
        {k: v for k, v in s.items() if k != "id"}
        for s in client.get(f"{base}/sections", params={"limit": 500}, headers=headers).json()["items"]
    ]
    return {
        "sections": sections,
        "headings": [(h["level"], h["title"]) for h in headings],
        "items": items,
        "materials": materials,
    }


@pytest.mark.parametrize("code", ["lingchuan-2021", "luoping-yunnan"])
def test_stored_framework_exports_and_imports_as_an_identical_new_version(client, world, code) -> None:
    h = world.auth("sysadmin")
    listed = client.get(f"{API}/frameworks", params={"limit": 500}, headers=h).json()["items"]
    original = min((f for f in listed if f["code"] == code), key=lambda f: f["version"])
    r = client.get(f"{API}/frameworks/{original['id']}/export.xlsx", headers=h)
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["说明", "清单", "指标", "资料"]
    items = book["指标"]
    assert [c.value for c in items[2]][:8] == [
        "清单",
        "一级指标",
        "二级指标",
        "序号",
        "三级指标",
        "牵头单位",
        "责任单位",
        "具体资料报送",
    ]
    assert items.freeze_panes == "A3"
    # a global (admin-imported) framework: an office may not version it (issue 13.5), admin may
    refused = client.post(
        f"{API}/frameworks", files={"file": ("框架.xlsx", r.content, XLSX)}, headers=world.auth("lc-office")
    )
    assert refused.status_code == 403 and refused.json()["code"] == "framework_not_owner"
    imported = client.post(
        f"{API}/frameworks", files={"file": ("框架.xlsx", r.content, XLSX)}, headers=world.auth("sysadmin")
    )
    assert imported.status_code == 201, imported.text
    again = imported.json()
    assert again["code"] == code and again["version"] > original["version"] and again["counts"] == original["counts"]
    assert _tree(client, h, again["id"]) == _tree(client, h, original["id"])
    assert client.delete(f"{API}/frameworks/{again['id']}", headers=world.auth("sysadmin")).status_code == 204


def test_an_offices_own_workbook_fills_in_keys_names_and_materials(client, world) -> None:
    h = world.auth("lc-office")
    template = client.get(f"{API}/frameworks/template.xlsx", headers=h)
    assert template.status_code == 200
    book = load_workbook(io.BytesIO(template.content))
    meta = book["说明"]
    for row in meta.iter_rows(min_row=3):
        if row[0].value == "代码":
            row[1].value = "office-own-2024"
    del book["资料"]  # without 资料, each item's 具体资料报送 cell becomes a request of its own
    items = book["指标"]
    items.append(["indicator", "一、政府职能依法全面履行", "1. 加大简政放权力度。", 2, "推行证明事项告知承诺制。", "县司法局",
                  "县司法局、县公安局 及各乡镇", "告知承诺制清单", None, None, None])  # fmt: skip
    for row in items.iter_rows(min_row=3):  # no keys, no split names: the import fills them in
        row[8].value = row[9].value = row[10].value = None
    out = io.BytesIO()
    book.save(out)
    r = client.post(f"{API}/frameworks", files={"file": ("自编.xlsx", out.getvalue(), XLSX)}, headers=h)
    assert r.status_code == 201, r.text
    fid = r.json()["id"]
    found = {i["key"]: i for i in client.get(f"{API}/frameworks/{fid}/items", headers=h).json()["items"]}
    assert found["indicator-2"]["lead_units"] == ["县司法局"]
    assert found["indicator-2"]["units"] == ["县司法局", "县公安局", "各乡镇"]
    assert found["indicator-2"]["material_keys"] and found["veto-1"]["material_keys"] == []
    materials = client.get(f"{API}/frameworks/{fid}/materials", params={"limit": 500}, headers=h).json()["items"]
    assert {m["text"] for m in materials} == {"告知承诺制清单", "（示例）审批时限统计表"}  # one per filled cell
    assert client.delete(f"{API}/frameworks/{fid}", headers=world.auth("sysadmin")).status_code == 204


def test_a_broken_workbook_is_refused_whole_with_every_cell_named(client, world, session) -> None:
    from sqlmodel import func, select

    from app.models import Framework

    before = session.exec(select(func.count()).select_from(Framework)).one()
    book = load_workbook(io.BytesIO(framework_sheet.template()))
    items = book["指标"]
    items["D3"] = "第一"  # not a number
    items.append(["nowhere", "", "", 1, "不属于任何清单的指标", "", "", "", "", "", ""])
    book["清单"].delete_cols(3)  # 类别 column gone
    out = io.BytesIO()
    book.save(out)
    r = client.post(
        f"{API}/frameworks", files={"file": ("坏.xlsx", out.getvalue(), XLSX)}, headers=world.auth("lc-office")
    )
    assert r.status_code == 422 and r.json()["code"] == "framework_invalid"
    locs = {e["loc"] for e in r.json()["errors"]}
    assert {"指标!D3", "清单!2"} <= locs, locs
    not_excel = client.post(
        f"{API}/frameworks", files={"file": ("x.xlsx", b"PK\x03\x04garbage", XLSX)}, headers=world.auth("lc-office")
    )
    assert not_excel.status_code == 422 and "Excel" in not_excel.json()["detail"]
    assert session.exec(select(func.count()).select_from(Framework)).one() == before


def test_export_opens_in_libreoffice(client, world, tmp_path) -> None:
    h = world.auth("sysadmin")
    fid = next(
        f["id"]
        for f in client.get(f"{API}/frameworks", params={"limit": 500}, headers=h).json()["items"]
        if f["code"] == "lingchuan-2021"
    )
    r = client.get(f"{API}/frameworks/{fid}/export.xlsx", headers=h)
    rows = libreoffice_rows(r.content, tmp_path, "framework")  # the first sheet, 说明
    assert ["代码", "lingchuan-2021"] in [row[:2] for row in rows]


def test_unit_list_exports_and_imports_all_or_nothing(client, world) -> None:
    h = world.auth("gp-office")
    county = world.ids["gp_county"]
    exported = client.get(f"{API}/counties/{county}/units.xlsx", headers=h)
    assert exported.status_code == 200
    book = load_workbook(io.BytesIO(exported.content))
    ws = book["单位"]
    existing = {row[0].value for row in ws.iter_rows(min_row=3)}
    assert "县司法局" in existing
    for row in list(ws.iter_rows(min_row=3)):
        for cell in row:
            cell.value = None
    ws.append(["县财政局", "部门", "财政局"])
    ws.append(["县司法局", "部门", ""])  # already there
    ws.append(["马村镇", "乡镇", ""])
    ws.append(["某单位", "机关", ""])  # unknown kind
    out = io.BytesIO()
    book.save(out)
    r = client.post(
        f"{API}/counties/{county}/units/import", files={"file": ("单位.xlsx", out.getvalue(), XLSX)}, headers=h
    )
    assert r.status_code == 422 and r.json()["code"] == "units_invalid"
    assert any("机关" in e["msg"] for e in r.json()["errors"])
    ws.delete_rows(ws.max_row)  # drop the unknown kind; the duplicate still refuses everything
    out = io.BytesIO()
    book.save(out)
    r = client.post(
        f"{API}/counties/{county}/units/import", files={"file": ("单位.xlsx", out.getvalue(), XLSX)}, headers=h
    )
    assert r.status_code == 409 and r.json()["code"] == "unit_name_taken"
    names = {
        u["name"]
        for u in client.get(f"{API}/counties/{county}/units", params={"limit": 500}, headers=h).json()["items"]
    }
    assert "县财政局" not in names and "马村镇" not in names
    ws.delete_rows(ws.max_row - 1)  # drop 县司法局
    out = io.BytesIO()
    book.save(out)
    r = client.post(
        f"{API}/counties/{county}/units/import", files={"file": ("单位.xlsx", out.getvalue(), XLSX)}, headers=h
    )
    assert r.status_code == 201, r.text
    assert {(u["name"], u["kind"]) for u in r.json()} == {("县财政局", "department"), ("马村镇", "township")}
    other = client.post(
        f"{API}/counties/{county}/units/import",
        files={"file": ("单位.xlsx", out.getvalue(), XLSX)},
        headers=world.auth("lc-office"),
    )
    assert other.status_code == 404
