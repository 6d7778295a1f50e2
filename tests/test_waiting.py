"""Speed where people wait, kept correct: the ledger's streamed sheet is the same file an office opens (openpyxl,
LibreOffice), text anyone typed stays text, and the app loads the segmenter's dictionary while it starts, before
the first search. The timings themselves are bench/waiting.py's (BENCHMARKS.md)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from app.services.documents import sheets
from tests.office_kit import libreoffice_rows
from tests.test_spreadsheet_safety import HOSTILE

API = "/api/v1"
COLUMNS = (("名称", 20), ("序号", 8), ("日期", 12), ("意见", 30))


@pytest.mark.one_pass("a sheet written and opened, no database", where="postgresql")
def test_a_streamed_sheet_is_the_file_an_office_opens(tmp_path) -> None:
    streamed = sheets.StreamedSheet("台账", "=标题 <台账> & 附件", COLUMNS)
    rows = [
        ["县司法局", 1, date(2023, 2, 28), "请补充盖章件"],
        [HOSTILE[0], 2, None, HOSTILE[1]],
        ["第三行\r\n换行", 3.5, date(2024, 1, 1), "正常\x00文字\x1b"],
        [HOSTILE[2], 4, None, ""],
    ]
    for row in rows:
        streamed.row(row)
    raw = streamed.to_bytes()
    book = load_workbook(io.BytesIO(raw))  # not data_only: a formula would show as data_type "f"
    ws = book["台账"]
    assert ws["A1"].value == "=标题 <台账> & 附件" and ws["A1"].data_type == "s"
    assert [c.value for c in ws[2]] == [name for name, _ in COLUMNS] and ws.freeze_panes == "A3"
    assert ws.dimensions == "A1:D6"
    assert [c.value for c in ws[3]][:2] == ["县司法局", 1] and ws["C3"].value.date() == date(2023, 2, 28)
    assert ws["C3"].number_format == "yyyy-mm-dd"
    assert ws["A4"].value == HOSTILE[0] and ws["A4"].data_type == "s" and ws["A4"].quotePrefix
    assert ws["D4"].value == HOSTILE[1] and ws["D4"].quotePrefix and ws["A6"].quotePrefix
    assert ws["A5"].value == "第三行\r\n换行" and ws["B5"].value == 3.5 and ws["D5"].value == "正常文字"
    assert [c.coordinate for r in ws.iter_rows() for c in r if c.data_type == "f"] == []
    assert ws["A3"].border.left.style == "thin" and ws["A3"].alignment.wrap_text
    office = libreoffice_rows(raw, tmp_path)
    assert office[0][0] == "=标题 <台账> & 附件" and office[2][:3] == ["县司法局", "1", "2023-02-28"]
    assert office[3][0] == HOSTILE[0] and office[3][3] == HOSTILE[1]


def test_the_ledger_reads_the_same_in_openpyxl_and_libreoffice(client, world, tmp_path) -> None:
    r = client.get(f"{API}/campaigns/{world.ids['lc_campaign']}/ledger.xlsx", headers=world.auth("lc-office"))
    assert r.status_code == 200, r.text
    ws = load_workbook(io.BytesIO(r.content)).active
    listed = client.get(
        f"{API}/campaigns/{world.ids['lc_campaign']}/assignments", params={"limit": 1}, headers=world.auth("lc-office")
    ).json()
    assert ws.max_row - 2 == listed["total"] > 1000
    office = libreoffice_rows(r.content, tmp_path, "ledger")
    assert len(office) == ws.max_row
    for n in (3, 500, ws.max_row):
        assert office[n - 1][1] == str(ws.cell(row=n, column=2).value)  # the item number
        assert office[n - 1][3] == ws.cell(row=n, column=4).value  # the unit


def test_the_app_loads_the_segmenter_before_it_answers(database_url) -> None:
    from app.main import create_app
    from app.services.search import words

    words._tokenizer.cache_clear()
    words._load.cache_clear()
    with TestClient(create_app()) as client:
        assert words._load.cache_info().currsize == 1  # loaded by the start-up, not by a search
        assert client.get("/healthz").status_code == 200
        assert words.for_query("行政复议决定书") == ["行政复议", "决定书"]
        assert words._load.cache_info().misses == 1  # one load
