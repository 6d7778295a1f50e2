"""Documents without raw keys: everything a person reads — the deadline calendar (.ics), chat-robot and webhook
messages, every .xlsx export, the evidence package (its paths and index.xlsx) and the Word documents — names an
item 第18项 (加分项第1项 outside the framework's first list) and a list by its name, never by the framework's keys
(indicator-18, bonus-1, veto-2) or list codes (indicator). The keys and codes are those of the loaded framework.
The framework workbook is the one exception, and only in the columns that are its keys by design (编号, 清单,
对应指标, 印于, 代码): the office edits it and imports it back."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import date

import pytest
from icalendar import Calendar
from openpyxl import load_workbook

from app.db import session_scope
from app.services.notifications import events
from tests.conftest import pin_today
from tests.evidence_kit import API, pdf, upload
from tests.report_kit import new_campaign
from tests.test_webhook_receivers import ChatRobot
from tests.test_webhooks import Receiver, _deliver, _drain, allow_loopback  # noqa: F401

pytestmark = pytest.mark.usefixtures("retire_webhooks", "allow_loopback")

# The framework workbook's own key columns: item keys, list codes and kinds (bonus, veto), and its scoring
# configuration (JSON keyed by item key). The office's import reads them back.
KEY_COLUMNS = {
    ("清单", "类别"),
    ("指标", "编号"),
    ("指标", "清单"),
    ("资料", "对应指标"),
    ("资料", "印于"),
    ("清单", "代码"),
    ("说明", "内容"),
}


def _forbidden(client, office, framework_id: int) -> re.Pattern[str]:
    """Every item key and list code of the loaded framework, and the key prefixes, as whole tokens."""
    items = client.get(f"{API}/frameworks/{framework_id}/items", params={"limit": 500}, headers=office).json()
    codes = client.get(f"{API}/frameworks/{framework_id}/sections", headers=office).json()["items"]
    tokens = {it["key"] for it in items["items"]} | {s["code"] for s in codes}
    assert len(tokens) > 100 and {"indicator", "bonus", "veto"} <= tokens
    words = "|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True))
    # ASCII boundaries: a key glued to Chinese text (三级指标indicator) is still found.
    return re.compile(rf"(?<![A-Za-z0-9_-])(?:{words}|(?:indicator|bonus|veto)-\d+)(?![A-Za-z0-9_])")


def _zip_text(raw: bytes) -> str:
    """Every member's name and, for XML and text members, its text (a .docx, an .xlsx, the evidence package)."""
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        parts = archive.namelist()
        for name in archive.namelist():
            if name.endswith((".xml", ".rels", ".txt", ".url")):
                parts.append(archive.read(name).decode("utf-8", errors="replace"))
    return "\n".join(parts)


def _cells(raw: bytes) -> list[tuple[str, str, str]]:
    """(sheet, column header, text) of every non-empty cell of an .xlsx (headers on row 2, as ours write them)."""
    wb = load_workbook(io.BytesIO(raw))
    out = []
    for ws in wb.worksheets:
        header = [str(c.value or "") for c in ws[2]] if ws.max_row >= 2 else []
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is not None:
                    name = header[cell.column - 1] if cell.row > 2 and cell.column <= len(header) else ""
                    out.append((ws.title, name, str(cell.value)))
    return out


def _get(client, path: str, headers, **params) -> bytes:
    r = client.get(f"{API}{path}", params=params, headers=headers)
    assert r.status_code == 200, (path, r.text)
    return r.content


def test_every_document_names_items_not_keys(client, app, world) -> None:
    pin_today(app, date(2023, 2, 10))
    office, liaison = world.auth("lc-office"), world.auth("lc-sfj")
    campaign = new_campaign(client, world, "文件用语检查")
    cid, fw = campaign["id"], campaign["framework_id"]
    forbidden = _forbidden(client, office, fw)
    items = client.get(f"{API}/frameworks/{fw}/items", params={"limit": 500}, headers=office).json()["items"]
    sections = client.get(f"{API}/frameworks/{fw}/sections", headers=office).json()["items"]
    names = {s["code"]: ("" if n == 0 else s["name"]) for n, s in enumerate(sections)}  # the first list goes unnamed
    for it in items:
        it["label"] = f"{names[it['section']]}第{it['number']}项"
    materials = client.get(f"{API}/frameworks/{fw}/materials", params={"limit": 500}, headers=office).json()["items"]

    _drain()
    robot, receiver = ChatRobot("wecom"), Receiver()
    hooks = [
        client.post(f"{API}/webhooks", json={"url": robot.url, "kind": "wecom"}, headers=office).json(),
        client.post(f"{API}/webhooks", json={"url": receiver.url}, headers=office).json(),
    ]
    assert all("id" in h for h in hooks), hooks
    try:
        mine = client.get(
            f"{API}/campaigns/{cid}/assignments", params={"unit_id": world.ids["lc_sfj"], "limit": 500}, headers=office
        ).json()["items"]
        by_item = {a["item_id"]: a for a in mine}
        # A file for one item (approved), one for a material request covering several (approved), one returned.
        shared = next(m for m in materials if sum(1 for k in m["item_keys"] if _item(items, k)["id"] in by_item) >= 2)
        covered = [by_item[_item(items, k)["id"]] for k in shared["item_keys"] if _item(items, k)["id"] in by_item]
        single = next(a for a in mine if a["id"] not in {c["id"] for c in covered})
        returned = next(a for a in mine if a["id"] not in {c["id"] for c in covered} | {single["id"]})
        sent = [
            upload(client, liaison, single["id"], pdf("one"), "方案.pdf", title="单项材料"),
            upload(
                client, liaison, covered[0]["id"], pdf("shared"), "台账.pdf", title="共用材料",
                material_request_id=shared["id"],
            ),
            upload(client, liaison, returned["id"], pdf("back"), "制度.pdf", title="退回材料"),
        ]  # fmt: skip
        assert all(r.status_code == 201 for r in sent), [r.text for r in sent]
        for r, decision in zip(sent, ("approve", "approve", "return"), strict=True):
            body = {"decision": decision, "version": 1, "comment": "请补充盖章页" if decision == "return" else ""}
            assert client.post(f"{API}/evidence/{r.json()['id']}/reviews", json=body, headers=office).status_code == 201
        rnd = client.post(f"{API}/campaigns/{cid}/rounds", json={"name": "用语检查"}, headers=office).json()
        scores = [
            {"item_id": it["id"], "vetoed": False} if it["section"] == "veto" else {"item_id": it["id"], "points": 1}
            for it in items
        ]
        assert (
            client.post(f"{API}/rounds/{rnd['id']}/scores", json={"scores": scores}, headers=office).status_code == 201
        )
        assert client.post(f"{API}/rounds/{rnd['id']}/release", headers=office).status_code == 200
        # The worker's deadline reminders, as scan_deadlines writes them (emitted here without their dedupe keys,
        # which tests/test_webhooks.py counts on).
        with session_scope() as s:
            for kind in (events.EventKind.due_soon, events.EventKind.overdue):
                data = {"unit_id": world.ids["lc_sfj"], "unit_name": "县司法局", "due_on": "2023-02-28", "count": 2,
                        "assignment_ids": [single["id"], returned["id"]], "workdays_left": 2}  # fmt: skip
                events.emit(s, kind=kind, county_id=world.ids["lc_county"], campaign_id=cid, data=data)
        while _deliver()["claimed"]:
            pass
    finally:
        for h in hooks:
            client.delete(f"{API}/webhooks/{h['id']}", headers=office)
        robot.stop()
        receiver.stop()

    documents: dict[str, str] = {}
    # Chat robots and standard webhooks: every message of this campaign.
    texts = [m["markdown"]["content"] for m in robot.messages]
    assert len(texts) >= 6 and set(robot.answers) == {0}, texts
    documents["robot"] = "\n".join(texts)
    documents["webhook"] = "\n".join(r["body"].decode() for r in receiver.requests)
    assert {json.loads(r["body"])["type"] for r in receiver.requests} >= {
        "evidence.approved", "evidence.returned", "scores.released", "assignment.due_soon", "assignment.overdue",
    }  # fmt: skip
    label = _label(items, single["item_id"])
    assert f"县司法局 {label} 资料已审核通过" in documents["robot"]
    assert f"县司法局 {_label(items, returned['item_id'])} 资料被退回补充：请补充盖章页" in documents["robot"]
    numbers = "、".join(str(_by_id(items, c["item_id"])["number"]) for c in covered)
    assert f"第{numbers}项 资料已审核通过" in documents["robot"]

    # The deadline calendar of 县司法局.
    link = client.get(f"{API}/calendar/units/{world.ids['lc_sfj']}/link", headers=liaison).json()["url"]
    feed = client.get(link)
    assert feed.status_code == 200
    documents["ics"] = feed.text
    summaries = [str(e["SUMMARY"]) for e in Calendar.from_ical(feed.content).walk("VEVENT")]
    assert f"【截止】{_label(items, returned['item_id'])} " in "\n".join(summaries)
    assert all(re.match(r"【截止】(\w+)?第\d+项 ", s) for s in summaries), summaries[:3]

    # Every .xlsx export and the Word documents.
    spreadsheets = {
        "ledger": _get(client, f"/campaigns/{cid}/ledger.xlsx", office),
        "unit ledger": _get(client, f"/campaigns/{cid}/ledger.xlsx", liaison),
        "units": _get(client, f"/counties/{world.ids['lc_county']}/units.xlsx", office),
        "score sheet": _get(client, f"/rounds/{rnd['id']}/report.xlsx", office),
    }
    package = _get(client, f"/campaigns/{cid}/evidence-package.zip", office)
    spreadsheets["package index"] = zipfile.ZipFile(io.BytesIO(package)).read("index.xlsx")
    for name, raw in spreadsheets.items():
        documents[name] = _zip_text(raw)
    documents["package"] = _zip_text(package)
    documents["report"] = _zip_text(_get(client, f"/campaigns/{cid}/self-assessment.docx", office))
    documents["report template"] = _zip_text(_get(client, f"/campaigns/{cid}/self-assessment-template.docx", office))
    for name, text in documents.items():
        assert not forbidden.search(text), (name, forbidden.search(text).group(0), text[:200])

    # What the people read instead: 第N项 and the lists' names.
    index = {
        row[4]: dict(zip(_header(spreadsheets["package index"]), row, strict=True))
        for row in _rows(spreadsheets["package index"])
    }
    assert index["单项材料"]["指标"] == label
    assert index["共用材料"]["同时适用的指标"] == "第" + "、".join(numbers.split("、")[1:]) + "项"
    sheet = _cells(spreadsheets["score sheet"])
    assert {"否决项", "加分项"} <= {text for _, header, text in sheet if header == "一级指标"}

    # The framework workbook carries keys only in its key columns, which the office's import reads back.
    for path in (f"/frameworks/{fw}/export.xlsx", "/frameworks/template.xlsx"):
        keyed = {
            (sheet, header) for sheet, header, text in _cells(_get(client, path, office)) if forbidden.search(text)
        }
        assert ("指标", "编号") in keyed and keyed <= KEY_COLUMNS, keyed - KEY_COLUMNS


def _item(items: list[dict], key: str) -> dict:
    return next(it for it in items if it["key"] == key)


def _by_id(items: list[dict], item_id: int) -> dict:
    return next(it for it in items if it["id"] == item_id)


def _label(items: list[dict], item_id: int) -> str:
    return _by_id(items, item_id)["label"]


def _header(raw: bytes) -> list[str]:
    return [str(c.value) for c in load_workbook(io.BytesIO(raw)).active[2]]


def _rows(raw: bytes) -> list[tuple]:
    return list(load_workbook(io.BytesIO(raw)).active.iter_rows(min_row=3, values_only=True))
