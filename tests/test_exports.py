"""The evidence package through HTTP: what goes in (approved only), where (folders per level 1 and item,
"<序号>-<单位>-<原文件名>"), web addresses and statements as files, and an index.xlsx whose checksums
match the bytes; only the county's office may export."""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import zipfile
from datetime import UTC, date, datetime

from openpyxl import load_workbook

from tests.conftest import pin_today
from tests.evidence_kit import API, PICKER, item_number, pdf, png, upload
from tests.office_kit import libreoffice_rows


def _approve(client, world, evidence_id: int) -> None:
    r = client.post(
        f"{API}/evidence/{evidence_id}/reviews",
        json={"decision": "approve", "version": 1},
        headers=world.auth("lc-office"),
    )
    assert r.status_code == 201, r.text


def _approved_statement(client, world, session, title: str):  # noqa: ANN202 - (assignment, evidence id)
    """A statement 县司法局's liaison hands in for one of its assignments, approved by the office."""
    target = PICKER.assignment(session, world.ids["lc_sfj"])
    r = client.post(
        f"{API}/assignments/{target.id}/evidence",
        json={"kind": "statement", "text": "已完成", "title": title},
        headers=world.auth("lc-sfj"),
    )
    assert r.status_code == 201, r.text
    _approve(client, world, r.json()["id"])
    return target, r.json()["id"]


def test_evidence_package_holds_the_approved_evidence_with_an_index(
    client, app, world, session, moto_api_store, tmp_path
) -> None:
    pin_today(app, date(2023, 2, 10))
    liaison = world.auth("lc-sfj")
    first, second = PICKER.assignment(session, world.ids["lc_sfj"]), PICKER.assignment(session, world.ids["lc_sfj"])
    plan_a, plan_b = pdf("plan A"), pdf("plan B")
    sent = {}
    for content, title in ((plan_a, "包-方案甲"), (plan_b, "包-方案乙")):  # the same original name twice
        r = upload(client, liaison, first.id, content, "../../实施方案.pdf", title=title)
        assert r.status_code == 201, r.text
        sent[title] = (r.json()["id"], content)
    r = client.post(
        f"{API}/assignments/{second.id}/evidence",
        json={"kind": "url", "url": "https://www.lingchuan.gov.cn/zwgk/1.html", "title": "包-网址"},
        headers=liaison,
    )
    sent["包-网址"] = (r.json()["id"], None)
    r = client.post(
        f"{API}/assignments/{second.id}/evidence",
        json={"kind": "statement", "text": "本单位无此项工作。\n特此说明。", "title": "包-说明"},
        headers=liaison,
    )
    sent["包-说明"] = (r.json()["id"], None)
    request_id, covered = PICKER.shared_material(session, world.ids["lc_sfj"])
    image = png(4, 4)
    r = upload(client, liaison, covered[0].id, image, "照片.png", title="包-共用", material_request_id=request_id)
    assert r.status_code == 201, r.text
    sent["包-共用"] = (r.json()["id"], image)
    for evidence_id, _ in sent.values():
        _approve(client, world, evidence_id)
    pending = upload(client, liaison, second.id, pdf("not yet"), "待审.pdf", title="包-待审")
    assert pending.status_code == 201

    lost = upload(client, liaison, second.id, pdf("lost"), "丢失.pdf", title="包-丢失").json()["id"]
    _approve(client, world, lost)
    from sqlmodel import select

    from app.models import EvidenceVersion

    session.expire_all()
    moto_api_store.delete(
        session.exec(select(EvidenceVersion.object_key).where(EvidenceVersion.evidence_id == lost)).one()
    )

    # the package of each campaign the pieces went to: the world's (late in a run the picker may hand out another
    # 陵川 campaign's assignments)
    mine: dict[str, dict] = {}
    packed: dict[str, bytes] = {}  # each piece's file in its package, by title
    for campaign_id in sorted({a.campaign_id for a in (first, second, *covered)}):
        r = client.get(f"{API}/campaigns/{campaign_id}/evidence-package.zip", headers=world.auth("lc-office"))
        assert r.status_code == 200, r.text
        assert (
            r.headers["content-type"] == "application/zip" and "filename*=UTF-8''" in r.headers["content-disposition"]
        )
        archive = zipfile.ZipFile(io.BytesIO(r.content))
        assert archive.testzip() is None
        saved = tmp_path / f"package-{campaign_id}.zip"  # and Info-ZIP's unzip, as an office's Linux desktop would
        saved.write_bytes(r.content)
        tested = subprocess.run(["unzip", "-tq", str(saved)], capture_output=True, text=True)
        assert tested.returncode == 0 and "No errors detected" in tested.stdout, tested.stdout + tested.stderr
        names = archive.namelist()
        assert names[-1] == "index.xlsx"
        for name in names:
            parts = name.split("/")
            assert not name.startswith("/") and ".." not in parts and all(p.strip() for p in parts)

        ws = load_workbook(io.BytesIO(archive.read("index.xlsx"))).active
        header = [c.value for c in ws[2]]
        rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in ws.iter_rows(min_row=3)]
        present = [r for r in rows if r["校验"] != "缺失"]  # a file the store has lost is listed, not packed
        assert {r["包内路径"] for r in present} == set(names) - {"index.xlsx"}  # every file listed, nothing else
        for row in present:  # the checksum in the index is the checksum of the bytes in the package
            assert hashlib.sha256(archive.read(row["包内路径"])).hexdigest() == row["SHA-256"]
            assert row["校验"] == "一致"
        assert not any("丢失" in n for n in names)
        mine |= {r["资料标题"]: r for r in rows if str(r["资料标题"]).startswith("包-")}
        packed |= {r["资料标题"]: archive.read(r["包内路径"]) for r in present if str(r["资料标题"]).startswith("包-")}
    assert mine.pop("包-丢失")["校验"] == "缺失"
    assert set(mine) == set(sent)  # approved only: 包-待审 is not in
    for title in ("包-方案甲", "包-方案乙"):
        assert packed[title] == sent[title][1]
    paths = [mine[t]["包内路径"] for t in ("包-方案甲", "包-方案乙")]  # in the order they were handed in
    label = re.fullmatch(r"(\w*?)第(\d+)项", mine["包-方案甲"]["指标"])  # 第18项, or 加分项第1项 (never a key)
    assert label, mine["包-方案甲"]["指标"]
    number = int(label.group(2))
    assert paths[0].endswith(f"/{number}-县司法局-实施方案.pdf")
    assert paths[1].endswith(f"/{number}-县司法局-实施方案 (2).pdf")
    assert paths[0].split("/")[0] == mine["包-方案甲"]["一级指标"]
    assert packed["包-网址"].decode() == "[InternetShortcut]\r\nURL=https://www.lingchuan.gov.cn/zwgk/1.html\r\n"
    statement = packed["包-说明"].decode("utf-8-sig")
    assert "本单位无此项工作。\r\n特此说明。" in statement
    assert packed["包-共用"] == image
    assert re.fullmatch(r"(\w*?第[\d、]+项，?)+", mine["包-共用"]["同时适用的指标"])  # 第27、28项

    for who, status in (("lc-sfj", 403), ("gp-office", 404), ("sx-province", 403)):
        refused = client.get(
            f"{API}/campaigns/{world.ids['lc_campaign']}/evidence-package.zip", headers=world.auth(who)
        )
        assert refused.status_code == status, (who, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"


def test_ledger_lists_every_visible_assignment_and_opens_in_libreoffice(client, app, world, session, tmp_path) -> None:
    campaign = world.ids["lc_campaign"]
    pin_today(app, date(2023, 2, 10))
    target, _ = _approved_statement(client, world, session, "台账-说明")
    listed = target.campaign_id  # the world's, or late in a run another 陵川 campaign's: the ledger its row is in
    number = item_number(session, target.item_id)
    pin_today(app, date(2023, 3, 1))
    r = client.get(f"{API}/campaigns/{listed}/ledger.xlsx", headers=world.auth("lc-office"))
    assert r.status_code == 200, r.text
    assert (
        r.headers["content-type"].startswith("application/vnd.openxmlformats")
        and "filename*=" in r.headers["content-disposition"]
    )
    book = load_workbook(io.BytesIO(r.content))
    ws = book["任务分工台账"]
    assert ws.freeze_panes == "A3" and [c.value for c in ws[2]][:3] == ["一级指标", "序号", "指标内容"]
    assert ws.column_dimensions["C"].width >= 40
    total = client.get(
        f"{API}/campaigns/{listed}/assignments", params={"limit": 1}, headers=world.auth("lc-office")
    ).json()["total"]
    assert ws.max_row - 2 == total
    overdue = client.get(
        f"{API}/campaigns/{listed}/assignments",
        params={"limit": 1, "overdue": "true"},
        headers=world.auth("lc-office"),
    ).json()["total"]
    rows = libreoffice_rows(r.content, tmp_path, "ledger")
    header = rows[1]
    body = [dict(zip(header, row, strict=False)) for row in rows[2:] if row and row[0]]
    assert len(body) == total  # LibreOffice reads every row
    assert sum(1 for row in body if row["状态"].endswith("（已逾期）")) == overdue
    assert {row["状态"] for row in body} <= {
        "未报送",
        "已报送",
        "退回补充",
        "已通过",
        "未报送（已逾期）",
        "退回补充（已逾期）",
    }
    assert all(row["截止日期"] for row in body)
    # the approved statement shows in its row: status, count and the last review
    row = next(
        row for row in body if row["序号"] == str(number) and row["责任单位"] == "县司法局" and row["状态"] == "已通过"
    )
    assert int(row["资料份数"]) >= 1 and row["最近审核"] == "通过" and row["审核日期"]

    # a liaison's ledger is its own unit's, whatever unit it asks for
    mine = client.get(f"{API}/campaigns/{campaign}/ledger.xlsx", headers=world.auth("lc-sfj"))
    other = client.get(
        f"{API}/campaigns/{campaign}/ledger.xlsx", params={"unit_id": world.ids["lc_gaj"]}, headers=world.auth("lc-sfj")
    )
    units = {row[3].value for row in load_workbook(io.BytesIO(mine.content)).active.iter_rows(min_row=3)}
    assert units == {"县司法局"}
    assert load_workbook(io.BytesIO(other.content)).active.max_row == 2  # nothing of 县公安局
    office_unit = client.get(
        f"{API}/campaigns/{campaign}/ledger.xlsx",
        params={"unit_id": world.ids["lc_gaj"]},
        headers=world.auth("lc-office"),
    )
    ws = load_workbook(io.BytesIO(office_unit.content)).active
    assert {row[3].value for row in ws.iter_rows(min_row=3)} == {"县公安局"} and "县公安局" in ws["A1"].value
    assert client.get(f"{API}/campaigns/{campaign}/ledger.xlsx", headers=world.auth("gp-office")).status_code == 404


def test_a_review_late_in_the_evening_utc_is_dated_the_counties_next_day(client, app, world, session) -> None:
    """The ledger's 审核日期 is the day in China Standard Time: a review at 17:30 UTC happened on the next day there
    (timestamps are stored and sent in UTC; only what a clerk reads as a day is the county's)."""
    from sqlalchemy import text

    pin_today(app, date(2023, 2, 10))
    target, evidence_id = _approved_statement(client, world, session, "台账-夜间审核")
    session.execute(
        text("UPDATE review SET created_at = :at WHERE evidence_id = :e"),
        {"at": datetime(2023, 2, 10, 17, 30, tzinfo=UTC), "e": evidence_id},
    )
    session.commit()
    detail = client.get(f"{API}/evidence/{evidence_id}", headers=world.auth("lc-office")).json()
    assert detail["reviews"][0]["created_at"] == "2023-02-10T17:30:00Z"  # the API's timestamp: UTC, unchanged
    book = client.get(f"{API}/campaigns/{target.campaign_id}/ledger.xlsx", headers=world.auth("lc-office"))
    ws = load_workbook(io.BytesIO(book.content))["任务分工台账"]
    header = [c.value for c in ws[2]]
    number = item_number(session, target.item_id)
    dated = [
        row[header.index("审核日期")].value
        for row in ws.iter_rows(min_row=3)
        if row[header.index("序号")].value in (number, str(number))
        and row[header.index("责任单位")].value == "县司法局"
        and row[header.index("最近审核")].value == "通过"
    ]
    assert datetime(2023, 2, 11) in dated, dated
