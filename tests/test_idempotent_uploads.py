"""Idempotency-Key on file uploads (issue 26 point 4): a retried multipart upload with the same key answers the
first result and records nothing twice (keeps no second copy of the file), the same key on a different file or
different fields is refused; and every POST that creates something declares the key and honours it."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlmodel import func, select

from app.api.idempotency import honours_key, streams_itself
from app.models import Evidence, EvidenceVersion
from app.services.storage import LocalStore
from tests.conftest import pin_today, use_store
from tests.evidence_kit import API, PICKER, pdf


@pytest.fixture
def store(app, client, tmp_path):
    """The API on a local folder of its own, so what each upload kept can be counted."""
    from app.api import deps

    pin_today(app, date(2023, 2, 10))
    store = LocalStore(tmp_path / "objects")
    use_store(app, store)
    yield store
    app.dependency_overrides.pop(deps._store, None)


def _count(session, model, **where) -> int:
    session.expire_all()
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return session.exec(query).one()


def test_a_retried_upload_answers_the_first_result_and_keeps_one_file(client, world, session, store) -> None:
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    url = f"{API}/assignments/{a.id}/evidence/file"
    h = {**world.auth("lc-sfj"), "Idempotency-Key": "phone-upload-1"}
    body = pdf("重试上传")
    # httpx picks a new multipart boundary for every request, as browsers and phone apps do: the retry's bytes differ
    first = client.post(
        url, files={"file": ("检查记录.pdf", body, "application/pdf")}, data={"title": "检查"}, headers=h
    )
    again = client.post(
        url, files={"file": ("检查记录.pdf", body, "application/pdf")}, data={"title": "检查"}, headers=h
    )
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers and first.headers["location"].endswith(f"/{first.json()['id']}")
    assert _count(session, Evidence, assignment_id=a.id) == 1
    assert len(list(store.keys("ev/"))) == 1  # the retry's copy of the file was not kept

    # the same key on another file, or on the same file with other fields, is refused and keeps nothing
    other = client.post(url, files={"file": ("检查记录.pdf", pdf("另一份"), "application/pdf")}, headers=h)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    retitled = client.post(
        url, files={"file": ("检查记录.pdf", body, "application/pdf")}, data={"title": "另一个标题"}, headers=h
    )
    assert retitled.status_code == 422 and retitled.json()["code"] == "idempotency_key_reused"
    assert _count(session, Evidence, assignment_id=a.id) == 1 and len(list(store.keys("ev/"))) == 1

    # a new version of it, retried: one version
    version_url = f"{API}/evidence/{first.json()['id']}/versions/file"
    vh = {**world.auth("lc-sfj"), "Idempotency-Key": "phone-upload-2"}
    v1 = client.post(version_url, files={"file": ("补充.pdf", pdf("第二版"), "application/pdf")}, headers=vh)
    v2 = client.post(version_url, files={"file": ("补充.pdf", pdf("第二版"), "application/pdf")}, headers=vh)
    assert v1.status_code == v2.status_code == 201 and v2.json() == v1.json()
    assert v2.headers["idempotent-replayed"] == "true"
    assert _count(session, EvidenceVersion, evidence_id=first.json()["id"]) == 2

    # keys belong to the account: another liaison's upload under the same key is its own (and here refused)
    gaj = client.post(
        url, files={"file": ("检查记录.pdf", body, "application/pdf")}, data={"title": "检查"},
        headers={**world.auth("lc-gaj"), "Idempotency-Key": "phone-upload-1"},
    )  # fmt: skip
    assert gaj.status_code in (403, 404) and "idempotent-replayed" not in gaj.headers


def test_a_refused_upload_is_not_kept_under_its_key(client, world, session, store) -> None:
    """A file refused on its way in (a forged type) was never claimed: the retry with a good file runs."""
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    url = f"{API}/assignments/{a.id}/evidence/file"
    h = {**world.auth("lc-sfj"), "Idempotency-Key": "refused-then-good"}
    bad = client.post(url, files={"file": ("伪装.pdf", b"MZ" + bytes(500), "application/pdf")}, headers=h)
    assert bad.status_code == 422 and bad.json()["code"] == "file_type_not_allowed"
    good = client.post(url, files={"file": ("伪装.pdf", pdf("好的"), "application/pdf")}, headers=h)
    assert good.status_code == 201 and "idempotent-replayed" not in good.headers, good.text
    assert list(store.keys("up/")) == [] and len(list(store.keys("ev/"))) == 1


def test_a_small_multipart_post_is_replayed_by_its_parts(client, world) -> None:
    """Multipart bodies the API reads whole (a framework file) are known by their parts, not their boundary."""
    from tests.test_security import own_framework

    h = {**world.auth("lc-office"), "Idempotency-Key": "framework-import-1"}
    data = own_framework("lc-idem")
    first = client.post(f"{API}/frameworks", files={"file": ("陵川.json", data, "application/json")}, headers=h)
    again = client.post(f"{API}/frameworks", files={"file": ("陵川.json", data, "application/json")}, headers=h)
    assert first.status_code == 201, first.text
    assert again.status_code == 201 and again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    other = client.post(
        f"{API}/frameworks", files={"file": ("陵川.json", own_framework("lc-idem-2"), "application/json")}, headers=h
    )
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


def test_every_post_that_creates_something_declares_and_honours_the_key(app, client, world) -> None:
    """The sweep: each POST (logins aside) declares Idempotency-Key in OpenAPI, and a repeat with the same key is
    answered from the first response (here a refusal: a province account creates nothing, so the sweep changes
    nothing). The streamed uploads claim the key only once the file is in, so their refusals are not kept: the
    tests above prove they replay."""
    spec = app.openapi()
    streamed = {"/api/v1/assignments/{assignment_id}/evidence/file", "/api/v1/evidence/{evidence_id}/versions/file"}
    swept = []
    for path, item in sorted(spec["paths"].items()):
        op = item.get("post")
        if op is None:
            continue
        declared = {"$ref": "#/components/parameters/IdempotencyKey"} in op.get("parameters", [])
        assert declared == honours_key("POST", path), path
        if not declared:
            assert path.startswith(f"{API}/auth/"), path
            continue
        url = re.sub(r"\{[^}]+\}", "999999", path)
        multipart = "multipart/form-data" in op.get("requestBody", {}).get("content", {})
        sent = {"files": {"file": ("a.pdf", pdf("sweep"), "application/pdf")}} if multipart else {"json": {}}
        h = {**world.auth("sx-province"), "Idempotency-Key": f"sweep:{path}"}
        first = client.post(url, headers=h, **sent)
        again = client.post(url, headers=h, **sent)
        assert first.status_code == again.status_code and first.status_code < 500, (path, first.text)
        if path in streamed:
            assert "idempotent-replayed" not in again.headers, path
        else:
            assert again.headers.get("idempotent-replayed") == "true" and again.json() == first.json(), path
        swept.append(path)
    assert len(swept) >= 30 and {p for p in swept if streams_itself(p)} == streamed


def test_the_same_upload_twice_at_once_records_once(client, world, session, store, monkeypatch) -> None:
    """A phone that retries while its first upload is still being recorded: the retry is 409 and keeps nothing."""
    import threading
    import time

    from app.services.submission import uploads

    a = PICKER.assignment(session, world.ids["lc_sfj"])
    url = f"{API}/assignments/{a.id}/evidence/file"
    h = {**world.auth("lc-sfj"), "Idempotency-Key": "twice-at-once"}
    body = pdf("同时两次")
    original = uploads.record

    def slow(*args, **kwargs):
        time.sleep(1.0)
        return original(*args, **kwargs)

    monkeypatch.setattr(uploads, "record", slow)
    results: list[int] = []
    first = threading.Thread(
        target=lambda: results.append(
            client.post(url, files={"file": ("a.pdf", body, "application/pdf")}, headers=h).status_code
        )
    )
    first.start()
    time.sleep(0.4)
    second = client.post(url, files={"file": ("a.pdf", body, "application/pdf")}, headers=h)
    first.join()
    assert results == [201]
    assert second.status_code == 409 and second.json()["code"] == "idempotency_in_progress"
    assert _count(session, Evidence, assignment_id=a.id) == 1 and len(list(store.keys("ev/"))) == 1
