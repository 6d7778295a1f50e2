"""Evidence uploads that go wrong: refused files, limits, cut-off bodies, S3 down, database down,
orphans, and the locks that close submission."""

from __future__ import annotations

import io
import os
import re
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from sqlmodel import func, select

from app import settings as app_settings
from app.models import Evidence, EvidenceVersion
from app.services.storage import S3Store
from app.services.submission import evidence as evidence_service
from app.services.submission import uploads
from tests.conftest import pin_today, unreachable_store, use_store
from tests.evidence_kit import API, PICKER, pdf, png, upload


@pytest.fixture(autouse=True)
def _during_submission(app, client) -> None:
    pin_today(app, date(2023, 2, 10))


def _evidence_count(session) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(Evidence)).one()


def _objects(store) -> list[str]:
    keys = list(store.keys("ev/"))
    if isinstance(store, S3Store):
        keys += [u.object_name for u in store.client._list_multipart_uploads(store.bucket).uploads]  # noqa: SLF001
    return keys


@pytest.fixture
def small_limit():
    os.environ["SHIFAN_MAX_UPLOAD_BYTES"] = str(1024 * 1024)
    app_settings.get_settings.cache_clear()
    yield 1024 * 1024
    os.environ.pop("SHIFAN_MAX_UPLOAD_BYTES")
    app_settings.get_settings.cache_clear()


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("zeros.bin", b"\0" * (50 * 1024 * 1024))
    return out.getvalue()


def test_refused_files_leave_nothing(client, world, session, moto_api_store) -> None:
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    h = world.auth("lc-sfj")
    before = _evidence_count(session)
    cases = [
        (b"MZ\x90\x00" + os.urandom(2000), "制度汇编.pdf", 422, "file_type_not_allowed"),  # an .exe named .pdf
        (b"<html><script>alert(1)</script></html>", "说明.png", 422, "file_type_not_allowed"),
        (b"", "空文件.pdf", 422, "file_empty"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(600), "台账.pdf", 422, "file_type_mismatch"),
    ]
    for data, name, status, code in cases:
        r = upload(client, h, a.id, data, name)
        assert (r.status_code, r.json()["code"]) == (status, code), name
        assert r.headers["content-type"] == "application/problem+json" and r.json()["detail"]
    assert _evidence_count(session) == before and _objects(moto_api_store) == []


def test_oversized_upload_is_refused_while_streaming(client, world, session, api_store, small_limit) -> None:
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    before = _evidence_count(session)
    r = upload(client, world.auth("lc-sfj"), a.id, pdf() + os.urandom(small_limit), "大文件.pdf")
    assert r.status_code == 413 and r.json()["code"] == "file_too_large" and "1 MB" in r.json()["detail"]
    assert _evidence_count(session) == before and _objects(api_store) == []
    # A body that announces more than the limit is refused before it is read.
    declared = upload(client, world.auth("lc-sfj"), a.id, pdf() + bytes(2 * small_limit), "更大.pdf")
    assert declared.status_code == 413 and declared.json()["code"] == "file_too_large"


def test_names_are_kept_but_never_trusted(client, world, session, moto_api_store) -> None:
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    h = world.auth("lc-sfj")
    traversal = upload(client, h, a.id, pdf(), "../../etc/passwd").json()
    assert traversal["current"]["filename"] == "passwd"
    long_name = "陵川县法治政府建设示范创建" * 23 + ".pdf"  # 300 characters
    kept = upload(client, h, a.id, pdf(), long_name).json()["current"]["filename"]
    assert len(kept) == 200 and kept.endswith(".pdf") and kept.startswith("陵川县法治政府")
    control = upload(client, h, a.id, png(), "a\x00b\r\nc.png").json()["current"]["filename"]
    assert control == "abc.png"
    assert all(k.count("/") == 3 and k.startswith("ev/") for k in moto_api_store.keys("ev/"))


def test_zip_bomb_is_stored_never_expanded(client, world, session, moto_api_store) -> None:
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    bomb = _zip_bomb()
    r = upload(client, world.auth("lc-sfj"), a.id, bomb, "资料包.zip")
    assert r.status_code == 201 and r.json()["current"]["size"] == len(bomb) < 1024 * 1024
    assert r.json()["current"]["content_type"] == "application/zip"


def test_broken_multipart_bodies(client, world, session, moto_api_store) -> None:
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    h = world.auth("lc-sfj")
    url = f"{API}/assignments/{a.id}/evidence/file"
    before = _evidence_count(session)
    r = client.post(url, content=pdf(), headers={**h, "Content-Type": "application/pdf"})
    assert r.status_code == 422 and r.json()["code"] == "multipart_required"
    r = client.post(url, data={"title": "x"}, files={"other": ("a.pdf", pdf())}, headers=h)
    assert r.status_code == 422 and r.json()["code"] == "file_missing"
    boundary = "----shifan"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    truncated = head + pdf() + os.urandom(200_000)  # the closing boundary never comes
    r = client.post(url, content=truncated, headers={**h, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 422 and r.json()["code"] == "upload_incomplete"
    assert _evidence_count(session) == before and _objects(moto_api_store) == []


def test_s3_unreachable_is_503_and_no_row(client, world, session, app) -> None:
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    use_store(app, unreachable_store())
    try:
        before = _evidence_count(session)
        r = upload(client, world.auth("lc-sfj"), a.id, pdf(), "报告.pdf")
        assert r.status_code == 503 and r.json()["code"] == "storage_unavailable"
        assert "稍后" in r.json()["detail"]
        assert _evidence_count(session) == before
    finally:
        from app.api import deps

        app.dependency_overrides.pop(deps._store, None)


def test_database_failure_after_the_bytes_removes_them(app, world, session, moto_api_store, monkeypatch) -> None:
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    real_submit = evidence_service.submit

    def submit_then_lose_the_database(*args, **kwargs):
        real_submit(*args, **kwargs)  # rows flushed, then the connection dies before the commit
        raise OperationalError("COMMIT", {}, ConnectionError("server closed the connection unexpectedly"))

    monkeypatch.setattr(uploads.evidence, "submit", submit_then_lose_the_database)
    before = _evidence_count(session)
    with TestClient(app, raise_server_exceptions=False) as plain:  # what a real client sees
        r = upload(plain, world.auth("lc-sfj"), a.id, pdf(), "报告.pdf")
    assert r.status_code == 503 and r.json()["code"] == "database_unavailable"  # a lost connection, said so
    assert _evidence_count(session) == before
    assert _objects(moto_api_store) == []


def test_sweeper_removes_orphans_and_expired_intents_only(client, world, session, moto_api_store) -> None:
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    kept = upload(client, world.auth("lc-sfj"), a.id, pdf(), "留存.pdf").json()
    kept_key = session.exec(select(EvidenceVersion.object_key).where(EvidenceVersion.evidence_id == kept["id"])).one()
    # What a process that died between storing and recording leaves behind.
    orphan = f"ev/{a.campaign_id}/{a.unit_id}/{'0' * 32}"
    moto_api_store.put_stream(orphan, io.BytesIO(pdf()), content_type="application/pdf", max_bytes=1 << 20)
    intent = client.post(
        f"{API}/assignments/{a.id}/evidence/uploads",
        json={"filename": "直传.pdf", "size": 100},
        headers=world.auth("lc-sfj"),
    ).json()
    from app.models import UploadIntent

    intent_key = session.get(UploadIntent, intent["id"]).object_key
    moto_api_store.put_stream(intent_key, io.BytesIO(pdf()), content_type="application/pdf", max_bytes=1 << 20)

    now = datetime.now(UTC)
    young = uploads.sweep(session, moto_api_store, now=now, grace=timedelta(hours=2))
    assert young.orphans == 0 and young.expired_intents == 0  # too young to judge: an upload may be finishing
    later = now + timedelta(days=1)
    report = uploads.sweep(session, moto_api_store, now=later, grace=timedelta(hours=2))
    session.commit()
    assert report.orphans == 1 and report.expired_intents >= 1
    remaining = set(moto_api_store.keys("ev/"))
    assert kept_key in remaining and orphan not in remaining and intent_key not in remaining
    assert session.get(UploadIntent, intent["id"]) is None


def test_deadline_late_window_and_freeze(client, app, world, session, moto_api_store) -> None:
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    liaison, office = world.auth("lc-sfj"), world.auth("lc-office")
    campaign = a.campaign_id  # the world's, or another 陵川 campaign's once the suite has used the world's items
    statement = {"kind": "statement", "text": "补充说明"}
    pin_today(app, date(2023, 2, 28))  # the deadline day itself is still open
    ev = client.post(f"{API}/assignments/{a.id}/evidence", json=statement, headers=liaison)
    assert ev.status_code == 201
    pin_today(app, date(2023, 3, 1))
    late = client.post(f"{API}/assignments/{a.id}/evidence", json=statement, headers=liaison)
    assert (
        late.status_code == 423 and late.json()["code"] == "submission_closed" and "2023-02-28" in late.json()["detail"]
    )
    assert upload(client, liaison, a.id, pdf(), "a.pdf").json()["code"] == "submission_closed"
    assert client.post(f"{API}/evidence/{ev.json()['id']}/versions/1/withdraw", headers=liaison).status_code == 423

    window = {"unit_id": world.ids["lc_sfj"], "until": "2023-03-10", "reason": "机构改革材料补报"}
    assert client.post(f"{API}/campaigns/{campaign}/late-windows", json=window, headers=liaison).status_code == 403
    granted = client.post(f"{API}/campaigns/{campaign}/late-windows", json=window, headers=office)
    assert granted.status_code == 201
    listed = client.get(f"{API}/campaigns/{campaign}/late-windows", headers=office).json()["items"]
    assert granted.json()["id"] in [w["id"] for w in listed]
    assert client.get(f"{API}/campaigns/{campaign}/late-windows", headers=liaison).status_code == 403
    assert client.post(f"{API}/assignments/{a.id}/evidence", json=statement, headers=liaison).status_code == 201
    gaj = PICKER.assignment(session, world.ids["lc_gaj"])
    assert (
        client.post(f"{API}/assignments/{gaj.id}/evidence", json=statement, headers=world.auth("lc-gaj")).status_code
        == 423
    )  # the window is the 司法局's alone
    past = {**window, "until": "2023-02-01"}
    assert (
        client.post(f"{API}/campaigns/{campaign}/late-windows", json=past, headers=office).json()["code"]
        == "late_window_in_past"
    )

    try:
        assert client.post(f"{API}/campaigns/{campaign}/freeze", headers=liaison).status_code == 403
        frozen = client.post(f"{API}/campaigns/{campaign}/freeze", headers=office)
        assert frozen.status_code == 200 and frozen.json()["frozen_at"]
        locked = client.post(f"{API}/assignments/{a.id}/evidence", json=statement, headers=liaison)
        assert locked.status_code == 423 and locked.json()["code"] == "campaign_frozen"
        # The office still reviews a frozen campaign's evidence.
        review = client.post(
            f"{API}/evidence/{ev.json()['id']}/reviews", json={"decision": "approve", "version": 1}, headers=office
        )
        assert review.status_code == 201
    finally:
        assert client.post(f"{API}/campaigns/{campaign}/unfreeze", headers=office).json()["frozen_at"] is None
    trail = client.get(f"{API}/audit", params={"campaign_id": campaign, "object_type": "campaign"}, headers=office)
    assert [e["action"] for e in trail.json()["items"][:2]] == ["campaign.unfreeze", "campaign.freeze"]


def test_sweep_command_removes_old_orphans(database_url, capsys) -> None:
    from app.cli import main
    from app.services.storage import get_store

    store = get_store()  # the configured default: a local folder in tests
    store.ensure_ready()
    store.put_stream("ev/9/9/" + "a" * 32, io.BytesIO(pdf()), content_type="application/pdf", max_bytes=1 << 20)
    path = store.root / "ev/9/9" / ("a" * 32)
    old = (datetime.now(UTC) - timedelta(hours=3)).timestamp()
    os.utime(path, (old, old))
    store.put_stream("ev/9/9/" + "b" * 32, io.BytesIO(pdf()), content_type="application/pdf", max_bytes=1 << 20)
    main(["sweep", "--grace-minutes", "60"])
    assert "orphaned objects removed: 1" in capsys.readouterr().out
    assert list(store.keys("ev/9/")) == ["ev/9/9/" + "b" * 32]  # the young one may still be recording
    # Found by the soak (bench/soak): --grace-minutes 0 was read as "not given" and swept with the default
    # two hours, leaving every young orphan behind.
    main(["sweep", "--grace-minutes", "0"])  # every orphan, however young (earlier tests may have left some)
    removed = int(re.search(r"orphaned objects removed: (\d+)", capsys.readouterr().out).group(1))  # type: ignore[union-attr]
    assert removed >= 1
    assert list(store.keys("ev/9/")) == []
