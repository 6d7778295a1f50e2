"""Upload fields as browsers send them: FormData text parts before or after the file, or query
parameters; refused fields leave nothing behind."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from sqlmodel import func, select

from app.api import deps
from app.models import Evidence
from app.services.storage import LocalStore
from tests.conftest import pin_today, serving, use_store
from tests.evidence_kit import API, PICKER, pdf

BOUNDARY = "----shifanFormBoundary7MA4YWxkTrZu0gW"


@pytest.fixture(autouse=True)
def _during_submission(app, client) -> None:
    pin_today(app, date(2023, 2, 10))


@pytest.fixture
def store(app, tmp_path):
    local = LocalStore(tmp_path / "objects")
    local.ensure_ready()
    use_store(app, local)
    yield local
    app.dependency_overrides.pop(deps._store, None)


def form_body(parts: list[tuple[str, str | bytes, str | None]]) -> tuple[bytes, dict[str, str]]:
    """A multipart/form-data body with parts in the given order: (name, value, filename or None)."""
    out = bytearray()
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename:
            out += b"Content-Type: application/octet-stream\r\n"
        out += b"\r\n" + (value if isinstance(value, bytes) else value.encode()) + b"\r\n"
    out += f"--{BOUNDARY}--\r\n".encode()
    return bytes(out), {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def _count(session) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(Evidence)).one()


def test_title_and_material_as_form_fields_before_the_file(client, world, session, store) -> None:
    material_id, covered = PICKER.shared_material(session, world.ids["lc_sfj"])
    h = world.auth("lc-sfj")
    # What httpx and browser FormData send: the text fields, then the file.
    r = client.post(
        f"{API}/assignments/{covered[0].id}/evidence/file",
        data={"title": "2022年度法治政府建设报告", "material_request_id": str(material_id)},
        files={"file": ("报告.pdf", pdf(), "application/pdf")},
        headers=h,
    )
    assert r.status_code == 201, r.text
    assert r.json()["title"] == "2022年度法治政府建设报告"
    assert r.json()["material_request_id"] == material_id and r.json()["assignment_id"] is None


def test_title_after_the_file_and_on_a_new_version(client, world, session, store) -> None:
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    h = world.auth("lc-sfj")
    body, ctype = form_body([("file", pdf("first"), "初稿.pdf"), ("title", "会议纪要（初稿）", None)])
    r = client.post(f"{API}/assignments/{a.id}/evidence/file", content=body, headers={**h, **ctype})
    assert r.status_code == 201, r.text
    assert r.json()["title"] == "会议纪要（初稿）"
    body, ctype = form_body([("title", "会议纪要（定稿）", None), ("file", pdf("second"), "定稿.pdf")])
    r = client.post(f"{API}/evidence/{r.json()['id']}/versions/file", content=body, headers={**h, **ctype})
    assert r.status_code == 201, r.text
    assert r.json()["title"] == "会议纪要（定稿）" and r.json()["current"]["number"] == 2
    # the query parameter still works, and agreeing values in both places are fine
    r = client.post(
        f"{API}/evidence/{r.json()['id']}/versions/file",
        params={"title": "会议纪要（签发稿）"},
        data={"title": "会议纪要（签发稿）"},
        files={"file": ("签发稿.pdf", pdf("third"), "application/pdf")},
        headers=h,
    )
    assert r.status_code == 201 and r.json()["title"] == "会议纪要（签发稿）"


def test_broken_fields_are_refused_in_chinese_and_leave_nothing(client, world, session, store) -> None:
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    h = world.auth("lc-sfj")
    url = f"{API}/assignments/{a.id}/evidence/file"
    before = _count(session)
    cases = [
        ([("material_request_id", "abc", None), ("file", pdf(), "a.pdf")], "body.material_request_id", "整数"),
        ([("file", pdf(), "a.pdf"), ("material_request_id", "1.5", None)], "body.material_request_id", "整数"),
        ([("file", pdf(), "a.pdf"), ("title", "长" * 201, None)], "body.title", "200"),
        ([("title", "甲", None), ("title", "乙", None), ("file", pdf(), "a.pdf")], None, "不止一次"),
        ([("file", pdf(), "a.pdf"), ("title", "x" * 20_000, None)], None, "KB"),
    ]
    for parts, loc, words in cases:
        body, ctype = form_body(parts)
        r = client.post(url, content=body, headers={**h, **ctype})
        assert r.status_code == 422, r.text
        problem = r.json()
        if loc:
            assert problem["code"] == "validation_failed" and problem["errors"][0]["loc"] == loc
            assert words in problem["errors"][0]["msg"]
        else:
            assert problem["code"] in ("form_field_invalid", "form_field_too_large") and words in problem["detail"]
    files = {"file": ("a.pdf", pdf(), "application/pdf")}
    r = client.post(url, params={"title": "甲"}, data={"title": "乙"}, files=files, headers=h)
    assert r.status_code == 422 and "不一致" in r.json()["errors"][0]["msg"]
    # Nothing recorded, and the files received before a field after them was refused are gone too.
    assert _count(session) == before and list(store.keys("ev/")) == []


def test_fields_do_not_open_other_doors(client, world, session, store) -> None:
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    files = {"file": ("a.pdf", pdf(), "application/pdf")}
    url = f"{API}/assignments/{a.id}/evidence/file"
    office = client.post(url, data={"title": "代交"}, files=files, headers=world.auth("lc-office"))
    assert office.status_code == 403
    other_county = client.post(url, data={"title": "跨县"}, files=files, headers=world.auth("gp-sfj"))
    assert other_county.status_code in (403, 404)
    assert list(store.keys("ev/")) == []


def test_a_field_after_a_large_file_sent_in_pieces(app, world, session, store) -> None:
    """Over a real socket the body arrives in many reads: the title after 3 MiB of file still counts."""
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    big = pdf("large") + b"%" * (3 * 1024 * 1024)  # a PDF with a long trailing comment: several hand-overs
    body, ctype = form_body([("file", big, "扫描件.pdf"), ("title", "扫描件（全本）", None)])
    pieces = (body[i : i + 64 * 1024] for i in range(0, len(body), 64 * 1024))
    pin_today(app, date(2023, 2, 10))
    with serving(app) as base:
        url = f"{base}{API}/assignments/{a.id}/evidence/file"
        r = httpx.post(url, content=pieces, headers={**world.auth("lc-sfj"), **ctype}, timeout=60)
    assert r.status_code == 201, r.text
    assert r.json()["title"] == "扫描件（全本）" and r.json()["current"]["size"] == len(big)
