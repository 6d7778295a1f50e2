"""What the API's own signed links (links.py) serve and take, where the store cannot presign (the local folder):
held to the same promises as a presigned URL and as the API's other reads. A download is checked against
the version's record like /content (integrity.open_verified); an upload takes at most the size the intent
declared, as a presigned PUT whose Content-Length is signed does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import BinaryIO

from sqlmodel import Session

from app.db import session_scope
from app.models import EvidenceVersion, UploadIntent
from app.services.errors import TooLarge
from app.services.storage import ObjectStore
from app.services.submission import integrity, links


def open_signed_download(
    session: Session, store: ObjectStore, *, version_id: int, expires: int, signature: str
) -> tuple[EvidenceVersion, Iterator[bytes]]:
    """The file of a signed link (links.sign) and its bytes, checked as /content checks them (a link signed
    before the object changed must not serve it); 403 download_link_invalid/expired otherwise."""
    version = links.verify(session, version_id=version_id, expires=expires, signature=signature, now=datetime.now(UTC))
    return version, integrity.open_verified(store, version, principal=None, where="signed_link")


def check_signed_upload(*, intent_id: str, expires: int, signature: str) -> UploadIntent:
    """The intent of a signed upload link (links.sign_upload), read in a transaction of its own that ends
    before the bytes travel; 403 upload_link_invalid/expired, 409 once completed."""
    with session_scope() as session:
        return links.verify_upload(
            session, intent_id=intent_id, expires=expires, signature=signature, now=datetime.now(UTC)
        )


def over_declared(intent: UploadIntent) -> TooLarge:
    """The refusal of a body longer than the intent's declared size."""
    message = f"上传的内容超过申请上传时申报的大小（{intent.size} 字节），未保存；请上传申报的那个文件，或重新申请上传"
    return TooLarge(message, code="upload_size_exceeded")


class _Declared:
    """The body of a signed upload, refused (over_declared) as soon as it passes the intent's size: a presigned
    S3 PUT has its Content-Length signed, the API's own link holds the client to the same promise."""

    def __init__(self, source: BinaryIO, intent: UploadIntent) -> None:
        self._source, self._intent, self._seen = source, intent, 0

    def read(self, n: int = -1) -> bytes:
        data = self._source.read(n)
        self._seen += len(data)
        if self._seen > self._intent.size:
            raise over_declared(self._intent)
        return data


def check_declared_length(intent: UploadIntent, content_length: str | None) -> None:
    """over_declared before a byte is read when the request's Content-Length already says more."""
    if content_length and content_length.isdigit() and int(content_length) > intent.size:
        raise over_declared(intent)


def receive_signed_upload(store: ObjectStore, *, intent: UploadIntent, source: BinaryIO) -> None:
    """Store the bytes PUT to a signed upload link under the intent's key, at most its declared size (the store
    writes aside and keeps nothing of a refused body); completion checks the rest."""
    store.put_stream(
        intent.object_key, _Declared(source, intent), content_type="application/octet-stream", max_bytes=intent.size
    )
