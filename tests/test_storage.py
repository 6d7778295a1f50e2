"""The object-store seam against a local folder, moto's S3 server and Ceph RGW (real processes)."""

from __future__ import annotations

import hashlib
import io
import os
import time
import urllib.parse
from datetime import timedelta

import httpx
import pytest
from minio import Minio

from app.services.errors import Invalid, TooLarge, Unavailable
from app.services.storage import LocalStore, S3Store

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)

# The object store alone (no database): in one pass of `make test`.
pytestmark = pytest.mark.one_pass("the object store alone, no database", where="sqlite")


class Broken(io.RawIOBase):
    """A client that disconnects after `after` bytes."""

    def __init__(self, after: int) -> None:
        self.left = after

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            raise ConnectionResetError("client went away")
        chunk = os.urandom(min(n if n > 0 else 65536, self.left))
        self.left -= len(chunk)
        return chunk


def _leftovers(store) -> list[str]:
    keys = list(store.keys(""))
    if isinstance(store, S3Store):
        uploads = store.client._list_multipart_uploads(store.bucket)
        keys += [u.object_name for u in uploads.uploads]
    return keys


def test_roundtrip_small_pdf(any_store) -> None:
    stored = any_store.put_stream("ev/1/a", io.BytesIO(PDF), content_type="application/pdf", max_bytes=1 << 20)
    assert stored.size == len(PDF) and stored.sha256 == hashlib.sha256(PDF).hexdigest()
    assert any_store.size_of("ev/1/a") == len(PDF)
    assert b"".join(any_store.iter_bytes("ev/1/a")) == PDF
    assert b"".join(any_store.iter_bytes("ev/1/a", start=5, length=3)) == PDF[5:8]
    assert list(any_store.keys("ev/")) == ["ev/1/a"]
    any_store.delete("ev/1/a")
    assert any_store.size_of("ev/1/a") is None


def test_multipart_stream_hashes_on_the_way(any_store) -> None:
    data = os.urandom(19 * 1024 * 1024 + 123)  # three 8 MiB parts on S3
    stored = any_store.put_stream("ev/big", io.BytesIO(data), content_type="application/zip", max_bytes=1 << 30)
    assert stored.size == len(data) and stored.sha256 == hashlib.sha256(data).hexdigest()
    assert any_store.size_of("ev/big") == len(data)
    assert hashlib.sha256(b"".join(any_store.iter_bytes("ev/big"))).hexdigest() == stored.sha256


def test_oversized_upload_leaves_nothing(any_store) -> None:
    with pytest.raises(TooLarge):
        any_store.put_stream(
            "ev/too-big", io.BytesIO(os.urandom(12 * 1024 * 1024)), content_type="x", max_bytes=10 << 20
        )
    assert _leftovers(any_store) == []


def test_cut_off_upload_leaves_nothing(any_store) -> None:
    with pytest.raises(Exception):  # noqa: B017 - whatever the transport raises
        any_store.put_stream("ev/cut", Broken(9 * 1024 * 1024), content_type="x", max_bytes=1 << 30)
    assert _leftovers(any_store) == []


@pytest.mark.parametrize("key", ["../../etc/passwd", "/abs", "ev/../x", "A-Upper", "名字.pdf", ""])
def test_keys_are_application_made(key, tmp_path) -> None:
    with pytest.raises(Invalid):
        LocalStore(tmp_path).put_stream(key, io.BytesIO(b"x"), content_type="x", max_bytes=10)


def test_unreachable_s3_is_unavailable() -> None:
    from tests.conftest import unreachable_store

    store = unreachable_store("nobucket")
    with pytest.raises(Unavailable) as exc:
        store.ensure_ready()
    assert exc.value.status == 503


# --- security behaviour: Ceph RGW only (moto accepts any signature) ---


def test_rgw_rejects_wrong_secret(rgw_server) -> None:
    client = Minio(
        rgw_server.endpoint, access_key=rgw_server.access_key, secret_key="wrong", secure=False, region="us-east-1"
    )
    with pytest.raises(Unavailable):
        S3Store(client, "t-wrong-secret").ensure_ready()


def test_rgw_private_objects_and_presigned_urls(rgw_server, rgw_store) -> None:
    rgw_store.put_stream("ev/p", io.BytesIO(PDF), content_type="application/pdf", max_bytes=1 << 20)
    plain = f"http://{rgw_server.endpoint}/{rgw_store.bucket}/ev/p"
    assert httpx.get(plain).status_code == 403  # unsigned
    url = rgw_store.presigned_get("ev/p", expires=timedelta(minutes=5))
    assert httpx.get(url).content == PDF
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query)
    query["X-Amz-Signature"] = ["0" * 64]
    tampered = parts._replace(query=urllib.parse.urlencode(query, doseq=True)).geturl()
    assert httpx.get(tampered).status_code == 403
    other_key = url.replace("/ev/p?", "/ev/q?")
    assert httpx.get(other_key).status_code in (403, 404)


def test_rgw_presigned_expiry(rgw_store) -> None:
    rgw_store.put_stream("ev/e", io.BytesIO(PDF), content_type="application/pdf", max_bytes=1 << 20)
    url = rgw_store.presigned_get("ev/e", expires=timedelta(seconds=1))
    time.sleep(2.5)
    assert httpx.get(url).status_code == 403


def test_rgw_presigned_put(rgw_store) -> None:
    put = rgw_store.presigned_put("ev/direct", expires=timedelta(minutes=5), size=len(PDF))
    assert httpx.put(put.url, content=PDF, headers=put.headers).status_code == 200
    assert rgw_store.size_of("ev/direct") == len(PDF)
    expired = rgw_store.presigned_put("ev/late", expires=timedelta(seconds=1), size=len(PDF))
    time.sleep(2.5)
    assert httpx.put(expired.url, content=PDF, headers=expired.headers).status_code == 403
    assert rgw_store.size_of("ev/late") is None


def test_rgw_presigned_put_signs_length_and_checksum(rgw_store) -> None:
    """The S3 server itself refuses a body of another length, or (when declared) another SHA-256."""
    sha = hashlib.sha256(PDF).hexdigest()
    put = rgw_store.presigned_put("up/signed", expires=timedelta(minutes=5), size=len(PDF), sha256=sha)
    assert put.headers == {"x-amz-content-sha256": sha}
    assert httpx.put(put.url, content=PDF + b"x", headers=put.headers).status_code == 403  # longer
    assert httpx.put(put.url, content=PDF[:-1], headers=put.headers).status_code == 403  # shorter
    swapped = PDF[:-2] + b"X\n"
    r = httpx.put(put.url, content=swapped, headers=put.headers)
    assert r.status_code == 400 and "XAmzContentSHA256Mismatch" in r.text  # same length, other bytes
    assert httpx.put(put.url, content=PDF, headers={}).status_code == 403  # the checksum header is signed
    assert rgw_store.size_of("up/signed") is None
    assert httpx.put(put.url, content=PDF, headers=put.headers).status_code == 200
    rgw_store.copy("up/signed", "ev/copied")  # the server-side copy complete makes
    assert b"".join(rgw_store.iter_bytes("ev/copied")) == PDF
