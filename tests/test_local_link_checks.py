"""The API's own signed links (the local folder store) keep the promises of every other read and of a presigned
PUT (issue 23, point 8): a download link never serves bytes that differ from the record, and is audited like
/content; an upload link takes no more than the size the intent declared, and keeps nothing of a refused body.
Through HTTP with real tokens, on a real socket where a cut transfer is what the client must see."""

from __future__ import annotations

import hashlib
import io
import tempfile
import urllib.parse
import zipfile
from datetime import date
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from sqlmodel import select

from app.api import deps
from app.models import AuditEntry, EvidenceVersion, UploadIntent
from app.services.storage import LocalStore
from tests.conftest import pin_today, serving, use_store
from tests.evidence_kit import API, PICKER, pdf, upload


@pytest.fixture
def folder(app, client):
    """The API on a local folder store of its own (the zero-setup default, which cannot presign)."""
    pin_today(app, date(2023, 2, 10))
    store = LocalStore(Path(tempfile.mkdtemp(prefix="shifan-links-")))
    store.ensure_ready()
    use_store(app, store)
    yield store
    app.dependency_overrides.pop(deps._store, None)


def _version(session, evidence_id: int) -> EvidenceVersion:
    session.expire_all()
    return session.exec(select(EvidenceVersion).where(EvidenceVersion.evidence_id == evidence_id)).one()


def _audits(session, evidence_id: int) -> list[str]:
    session.expire_all()
    rows = session.exec(
        select(AuditEntry)
        .where(AuditEntry.action == "evidence.integrity_failed", AuditEntry.object_id == str(evidence_id))
        .order_by(AuditEntry.seq)
    ).all()
    return [r.after["read"] for r in rows]


def _submit(client, world, assignment_id: int, body: bytes, title: str) -> int:
    r = upload(client, world.auth("lc-sfj"), assignment_id, body, "报告.pdf", title=title)
    assert r.status_code == 201, r.text
    approve = {"decision": "approve", "version": 1}
    assert client.post(
        f"{API}/evidence/{r.json()['id']}/reviews", json=approve, headers=world.auth("lc-office")
    ).is_success
    return r.json()["id"]


def _link(client, world, evidence_id: int) -> str:
    r = client.get(f"{API}/evidence/{evidence_id}/versions/1/link", headers=world.auth("evaluator"))
    assert r.status_code == 200, r.text
    url = urllib.parse.urlsplit(r.json()["url"])
    assert url.path.startswith(f"{API}/downloads/")  # the API's own link, not a store's
    return f"{url.path}?{url.query}"


def test_a_signed_download_link_never_serves_a_changed_file_and_audits_it(app, client, world, session, folder) -> None:
    body = pdf("signed link, recorded")
    a = PICKER.assignment(session, world.ids["lc_sfj"])  # the world's, or late in a run another 陵川 campaign's
    same = _submit(client, world, a.id, body, "链接-同长")
    other = _submit(client, world, a.id, pdf("signed link, other size"), "链接-异长")
    # Links handed out while the files were intact: the holder may use them for minutes after.
    same_link, other_link = _link(client, world, same), _link(client, world, other)
    assert client.get(same_link).content == body  # control: intact bytes are served

    # Someone with access to the folder (not through the application) changes both files.
    changed = pdf("signed link, RECORDED")
    assert len(changed) == len(body)
    (folder.root / _version(session, same).object_key).write_bytes(changed)
    (folder.root / _version(session, other).object_key).write_bytes(b"%PDF-1.4 not the recorded file")

    # Another size: refused before a byte is sent, with the same answer as /content, and audited.
    r = client.get(other_link)
    assert r.status_code == 500 and r.json()["code"] == "integrity_error" and "校验失败" in r.json()["detail"]
    assert _audits(session, other) == ["signed_link"]
    # A new link is not even signed for it.
    r = client.get(f"{API}/evidence/{other}/versions/1/link", headers=world.auth("evaluator"))
    assert r.status_code == 500 and r.json()["code"] == "integrity_error"

    # The same size: the SHA-256 fails at the end, the stream is cut before its last bytes (a broken transfer,
    # never a complete-looking file), and the read is audited with what was found.
    with serving(app) as base, pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{base}{same_link}", timeout=30)
    assert _audits(session, same) == ["signed_link"]
    session.expire_all()
    [entry] = session.exec(
        select(AuditEntry).where(AuditEntry.action == "evidence.integrity_failed", AuditEntry.object_id == str(same))
    ).all()
    assert entry.after == {"read": "signed_link", "size": len(changed), "sha256": hashlib.sha256(changed).hexdigest()}

    # Every other read of the same files refuses them too: /content and the evidence package.
    with serving(app) as base, pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{base}{API}/evidence/{same}/versions/1/content", headers=world.auth("lc-office"), timeout=30)
    r = client.get(f"{API}/evidence/{other}/versions/1/content", headers=world.auth("lc-office"))
    assert r.status_code == 500 and r.json()["code"] == "integrity_error"
    r = client.get(f"{API}/campaigns/{a.campaign_id}/evidence-package.zip", headers=world.auth("lc-office"))
    assert r.status_code == 200, r.text
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    ws = load_workbook(io.BytesIO(archive.read("index.xlsx"))).active
    header = [c.value for c in ws[2]]
    rows = {
        row["资料标题"]: row
        for row in (dict(zip(header, (c.value for c in x), strict=True)) for x in ws.iter_rows(min_row=3))
    }
    assert rows["链接-同长"]["校验"] == "校验失败" and rows["链接-异长"]["校验"] == "校验失败"
    assert rows["链接-异长"]["包内路径"] not in archive.namelist()
    assert _audits(session, same) == ["signed_link", "content", "package"]


def _intent(client, world, session, size: int, title: str) -> dict:
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    r = client.post(
        f"{API}/assignments/{a.id}/evidence/uploads",
        json={"filename": "纪要.pdf", "size": size, "title": title},
        headers=world.auth("lc-sfj"),
    )
    assert r.status_code == 201, r.text
    return r.json()


def _leftovers(store: LocalStore) -> list[str]:
    return sorted(str(p.relative_to(store.root)) for p in store.root.rglob("*") if p.is_file())


def test_a_signed_upload_link_takes_no_more_than_the_declared_size(client, world, session, folder) -> None:
    body = pdf("declared size")
    intent = _intent(client, world, session, len(body), "申报大小")
    url = urllib.parse.urlsplit(intent["upload_url"])
    target = f"{url.path}?{url.query}"
    key = session.get(UploadIntent, intent["id"]).object_key
    too_long = body + b"x" * (2 * 1024 * 1024)  # past the declared size by more than one hand-over

    # Said in Content-Length: refused before a byte is read.
    r = client.put(target, content=too_long)
    assert r.status_code == 413 and r.json()["code"] == "upload_size_exceeded", r.text
    assert str(len(body)) in r.json()["detail"]
    # Not said (chunked): refused while streaming, as soon as the body passes the declared size.
    r = client.put(target, content=iter([too_long[i : i + 65536] for i in range(0, len(too_long), 65536)]))
    assert r.status_code == 413 and r.json()["code"] == "upload_size_exceeded", r.text
    # Nothing of either body is kept: no object under the key, no half-written file beside it.
    assert folder.size_of(key) is None and _leftovers(folder) == []

    # The declared bytes are taken and recorded as usual; a longer body later cannot replace them.
    assert client.put(target, content=body).status_code == 200
    r = client.put(target, content=iter([too_long]))
    assert r.status_code == 413 and r.json()["code"] == "upload_size_exceeded"
    assert folder.size_of(key) == len(body) and _leftovers(folder) == [key]
    done = client.post(f"{API}/uploads/{intent['id']}/complete", headers=world.auth("lc-sfj"))
    assert done.status_code == 201, done.text
    assert done.json()["current"]["sha256"] == hashlib.sha256(body).hexdigest()
