"""Direct uploads and download links against Ceph RGW (it checks signatures, moto does not), a
client that hangs up mid-upload on a real server, and the append-only audit trail."""

from __future__ import annotations

import hashlib
import socket
import tempfile
import time
import urllib.parse
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import func, select

from app.models import AuditEntry, Evidence, UploadIntent
from app.services.platform import audit
from app.services.storage import LocalStore
from tests.conftest import pin_today, serving, use_store
from tests.evidence_kit import API, PICKER, pdf


@pytest.fixture(autouse=True)
def _during_submission(app, client) -> None:
    pin_today(app, date(2023, 2, 10))


def _intent(client, world, assignment_id: int, body: bytes, **extra):
    payload = {"filename": "手机拍照.pdf", "size": len(body), **extra}
    return client.post(
        f"{API}/assignments/{assignment_id}/evidence/uploads", json=payload, headers=world.auth("lc-sfj")
    )


def test_direct_upload_is_verified_before_it_counts(client, world, session, rgw_api_store) -> None:
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    body = pdf("direct")
    intent = _intent(client, world, a.id, body, sha256=hashlib.sha256(body).hexdigest(), title="现场照片")
    assert intent.status_code == 201, intent.text
    complete = f"{API}/uploads/{intent.json()['id']}/complete"
    early = client.post(complete, headers=world.auth("lc-sfj"))
    assert early.status_code == 409 and early.json()["code"] == "upload_missing"

    url, signed = intent.json()["upload_url"], intent.json()["headers"]
    parts = urllib.parse.urlsplit(url)
    forged = url.replace(parts.path, parts.path[:-4] + "ffff")  # another key under the same signature
    assert httpx.put(forged, content=body, headers=signed).status_code == 403
    assert httpx.put(url, content=body).status_code == 403  # the declared SHA-256 is signed: it must be sent
    assert httpx.put(url, content=body, headers=signed).status_code == 200

    assert client.post(complete, headers=world.auth("lc-gaj")).status_code == 404  # not theirs
    done = client.post(complete, headers=world.auth("lc-sfj"))
    assert done.status_code == 201, done.text
    assert done.json()["title"] == "现场照片" and done.json()["current"]["sha256"] == hashlib.sha256(body).hexdigest()
    assert client.post(complete, headers=world.auth("lc-sfj")).json()["code"] == "upload_already_completed"

    # A second version the same way, onto the existing evidence.
    body2 = pdf("direct v2")
    again = client.post(
        f"{API}/evidence/{done.json()['id']}/uploads",
        json={"filename": "补充.pdf", "size": len(body2)},
        headers=world.auth("lc-sfj"),
    ).json()
    assert httpx.put(again["upload_url"], content=body2, headers=again["headers"]).status_code == 200
    v2 = client.post(f"{API}/uploads/{again['id']}/complete", headers=world.auth("lc-sfj")).json()
    assert v2["current_version"] == 2 and v2["current"]["filename"] == "补充.pdf"

    link = client.get(f"{API}/evidence/{done.json()['id']}/versions/1/link", headers=world.auth("lc-office"))
    assert link.status_code == 200
    got = httpx.get(link.json()["url"])
    assert got.content == body and "filename*=UTF-8''" in got.headers["content-disposition"]
    assert urllib.parse.quote("手机拍照.pdf") in got.headers["content-disposition"]
    assert (
        client.get(f"{API}/evidence/{done.json()['id']}/versions/1/link", headers=world.auth("gp-office")).status_code
        == 404
    )


def test_direct_upload_mismatches_fail_at_the_s3_server(client, world, session, rgw_api_store) -> None:
    """Content-Length and the declared SHA-256 are signed into the URL: RGW refuses another body itself."""
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    body = pdf("declared")
    wrong_sum = _intent(client, world, a.id, body, sha256="0" * 64).json()
    r = httpx.put(wrong_sum["upload_url"], content=body, headers=wrong_sum["headers"])
    assert r.status_code == 400 and "XAmzContentSHA256Mismatch" in r.text
    r = client.post(f"{API}/uploads/{wrong_sum['id']}/complete", headers=world.auth("lc-sfj"))
    assert r.status_code == 409 and r.json()["code"] == "upload_missing"

    wrong_size = _intent(client, world, a.id, body + b"tail").json()
    assert httpx.put(wrong_size["upload_url"], content=body, headers=wrong_size["headers"]).status_code == 403
    longer = _intent(client, world, a.id, body).json()
    assert httpx.put(longer["upload_url"], content=body + b"x", headers=longer["headers"]).status_code == 403
    r = client.post(f"{API}/uploads/{wrong_size['id']}/complete", headers=world.auth("lc-sfj"))
    assert r.status_code == 409 and r.json()["code"] == "upload_missing"
    assert client.get(f"{API}/assignments/{a.id}/evidence", headers=world.auth("lc-sfj")).json()["items"] == []


def test_direct_upload_mismatches_are_refused_at_complete(client, world, session, moto_api_store) -> None:
    """Behind the S3 server's check, complete checks again (moto, which checks no signature, lets them in)."""
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    body = pdf("declared")
    wrong_sum = _intent(client, world, a.id, body, sha256="0" * 64).json()
    httpx.put(wrong_sum["upload_url"], content=body)
    r = client.post(f"{API}/uploads/{wrong_sum['id']}/complete", headers=world.auth("lc-sfj"))
    assert r.status_code == 422 and r.json()["code"] == "checksum_mismatch"

    wrong_size = _intent(client, world, a.id, body + b"tail").json()
    httpx.put(wrong_size["upload_url"], content=body)
    r = client.post(f"{API}/uploads/{wrong_size['id']}/complete", headers=world.auth("lc-sfj"))
    assert r.status_code == 422 and r.json()["code"] == "upload_size_mismatch"

    exe = b"MZ" + bytes(500)
    wrong_type = _intent(client, world, a.id, exe).json()
    httpx.put(wrong_type["upload_url"], content=exe, headers=wrong_type["headers"])
    r = client.post(f"{API}/uploads/{wrong_type['id']}/complete", headers=world.auth("lc-sfj"))
    assert r.status_code == 422 and r.json()["code"] == "file_type_not_allowed"
    # Nothing a refused completion copied stays behind under the recorded keys.
    assert list(moto_api_store.keys("ev/")) == []

    huge = client.post(
        f"{API}/assignments/{a.id}/evidence/uploads",
        json={"filename": "x.mp4", "size": 600 * 1024 * 1024},
        headers=world.auth("lc-sfj"),
    )
    assert huge.status_code == 413
    office = client.post(
        f"{API}/assignments/{a.id}/evidence/uploads",
        json={"filename": "x.pdf", "size": 10},
        headers=world.auth("lc-office"),
    )
    assert office.status_code == 403
    assert client.get(f"{API}/assignments/{a.id}/evidence", headers=world.auth("lc-sfj")).json()["items"] == []


def test_direct_upload_on_the_local_store_goes_through_a_signed_api_link(client, world, session, app) -> None:
    """The local folder cannot presign: the upload URL is the API's own signed link (no token), same flow."""
    from app.api import deps

    store = LocalStore(Path(tempfile.mkdtemp(prefix="shifan-direct-")))
    use_store(app, store)
    try:
        a = PICKER.assignment(session, world.ids["lc_sfj"])
        body = pdf("local direct")
        intent = _intent(client, world, a.id, body, sha256=hashlib.sha256(body).hexdigest(), title="本地直传")
        assert intent.status_code == 201, intent.text
        url = urllib.parse.urlsplit(intent.json()["upload_url"])
        assert url.path == f"{API}/uploads/{intent.json()['id']}/content" and intent.json()["method"] == "PUT"
        left = datetime.fromisoformat(intent.json()["expires_at"]) - datetime.now(UTC)
        assert timedelta(0) < left <= timedelta(minutes=30)
        query = dict(urllib.parse.parse_qsl(url.query))
        forged = {**query, "expires": str(int(query["expires"]) + 3600)}
        refused = client.put(f"{url.path}?{urllib.parse.urlencode(forged)}", content=body)
        assert refused.status_code == 403 and refused.json()["code"] == "upload_link_invalid"
        other = client.put(f"{API}/uploads/{'0' * 32}/content?{url.query}", content=body)  # another intent
        assert other.status_code == 403 and other.json()["code"] == "upload_link_invalid"
        put = client.put(f"{url.path}?{url.query}", content=body)  # no Authorization header
        assert put.status_code == 200, put.text
        done = client.post(f"{API}/uploads/{intent.json()['id']}/complete", headers=world.auth("lc-sfj"))
        assert done.status_code == 201, done.text
        assert done.json()["current"]["sha256"] == hashlib.sha256(body).hexdigest()
        again = client.put(f"{url.path}?{url.query}", content=b"overwrite")  # nothing changes after completion
        assert again.status_code == 409 and again.json()["code"] == "upload_already_completed"
        link = client.get(f"{API}/evidence/{done.json()['id']}/versions/1/link", headers=world.auth("lc-office"))
        fetched = urllib.parse.urlsplit(link.json()["url"])
        assert client.get(f"{fetched.path}?{fetched.query}").content == body
        # a lifetime already over: the link is refused as expired
        stale = {**query, "expires": "1"}
        from app.services.submission import links

        intent_row = session.get(UploadIntent, intent.json()["id"])
        stale["signature"] = urllib.parse.parse_qs(
            urllib.parse.urlsplit(
                links.sign_upload(intent_row, api_base=API, expires_at=datetime.fromtimestamp(1, UTC))
            ).query
        )["signature"][0]
        expired = client.put(f"{url.path}?{urllib.parse.urlencode(stale)}", content=body)
        assert expired.status_code == 403 and expired.json()["code"] == "upload_link_expired"
    finally:
        app.dependency_overrides.pop(deps._store, None)


class _Watched:
    """The store, noting how each put_stream ended."""

    def __init__(self, store) -> None:
        self.store = store
        self.outcomes: list[str] = []

    def __getattr__(self, name: str):
        return getattr(self.store, name)

    def put_stream(self, *args, **kwargs):
        try:
            stored = self.store.put_stream(*args, **kwargs)
        except BaseException as exc:
            self.outcomes.append(getattr(exc, "code", type(exc).__name__))
            raise
        self.outcomes.append("stored")
        return stored


def test_client_hanging_up_mid_upload_leaves_nothing(app, world, session, moto_api_store) -> None:
    """A real server and a real socket: the client sends half a 20 MiB body and disconnects."""
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    watched = _Watched(moto_api_store)
    use_store(app, watched)
    with serving(app) as base:
        before = session.exec(select(func.count()).select_from(Evidence)).one()
        boundary = "cutoff"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n\r\n'
        ).encode() + pdf()
        total = len(head) + 20 * 1024 * 1024
        with socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1]))) as sock:
            sock.sendall(
                (
                    f"POST {API}/assignments/{a.id}/evidence/file HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    f"Authorization: Bearer {world.tokens['lc-sfj']}\r\n"
                    f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {total}\r\n\r\n"
                ).encode()
                + head
            )
            sent = 0
            while sent < 10 * 1024 * 1024:
                sock.sendall(bytes(256 * 1024))
                sent += 256 * 1024
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            time.sleep(0.3)
            leftovers = list(moto_api_store.keys("ev/")) + [
                u.object_name
                for u in moto_api_store.client._list_multipart_uploads(moto_api_store.bucket).uploads  # noqa: SLF001
            ]
            if watched.outcomes and not leftovers:
                break
        assert watched.outcomes == ["upload_incomplete"]  # the stream was under way, then aborted
        assert leftovers == []
        session.expire_all()
        assert session.exec(select(func.count()).select_from(Evidence)).one() == before


def test_audit_trail_cannot_be_edited(session) -> None:
    audit.record(session, principal=None, action="test.entry", object_type="test", object_id=1)
    session.commit()
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "test.entry")).first()
    assert entry is not None
    for statement in (
        sa.update(AuditEntry).where(AuditEntry.id == entry.id).values(action="evidence.forged"),
        sa.delete(AuditEntry).where(AuditEntry.id == entry.id),
    ):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            session.execute(statement)
        session.rollback()


def test_what_a_client_writes_after_completion_is_swept(client, world, session, moto_api_store) -> None:
    """The staging key of a completed upload is no longer kept: bytes sent there later are an orphan."""
    from datetime import UTC, datetime, timedelta

    from app.models import EvidenceVersion, UploadIntent
    from app.services.submission import uploads

    a = PICKER.assignment(session, world.ids["lc_sfj"])
    body = pdf("swept")
    intent = _intent(client, world, a.id, body).json()
    assert httpx.put(intent["upload_url"], content=body, headers=intent["headers"]).status_code == 200
    done = client.post(f"{API}/uploads/{intent['id']}/complete", headers=world.auth("lc-sfj"))
    assert done.status_code == 201, done.text
    assert httpx.put(intent["upload_url"], content=body, headers=intent["headers"]).status_code == 200  # again
    session.expire_all()
    staging = session.get(UploadIntent, intent["id"]).object_key
    recorded = session.exec(
        select(EvidenceVersion.object_key).where(EvidenceVersion.evidence_id == done.json()["id"])
    ).one()
    assert moto_api_store.size_of(staging) == len(body)
    uploads.sweep(session, moto_api_store, now=datetime.now(UTC) + timedelta(days=1), grace=timedelta(hours=2))
    session.commit()
    assert moto_api_store.size_of(staging) is None and moto_api_store.size_of(recorded) == len(body)


def test_a_store_outage_during_complete_is_503_and_the_retry_records_it(client, world, session, moto_api_store) -> None:
    """Found by the soak (bench/soak): RGW stopping while complete read the copy answered 422 pdf_corrupt (the
    cut read was taken for a broken PDF), and the client's object was already deleted, so every retry of
    complete got 409 upload_missing. Now the outage is 503 and the client's object stays until recorded."""
    import urllib3

    a = PICKER.assignment(session, world.ids["lc_sfj"])
    body = pdf("断流")
    intent = _intent(client, world, a.id, body, sha256=hashlib.sha256(body).hexdigest()).json()
    httpx.put(intent["upload_url"], content=body, headers=intent["headers"])
    real = moto_api_store.iter_bytes
    cut = {"on": True}

    def cut_stream(key: str, **kwargs):  # the gateway stops while pypdf reads the copy (ranged reads)
        chunks = real(key, **kwargs)
        if not cut["on"] or not key.startswith("ev/") or not kwargs:
            yield from chunks
            return
        try:
            yield next(chunks)[:5]
            raise urllib3.exceptions.ProtocolError("Connection broken: IncompleteRead")
        except urllib3.exceptions.ProtocolError as exc:
            from app.services.errors import Unavailable

            raise Unavailable() from exc

    moto_api_store.iter_bytes = cut_stream  # type: ignore[method-assign]
    try:
        failed = client.post(f"{API}/uploads/{intent['id']}/complete", headers=world.auth("lc-sfj"))
    finally:
        cut["on"] = False
    assert failed.status_code == 503 and failed.json()["code"] == "storage_unavailable", failed.text
    retried = client.post(f"{API}/uploads/{intent['id']}/complete", headers=world.auth("lc-sfj"))
    assert retried.status_code == 201, retried.text
    assert retried.json()["current"]["sha256"] == hashlib.sha256(body).hexdigest()
    assert [k for k in moto_api_store.keys("up/")] == [], "the client's object goes once the version is recorded"


def test_a_cut_s3_stream_is_unavailable_not_a_short_file() -> None:
    import urllib3

    from app.services.errors import Unavailable
    from app.services.storage import S3Store

    class Cut:
        def stream(self, n: int):
            yield b"%PDF-1.4"
            raise urllib3.exceptions.ProtocolError("Connection broken: IncompleteRead")

        def close(self) -> None: ...

        def release_conn(self) -> None: ...

    class Client:
        def get_object(self, *args, **kwargs) -> Cut:
            return Cut()

    store = S3Store(Client(), "soak")  # type: ignore[arg-type]
    with pytest.raises(Unavailable):
        list(store.iter_bytes("ev/1/1/" + "a" * 32))


def test_a_failed_commit_after_complete_keeps_the_clients_object_for_the_retry(
    client, world, session, moto_api_store, monkeypatch
) -> None:
    """The version is recorded and the commit then fails (the database goes away at that moment): the answer is
    503 and nothing counts, so the client's object must still be there for the retry, which records it once."""
    import psycopg
    from sqlmodel import Session

    a = PICKER.assignment(session, world.ids["lc_sfj"])
    body = pdf("提交时断库")
    intent = _intent(client, world, a.id, body, sha256=hashlib.sha256(body).hexdigest()).json()
    assert httpx.put(intent["upload_url"], content=body, headers=intent["headers"]).status_code == 200
    real_commit = Session.commit
    failing = {"once": True}

    def commit(self: Session) -> None:  # the request's one commit (its session also checks the caller)
        if failing["once"]:
            failing["once"] = False
            raise sa.exc.OperationalError("COMMIT", {}, psycopg.OperationalError("server closed the connection"))
        real_commit(self)

    monkeypatch.setattr(Session, "commit", commit)
    failed = client.post(f"{API}/uploads/{intent['id']}/complete", headers=world.auth("lc-sfj"))
    monkeypatch.undo()
    assert failed.status_code == 503 and failed.json()["code"] == "database_unavailable", failed.text
    assert [k for k in moto_api_store.keys("up/")] != [], "the client's object outlives a failed commit"
    retried = client.post(f"{API}/uploads/{intent['id']}/complete", headers=world.auth("lc-sfj"))
    assert retried.status_code == 201, retried.text
    assert session.exec(select(func.count()).select_from(Evidence).where(Evidence.assignment_id == a.id)).one() == 1
    assert [k for k in moto_api_store.keys("up/")] == [], "the client's object goes once the version is committed"
