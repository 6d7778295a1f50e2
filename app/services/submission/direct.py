"""Direct uploads, the parts of them outside the API's own multipart upload.

What the API's own signed links (links.py) serve and take, where the store cannot presign (the local folder):
held to the same promises as a presigned URL and as the API's other reads. A download is checked against
the version's record like /content (integrity.open_verified); an upload takes at most the size the intent
declared, as a presigned PUT whose Content-Length is signed does.

Resumable uploads: a large file sent in numbered parts over a weak link, so a dropped connection costs one part,
not the whole file. The intent (uploads.create_intent) starts a multipart upload in the store and hands out one
URL per part: presigned by the S3 server (uploadId, partNumber and Content-Length signed), or on the local folder
the API's own signed part links (links.sign_part). The client PUTs parts in any order, asks which ones the store
holds (status, from S3's ListParts), sends the missing ones and completes. Completion (uploads.complete_intent)
joins the parts into the intent's staging object only when every part is there with its exact size, then checks
the whole object as a single PUT's is checked: copied to a key no client can write and read back for its size,
SHA-256, type and structure. An upload abandoned half-way is aborted by the sweeper (uploads.sweep), its parts
with it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

from sqlmodel import Session, col, select

from app.db import session_scope
from app.models import EvidenceVersion, UploadIntent
from app.models.evidence import PartUrl, ReceivedPart, UploadParts
from app.services.access import Principal
from app.services.errors import Conflict, DomainError, Invalid, NotFound, TooLarge
from app.services.storage import ObjectStore
from app.services.store_parts import StoredPart, parts_of
from app.services.submission import integrity, links
from app.settings import get_settings


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


log = logging.getLogger("shifan.uploads")
MIN_PART = 5 * 1024 * 1024  # S3's smallest part (all but the last)
MAX_PARTS = 10_000  # S3's most parts in one upload


def part_size_for(size: int) -> int:
    """The part size of a file of size bytes: the configured one, at least S3's minimum, large enough for S3's
    10 000 parts."""
    return max(MIN_PART, get_settings().upload_part_bytes, math.ceil(size / MAX_PARTS))


def part_count(intent: UploadIntent) -> int:
    """How many parts the intent's file is sent in."""
    return math.ceil(intent.size / intent.part_size)  # type: ignore[operator]


def expected_size(intent: UploadIntent, number: int) -> int:
    """The exact size of part number (every part but the last is part_size)."""
    if number < part_count(intent):
        return intent.part_size  # type: ignore[return-value]
    return intent.size - intent.part_size * (part_count(intent) - 1)  # type: ignore[operator]


def start(store: ObjectStore, intent: UploadIntent) -> None:
    """Start the store's multipart upload for the intent (before its row is written; an upload whose row never
    commits is aborted by the sweeper)."""
    intent.part_size = part_size_for(intent.size)
    intent.upload_id = parts_of(store).start(intent.object_key, content_type="application/octet-stream")


def _part_url(store: ObjectStore, intent: UploadIntent, number: int, *, api_base: str) -> PartUrl:
    lifetime = timedelta(minutes=get_settings().upload_intent_minutes)
    expires_at = min(datetime.fromtimestamp(int((datetime.now(UTC) + lifetime).timestamp()), UTC), intent.expires_at)
    size = expected_size(intent, number)
    if store.can_presign:
        put = parts_of(store).presigned_part(
            intent.object_key,
            upload_id=intent.upload_id,  # type: ignore[arg-type]
            number=number,
            size=size,
            expires=max(expires_at - datetime.now(UTC), timedelta(seconds=1)),
        )
        url, headers = put.url, put.headers
    else:
        url, headers = links.sign_part(intent, number=number, api_base=api_base, expires_at=expires_at), {}
    return PartUrl(number=number, size=size, url=url, headers=headers, expires_at=expires_at)


def view(store: ObjectStore, intent: UploadIntent, *, api_base: str, held: list[StoredPart] | None) -> UploadParts:
    """The parts of the intent: those the store holds whole (held, of their exact size), and a fresh URL for each
    of the others (a part cut short on a server that kept it is sent again)."""
    count = part_count(intent)
    whole = [p for p in held or [] if 1 <= p.number <= count and p.size == expected_size(intent, p.number)]
    received = [ReceivedPart(number=p.number, size=p.size) for p in whole]
    have = {p.number for p in received}
    missing = [n for n in range(1, count + 1) if n not in have]
    return UploadParts(
        part_size=intent.part_size,  # type: ignore[arg-type]
        part_count=count,
        received=received,
        missing=missing,
        urls=[_part_url(store, intent, n, api_base=api_base) for n in missing],
    )


def own_intent(session: Session, *, intent_id: str, principal: Principal) -> UploadIntent:
    """The caller's own upload intent, not completed and not expired (404 when it is someone else's)."""
    intent = session.get(UploadIntent, intent_id)
    if intent is None or intent.created_by != principal.user_id:
        raise NotFound("未找到该上传任务", code="upload_not_found")
    if intent.completed_at is not None:
        raise Conflict("该上传已确认，无需重复确认", code="upload_already_completed")
    if intent.expires_at < datetime.now(UTC):
        raise Conflict("上传地址已过期，请重新申请上传", code="upload_expired")
    return intent


def status(session: Session, store: ObjectStore, *, intent_id: str, principal: Principal, api_base: str) -> UploadParts:
    """Which parts of the caller's resumable upload the store already holds, and URLs for the missing ones."""
    intent = own_intent(session, intent_id=intent_id, principal=principal)
    if intent.upload_id is None:
        raise Conflict("该上传不是分片上传，请用 upload_url 一次上传整个文件", code="upload_not_resumable")
    held = parts_of(store).list_parts(intent.object_key, upload_id=intent.upload_id)
    if held is None:
        raise Conflict("分片上传已结束（已合并或已过期清理），请重新申请上传", code="upload_parts_gone")
    return view(store, intent, api_base=api_base, held=held)


def assemble(store: ObjectStore, intent: UploadIntent) -> bool:
    """Join the parts into the intent's staging object when every part is there with its exact size; False when
    the store holds no such upload (nothing was sent, or it was already joined or aborted)."""
    held = parts_of(store).list_parts(intent.object_key, upload_id=intent.upload_id)  # type: ignore[arg-type]
    if held is None:
        return False
    by_number = {p.number: p for p in held}
    missing = [n for n in range(1, part_count(intent) + 1) if n not in by_number]
    if missing:
        shown = "、".join(str(n) for n in missing[:20]) + ("…" if len(missing) > 20 else "")
        message = f"还有 {len(missing)} 个分片未收到（第 {shown} 片），请补传后再确认"
        raise Conflict(message, code="upload_parts_missing")
    wrong = [p for p in held if p.number <= part_count(intent) and p.size != expected_size(intent, p.number)]
    if wrong or len(held) > part_count(intent):
        first = wrong[0] if wrong else held[-1]
        raise Invalid(
            f"第 {first.number} 个分片大小（{first.size} 字节）与应有的不一致，请按分片地址重新上传该分片",
            code="upload_part_size_mismatch",
        )
    parts_of(store).complete(intent.object_key, upload_id=intent.upload_id, parts=held)  # type: ignore[arg-type]
    return True


def abort(store: ObjectStore, key: str, upload_id: str | None) -> None:
    """Abort an intent's multipart upload, if it has one the store still holds (its parts are removed); best
    effort (the sweeper is the backstop)."""
    if upload_id is None:
        return
    try:
        parts_of(store).abort(key, upload_id=upload_id)
    except DomainError:
        log.warning("could not abort multipart upload %s of %s; the sweeper will", upload_id, key)


def abort_abandoned(session: Session, store: ObjectStore, *, prefix: str, before: datetime) -> int:
    """Abort multipart uploads under prefix begun before `before` that no pending intent names (an intent whose
    row never committed, or one already removed); how many."""
    aborted = 0
    for upload in list(parts_of(store).pending(prefix, before=before)):
        named = session.exec(
            select(UploadIntent.id).where(
                UploadIntent.upload_id == upload.upload_id, col(UploadIntent.completed_at).is_(None)
            )
        ).first()
        if named is None:
            parts_of(store).abort(upload.key, upload_id=upload.upload_id)
            aborted += 1
    return aborted


class _Exact:
    """The body of one part: refused as soon as it passes the part's size, and at its end if it falls short."""

    def __init__(self, source: BinaryIO, size: int) -> None:
        self._source, self._size, self._seen = source, size, 0

    def read(self, n: int = -1) -> bytes:
        data = self._source.read(n)
        self._seen += len(data)
        if self._seen > self._size or (not data and self._seen < self._size):
            raise _wrong_size(self._size)
        return data


def _wrong_size(size: int) -> Invalid:
    return Invalid(f"分片大小应为 {size} 字节，与收到的不一致，未保存", code="upload_part_size_mismatch")


def check_signed_part(
    *, intent_id: str, number: int, expires: int, signature: str, content_length: str | None
) -> UploadIntent:
    """The intent of a signed part link (links.sign_part), read in a transaction of its own that ends before the
    bytes travel; 403 upload_link_invalid/expired, 409 once completed, 422 for a body of another size."""
    with session_scope() as session:
        intent = links.verify_part(
            session, intent_id=intent_id, number=number, expires=expires, signature=signature, now=datetime.now(UTC)
        )
    if not 1 <= number <= part_count(intent):
        raise NotFound("没有这个分片", code="upload_part_not_found")
    if content_length is not None and content_length != str(expected_size(intent, number)):
        raise _wrong_size(expected_size(intent, number))
    return intent


def receive_part(store: ObjectStore, *, intent: UploadIntent, number: int, source: BinaryIO) -> None:
    """Store one part PUT to a signed part link (written aside: a cut or wrong-sized body keeps nothing)."""
    size = expected_size(intent, number)
    parts_of(store).put_part(
        intent.object_key,
        upload_id=intent.upload_id,  # type: ignore[arg-type]
        number=number,
        source=_Exact(source, size),
    )
