"""A recorded version never changes (issue 13, point 1), on Ceph RGW: the presigned PUT a client still
holds cannot reach a completed upload, and a stored object that no longer matches its record is never
served — not through the API, not as a presigned link, not in the evidence package — and is audited."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import date

import httpx
import pytest
from openpyxl import load_workbook
from sqlmodel import select

from app.models import AuditEntry, EvidenceVersion, UploadIntent
from tests.conftest import pin_today, serving
from tests.evidence_kit import API, PICKER, pdf, upload


@pytest.fixture(autouse=True)
def _during_submission(app, client) -> None:
    pin_today(app, date(2023, 2, 10))


def _key(session, evidence_id: int, number: int = 1) -> str:
    session.expire_all()
    return session.exec(
        select(EvidenceVersion.object_key).where(
            EvidenceVersion.evidence_id == evidence_id, EvidenceVersion.number == number
        )
    ).one()


def _approve(client, world, evidence_id: int) -> None:
    decision = {"decision": "approve", "version": 1}
    r = client.post(f"{API}/evidence/{evidence_id}/reviews", json=decision, headers=world.auth("lc-office"))
    assert r.status_code == 201, r.text


def _package_rows(client, world, campaign_id: int) -> tuple[zipfile.ZipFile, dict[str, dict]]:
    """The evidence package of the picked assignment's campaign (the world's, or late in a run another 陵川 one's)."""
    r = client.get(f"{API}/campaigns/{campaign_id}/evidence-package.zip", headers=world.auth("lc-office"))
    assert r.status_code == 200, r.text
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    assert archive.testzip() is None
    ws = load_workbook(io.BytesIO(archive.read("index.xlsx"))).active
    header = [c.value for c in ws[2]]
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in ws.iter_rows(min_row=3)]
    return archive, {r["资料标题"]: r for r in rows}


def _integrity_audits(session, evidence_id: int) -> list[AuditEntry]:
    session.expire_all()
    return list(
        session.exec(
            select(AuditEntry)
            .where(AuditEntry.action == "evidence.integrity_failed", AuditEntry.object_id == str(evidence_id))
            .order_by(AuditEntry.seq)
        ).all()
    )


def test_the_url_a_client_still_holds_cannot_reach_a_recorded_version(client, world, session, rgw_api_store) -> None:
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    body = pdf("recorded")
    intent = client.post(
        f"{API}/assignments/{a.id}/evidence/uploads",
        json={"filename": "纪要.pdf", "size": len(body), "title": "完整-直传"},
        headers=world.auth("lc-sfj"),
    ).json()
    assert httpx.put(intent["upload_url"], content=body, headers=intent["headers"]).status_code == 200
    done = client.post(f"{API}/uploads/{intent['id']}/complete", headers=world.auth("lc-sfj"))
    assert done.status_code == 201, done.text
    evidence_id = done.json()["id"]
    staging = session.get(UploadIntent, intent["id"]).object_key
    recorded = _key(session, evidence_id)
    assert recorded != staging and recorded.startswith("ev/") and staging.startswith("up/")
    assert rgw_api_store.size_of(staging) is None  # the client's key was emptied at completion
    _approve(client, world, evidence_id)

    # The client (or whoever got the URL) sends other bytes of the same length with the URL it still holds.
    forged = pdf("RECORDED")
    assert len(forged) == len(body)
    assert httpx.put(intent["upload_url"], content=forged, headers=intent["headers"]).status_code == 200

    content = client.get(f"{API}/evidence/{evidence_id}/versions/1/content", headers=world.auth("lc-office"))
    assert content.status_code == 200 and content.content == body
    link = client.get(f"{API}/evidence/{evidence_id}/versions/1/link", headers=world.auth("evaluator"))
    assert link.status_code == 200 and httpx.get(link.json()["url"]).content == body
    archive, rows = _package_rows(client, world, a.campaign_id)
    assert archive.read(rows["完整-直传"]["包内路径"]) == body and rows["完整-直传"]["校验"] == "一致"
    assert not _integrity_audits(session, evidence_id)


def test_a_changed_object_is_never_served_and_is_audited(app, client, world, session, rgw_api_store) -> None:
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    same_size, other_size = pdf("same size"), pdf("other size")
    ids = {}
    for body, title in ((same_size, "完整-同长"), (other_size, "完整-异长")):
        r = upload(client, world.auth("lc-sfj"), a.id, body, "报告.pdf", title=title)
        assert r.status_code == 201, r.text
        ids[title] = r.json()["id"]
        _approve(client, world, ids[title])
    # Someone with access to the bucket (not through the application) replaces both objects.
    swapped = pdf("SAME SIZE")
    assert len(swapped) == len(same_size)
    for title, new in (("完整-同长", swapped), ("完整-异长", other_size + b"\n%x")):
        key = _key(session, ids[title])
        rgw_api_store.put_stream(key, io.BytesIO(new), content_type="application/pdf", max_bytes=1 << 20)

    # Another size: refused before a byte is sent or a link is signed.
    other = ids["完整-异长"]
    r = client.get(f"{API}/evidence/{other}/versions/1/content", headers=world.auth("lc-office"))
    assert r.status_code == 500 and r.json()["code"] == "integrity_error" and "校验失败" in r.json()["detail"]
    r = client.get(f"{API}/evidence/{other}/versions/1/link", headers=world.auth("evaluator"))
    assert r.status_code == 500 and r.json()["code"] == "integrity_error"
    assert [e.after["read"] for e in _integrity_audits(session, other)] == ["content", "link"]

    # The same size: the SHA-256 fails at the end of the stream, and the stream is cut before its last
    # bytes, so the client sees a broken transfer, never a complete file (on a real socket).
    same = ids["完整-同长"]
    with serving(app) as base, pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{base}{API}/evidence/{same}/versions/1/content", headers=world.auth("lc-office"))
    [entry] = _integrity_audits(session, same)
    assert entry.after == {"read": "content", "size": len(swapped), "sha256": hashlib.sha256(swapped).hexdigest()}
    assert entry.before["sha256"] == hashlib.sha256(same_size).hexdigest() and entry.username == "lc-office"

    archive, rows = _package_rows(client, world, a.campaign_id)
    assert rows["完整-异长"]["校验"] == "校验失败" and rows["完整-异长"]["包内路径"] not in archive.namelist()
    assert rows["完整-同长"]["校验"] == "校验失败"
    assert len(_integrity_audits(session, other)) == 3 and len(_integrity_audits(session, same)) == 2
