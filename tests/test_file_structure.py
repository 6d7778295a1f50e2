"""A file is what it says (issue 13, point 4), through HTTP: downloads carry the detected type's extension,
types are checked by structure (MP4 boxes and brand, a ZIP's central directory, a PDF opened with pypdf)
on the stored object, and user text loses control and direction-override characters at input."""

from __future__ import annotations

import io
import urllib.parse
import zipfile
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlmodel import func, select

from app.models import Evidence
from tests.conftest import pin_today
from tests.evidence_kit import API, PICKER, box, mp4, pdf, pdf_pages, png, upload
from tests.graphql_kit import gql


@pytest.fixture(autouse=True)
def _during_submission(app, client) -> None:
    pin_today(app, date(2023, 2, 10))


@pytest.fixture(scope="module")
def assignment_id(world, database_url) -> int:
    """One assignment for the many uploads of this module (the picker's supply is shared by the suite)."""
    from sqlmodel import Session

    from app import db

    with Session(db.get_engine()) as s:
        return PICKER.assignment(s, world.ids["lc_sfj"]).id


def _zip(*names: str, filler: int = 0) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        if filler:  # stored random-ish bytes first, so the central directory lies far past the first bytes
            z.writestr("media/big.bin", bytes(range(256)) * (filler // 256), compress_type=zipfile.ZIP_STORED)
        for n in names:
            z.writestr(n, "<x/>")
    return buf.getvalue()


def _count(session) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(Evidence)).one()


def test_a_file_downloads_under_its_detected_type(client, world, session) -> None:
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    image = png(3, 3)
    r = upload(client, world.auth("lc-sfj"), a.id, image, "会议纪要.pdf", title="类型-纪要")
    assert r.status_code == 201, r.text
    current = r.json()["current"]
    assert current["filename"] == "会议纪要.pdf"  # the original name stays on record
    assert current["content_type"] == "image/png" and current["download_name"] == "会议纪要.png"
    got = client.get(f"{API}/evidence/{r.json()['id']}/versions/1/content", headers=world.auth("lc-office"))
    assert got.status_code == 200 and got.content == image and got.headers["content-type"] == "image/png"
    assert urllib.parse.quote("会议纪要.png") in got.headers["content-disposition"]
    assert ".pdf" not in got.headers["content-disposition"]

    approve = {"decision": "approve", "version": 1}
    done = client.post(f"{API}/evidence/{r.json()['id']}/reviews", json=approve, headers=world.auth("lc-office"))
    assert done.status_code == 201
    pkg = client.get(  # a's campaign: the world's, or late in a run another 陵川 campaign's
        f"{API}/campaigns/{a.campaign_id}/evidence-package.zip", headers=world.auth("lc-office")
    )
    archive = zipfile.ZipFile(io.BytesIO(pkg.content))
    ws = load_workbook(io.BytesIO(archive.read("index.xlsx"))).active
    header = [c.value for c in ws[2]]
    row = next(
        dict(zip(header, (c.value for c in x), strict=True))
        for x in ws.iter_rows(min_row=3)
        if x[4].value == "类型-纪要"
    )
    assert row["包内路径"].endswith("-会议纪要.png") and row["原文件名"] == "会议纪要.pdf"
    assert archive.read(row["包内路径"]) == image


@pytest.mark.parametrize(
    ("body", "name", "code"),
    [
        (b"abcdftypisom echo 'not a video'\n" * 20, "录像.mp4", "file_structure_invalid"),  # ftyp at offset 4
        (b"\x00\x00\x00\x18ftypisom" + b"#!/bin/sh\nrm -rf /\n" * 20, "run.mp4", "file_structure_invalid"),
        (b"PK\x03\x04" + b"<script>alert(1)</script>\n" * 40, "材料.zip", "file_structure_invalid"),
        (_zip("[Content_Types].xml", "word/document.xml")[:-30], "方案.docx", "file_structure_invalid"),  # cut
        (mp4(b"qwer"), "录像.mp4", "file_structure_invalid"),  # unknown brand
        (mp4(moov=False), "录像.mp4", "file_structure_invalid"),  # never finished recording
        (mp4() + b"\x00\x00\x10\x00mdat" + bytes(10), "录像.mp4", "file_structure_invalid"),  # box past the end
        (pdf_pages(2, user_password="123456"), "加密.pdf", "pdf_encrypted"),
        (b"%PDF-1.7\n" + b"this is not a pdf body\n" * 200, "损坏.pdf", "pdf_corrupt"),
        (pdf_pages(3)[:300], "截断.pdf", "pdf_corrupt"),
        (pdf_pages(0), "空白.pdf", "pdf_no_pages"),
    ],
)
def test_structure_decides_not_a_magic_string(client, world, session, assignment_id, body, name, code) -> None:
    before = _count(session)
    r = upload(client, world.auth("lc-sfj"), assignment_id, body, name)
    assert r.status_code == 422 and r.json()["code"] == code, r.text
    assert r.json()["detail"]  # a message an office worker reads (Chinese)
    assert _count(session) == before


@pytest.mark.parametrize(
    ("body", "name", "kind_type", "pages"),
    [
        (mp4(), "录像.mp4", "video/mp4", None),
        (mp4(b"mp42") + box(b"free", bytes(16)), "录像", "video/mp4", None),
        (_zip("[Content_Types].xml", "word/document.xml"), "方案.zip", "wordprocessingml", None),
        (_zip("a.txt", "[Content_Types].xml", "xl/workbook.xml", filler=300_000), "台账.bin", "spreadsheetml", None),
        (_zip("OFD.xml", "Doc_0/Document.xml"), "公文.ofd", "application/ofd", None),
        (pdf_pages(3), "三页.pdf", "application/pdf", 3),
        (pdf_pages(2, owner_password="owner"), "仅限打印.pdf", "application/pdf", 2),  # opens without a password
    ],
)
def test_sound_files_are_accepted_and_typed_by_structure(
    client, world, assignment_id, body, name, kind_type, pages
) -> None:
    r = upload(client, world.auth("lc-sfj"), assignment_id, body, name)
    assert r.status_code == 201, r.text
    assert kind_type in r.json()["current"]["content_type"] and r.json()["current"]["page_count"] == pages


def test_page_count_is_shown_in_rest_and_graphql(client, world, assignment_id, api_store) -> None:
    """On every store (ranged reads on S3 too): a large PDF's page count and a ZIP whose directory is far in."""
    r = upload(client, world.auth("lc-sfj"), assignment_id, pdf_pages(40), "四十页.pdf")
    assert r.status_code == 201, r.text
    evidence_id = r.json()["id"]
    detail = client.get(f"{API}/evidence/{evidence_id}", headers=world.auth("lc-office")).json()
    assert detail["current"]["page_count"] == 40 and detail["versions"][0]["page_count"] == 40
    body = gql(
        client,
        world.auth("lc-office"),
        "query($id: Int!) { evidence(id: $id) { current { pageCount downloadName } versions { pageCount } } }",
        {"id": evidence_id},
    )
    assert body["data"]["evidence"]["current"] == {"pageCount": 40, "downloadName": "四十页.pdf"}
    assert body["data"]["evidence"]["versions"] == [{"pageCount": 40}]
    big = _zip("[Content_Types].xml", "word/document.xml", filler=1_500_000)
    r = upload(client, world.auth("lc-sfj"), assignment_id, big, "大方案.docx")
    assert r.status_code == 201 and r.json()["current"]["download_name"] == "大方案.docx", r.text
    cut = upload(client, world.auth("lc-sfj"), assignment_id, big[:-40], "大方案.docx")
    assert cut.json()["code"] == "file_structure_invalid"


def test_control_and_direction_characters_are_stripped_at_input(client, world, session) -> None:
    """An evidence title and a review comment with C0/C1 controls and a right-to-left override: stored clean,
    and the evidence package (index.xlsx) and the score sheet that carry them still come out whole."""
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    title = "控制\x07字符\x1b[31m\u202etxt.exe\x85标题"
    r = client.post(
        f"{API}/assignments/{a.id}/evidence",
        json={"kind": "statement", "text": "第一行\r\n第二行\x00\x0b\u2066隔离\u2069", "title": title},
        headers=world.auth("lc-sfj"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["title"] == "控制字符[31mtxt.exe标题"
    assert r.json()["current"]["text"] == "第一行\n第二行\n隔离"  # line breaks kept as \n
    review = {"decision": "approve", "version": 1, "comment": "同意\x08\u202d通过\n\x1f备注"}
    done = client.post(f"{API}/evidence/{r.json()['id']}/reviews", json=review, headers=world.auth("lc-office"))
    assert done.status_code == 201 and done.json()["reviews"][-1]["comment"] == "同意通过\n备注"
    upload_title = upload(client, world.auth("lc-sfj"), a.id, pdf(), "报\u202egpj.告\x01.pdf", title="上传\x02标题")
    assert upload_title.json()["title"] == "上传标题" and upload_title.json()["current"]["filename"] == "报gpj.告.pdf"

    pkg = client.get(  # a's campaign: the world's, or late in a run another 陵川 campaign's
        f"{API}/campaigns/{a.campaign_id}/evidence-package.zip", headers=world.auth("lc-office")
    )
    assert pkg.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(pkg.content))
    assert archive.testzip() is None
    titles = [
        row[4] for row in load_workbook(io.BytesIO(archive.read("index.xlsx"))).active.iter_rows(values_only=True)
    ]
    assert "控制字符[31mtxt.exe标题" in titles

    rnd = client.post(
        f"{API}/campaigns/{world.ids['lc_campaign']}/rounds",
        json={"name": "控制\x0c字符轮次"},
        headers=world.auth("lc-office"),
    ).json()
    campaign = client.get(f"{API}/campaigns/{world.ids['lc_campaign']}", headers=world.auth("lc-office")).json()
    items = client.get(
        f"{API}/frameworks/{campaign['framework_id']}/items", params={"limit": 5}, headers=world.auth("lc-office")
    ).json()["items"]
    score = {"item_id": items[0]["id"], "points": 0.5, "comment": "扣分\x07原因\u202e", "finding": "发现\x1b问题"}
    r = client.post(f"{API}/rounds/{rnd['id']}/scores", json={"scores": [score]}, headers=world.auth("lc-office"))
    assert r.status_code == 201, r.text
    sheet = client.get(f"{API}/rounds/{rnd['id']}/report.xlsx", headers=world.auth("lc-office"))
    assert sheet.status_code == 200
    cells = {c for row in load_workbook(io.BytesIO(sheet.content))["评分表"].iter_rows(values_only=True) for c in row}
    assert rnd["name"] == "控制字符轮次" and not any(isinstance(c, str) and "\x07" in c for c in cells)
