"""Evidence files: uploads streamed through the API, presigned direct uploads, downloads, sweepers.

A file upload is three steps so that no database transaction stays open while bytes travel:
prepare (check role, unit, lock, state), receive (sniff, hash, size limit, stream to the store, then
check the stored file's structure) and record (check again and write the rows). If recording fails
the bytes are removed at once; the orphan sweeper is the backstop for a process that dies in between.

A direct upload's client holds a presigned PUT for a staging key until it expires (a resumable one, also a URL
per part: direct.py), so completing one copies the object (server-side) to a key of its own that no client
can write, deletes the staging key and checks the copy: what is recorded is what was checked, whatever the
client sends later.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import BinaryIO

from sqlmodel import Session, col, select

from app.db import on_commit, session_scope
from app.models import Campaign, EvidenceVersion, UploadIntent
from app.models.evidence import (
    DownloadLink,
    EvidenceDetail,
    EvidenceKind,
    UploadIntentCreate,
    UploadIntentPublic,
    VersionDates,
)
from app.observability import UPLOAD_BYTES
from app.services.access import Principal
from app.services.errors import Conflict, DomainError, Invalid, NotFound, file_too_large
from app.services.media.photos import PhotoFacts
from app.services.platform import audit
from app.services.storage import ObjectStore
from app.services.submission import direct, evidence, integrity, links, structure
from app.services.submission.evidence import Content, Target, Where
from app.services.submission.filetypes import (
    HEAD_BYTES,
    FileType,
    content_disposition,
    download_name,
    safe_filename,
    sniff,
)
from app.settings import get_settings

log = logging.getLogger("shifan.uploads")
KEY_ROOT = "ev/"  # recorded versions: written by the application only
STAGING_ROOT = "up/"  # direct uploads before completion: written by clients through presigned PUTs
PREVIEW_ROOT = "pv/"  # first-page previews: written by the worker (previews.py)


@dataclass(frozen=True)
class Received:
    """A file now in the store, with what was measured on the way in."""

    key: str
    filename: str
    filetype: FileType
    size: int
    sha256: str
    page_count: int | None = None
    photo: PhotoFacts | None = None

    def content(self, dates: VersionDates | None = None) -> Content:
        photo = self.photo or PhotoFacts()
        return Content(
            kind=EvidenceKind.file,
            object_key=self.key,
            filename=self.filename,
            content_type=self.filetype.content_type,
            extension=self.filetype.extension,
            size=self.size,
            sha256=self.sha256,
            page_count=self.page_count,
            taken_at=photo.taken_at,
            taken_latitude=photo.latitude,
            taken_longitude=photo.longitude,
            **(dates or VersionDates()).model_dump(),
        )


class _Prefixed:
    """A reader that gives back the bytes already read for sniffing, then the rest of source."""

    def __init__(self, head: bytes, source: BinaryIO) -> None:
        self._head = head
        self._source = source

    def read(self, n: int = -1) -> bytes:
        if self._head:
            data, self._head = (self._head, b"") if n < 0 or n >= len(self._head) else (self._head[:n], self._head[n:])
            return data
        return self._source.read(n)


def _read_head(source: BinaryIO) -> bytes:
    parts: list[bytes] = []
    have = 0
    while have < HEAD_BYTES:
        chunk = source.read(HEAD_BYTES - have)
        if not chunk:
            break
        parts.append(chunk)
        have += len(chunk)
    return b"".join(parts)


def new_key(campaign_id: int, unit_id: int, *, root: str = KEY_ROOT) -> str:
    """A fresh object key under the campaign's and unit's prefix; never derived from anything the user sent."""
    return f"{root}{campaign_id}/{unit_id}/{uuid.uuid4().hex}"


def discard(store: ObjectStore, key: str) -> None:
    """Remove a received file that will not be recorded (best effort; the orphan sweeper is the backstop)."""
    try:
        store.delete(key)
    except DomainError:
        log.warning("could not remove %s after a failed upload; the orphan sweeper will", key)


def prepare(*, where: Where, principal: Principal, today: date) -> Target:
    """Check that the caller may submit there now, before any byte is read (own short transaction)."""
    with session_scope() as session:
        return evidence.resolve(session, where=where, principal=principal, today=today)


def receive(store: ObjectStore, *, target: Target, source: BinaryIO, filename: str, max_bytes: int) -> Received:
    """Stream source into the store: type from the first bytes, SHA-256 and size limit on the way."""
    head = _read_head(source)
    filetype = sniff(head, filename)
    key = new_key(target.campaign_id, target.unit_id)
    stored = store.put_stream(key, _Prefixed(head, source), content_type=filetype.content_type, max_bytes=max_bytes)
    try:
        found = structure.inspect(store, key=key, size=stored.size, filetype=filetype)
    except BaseException:
        discard(store, key)
        raise
    return Received(
        key, safe_filename(filename), found.filetype, stored.size, stored.sha256, found.page_count, found.photo
    )


def record(
    store: ObjectStore,
    *,
    where: Where,
    received: Received,
    title: str | None,
    principal: Principal,
    today: date,
    dates: VersionDates | None = None,
) -> EvidenceDetail:
    """Write the rows for a received file (own transaction); on any failure the bytes are removed."""
    try:
        with session_scope() as session:
            content = received.content(dates)
            row = evidence.submit(session, where=where, content=content, title=title, principal=principal, today=today)
            result = evidence.detail(session, row, principal=principal)
    except BaseException:
        discard(store, received.key)
        raise
    UPLOAD_BYTES.labels("api").inc(received.size)
    return result


def create_intent(
    session: Session,
    store: ObjectStore,
    *,
    where: Where,
    data: UploadIntentCreate,
    principal: Principal,
    today: date,
    api_base: str,
) -> UploadIntentPublic:
    """A PUT URL for a file the client will send straight to the store: presigned by the store, or where the
    store cannot presign, the API's own signed link (api_base is the API's URL prefix). Same lifetime."""
    settings = get_settings()
    target = evidence.resolve(session, where=where, principal=principal, today=today)
    if data.size > settings.max_upload_bytes:
        raise file_too_large(settings.max_upload_bytes)
    key = new_key(target.campaign_id, target.unit_id, root=STAGING_ROOT)
    in_parts = data.resumable if data.resumable is not None else data.size > direct.part_size_for(data.size)
    lifetime = timedelta(minutes=settings.upload_intent_minutes)
    if in_parts:  # a large file over a weak link may take hours; each part URL still lasts the short lifetime
        lifetime = timedelta(hours=settings.resumable_upload_hours)
    expires_at = datetime.fromtimestamp(int((datetime.now(UTC) + lifetime).timestamp()), UTC)
    intent_id = uuid.uuid4().hex
    headers: dict[str, str] = {}
    if store.can_presign:
        # Content-Length (and the SHA-256 when declared) are signed: a different body fails at the S3 server.
        put = store.presigned_put(key, expires=lifetime, size=data.size, sha256=data.sha256)
        url, headers = put.url, put.headers
    intent = UploadIntent(
        id=intent_id,
        object_key=key,
        campaign_id=target.campaign_id,
        unit_id=target.unit_id,
        assignment_id=where.assignment_id,
        material_request_id=where.material_request_id,
        evidence_id=where.evidence_id,
        title=data.title,
        filename=safe_filename(data.filename),
        size=data.size,
        sha256=data.sha256,
        created_by=principal.user_id,
        expires_at=expires_at,
    )
    if not store.can_presign:
        url = links.sign_upload(intent, api_base=api_base, expires_at=expires_at)
    if in_parts:
        direct.start(store, intent)
    session.add(intent)
    session.flush()
    audit.record(
        session,
        principal=principal,
        action="upload.intent",
        object_type="upload_intent",
        object_id=intent.id,
        county_id=target.county_id,
        campaign_id=target.campaign_id,
        after=audit.snapshot(intent, "object_key", "filename", "size", "sha256", "expires_at", "part_size"),
    )
    parts = direct.view(store, intent, api_base=api_base, held=[]) if in_parts else None
    return UploadIntentPublic(
        id=intent.id, upload_url=url, headers=headers, expires_at=intent.expires_at, max_bytes=data.size, parts=parts
    )


def _take(store: ObjectStore, intent: UploadIntent) -> Received:
    """Copy the client's object to a key no client can write, then check the copy: it has the declared
    size and checksum, an accepted type and a sound structure. On any failure the copy is removed; the
    client's object stays until the version is recorded (complete_intent removes it then)."""
    size = store.size_of(intent.object_key)
    # The whole file PUT at upload_url, or one a previous completion joined, is taken as it is; else the parts.
    joined = size is None and intent.upload_id is not None and direct.assemble(store, intent)
    if joined:
        size = store.size_of(intent.object_key)
    if size is None:
        raise Conflict("尚未收到文件，请先用上传地址上传后再确认", code="upload_missing")
    try:
        if size != intent.size:
            message = f"收到的文件大小（{size} 字节）与申报的（{intent.size} 字节）不一致"
            raise Invalid(message, code="upload_size_mismatch")
        key = new_key(intent.campaign_id, intent.unit_id)
        store.copy(intent.object_key, key)
        try:
            return _check_copy(store, intent, key)
        except BaseException:
            discard(store, key)
            raise
    except Invalid:
        if joined:  # joined parts that fail the check can never pass it: nothing of them is kept
            discard(store, intent.object_key)
        raise


def _check_copy(store: ObjectStore, intent: UploadIntent, key: str) -> Received:
    # One pass over the copy: its first bytes for the type, all of them for the size and checksum.
    digest, size = hashlib.sha256(), 0
    head = bytearray()
    for chunk in store.iter_bytes(key):
        digest.update(chunk)
        size += len(chunk)
        if len(head) < HEAD_BYTES:
            head.extend(chunk[: HEAD_BYTES - len(head)])
    if size != intent.size:
        raise Invalid(f"收到的文件大小（{size} 字节）与申报的（{intent.size} 字节）不一致", code="upload_size_mismatch")
    filetype = sniff(bytes(head), intent.filename)
    if intent.sha256 and digest.hexdigest() != intent.sha256:
        raise Invalid("文件校验值（SHA-256）与申报的不一致，文件可能损坏，请重新上传", code="checksum_mismatch")
    found = structure.inspect(store, key=key, size=size, filetype=filetype)
    return Received(key, intent.filename, found.filetype, size, digest.hexdigest(), found.page_count, found.photo)


def complete_intent(
    session: Session, store: ObjectStore, *, intent_id: str, principal: Principal, today: date
) -> EvidenceDetail:
    """Record the evidence of a direct upload once its object is verified."""
    intent = session.get(UploadIntent, intent_id)
    if intent is None or intent.created_by != principal.user_id:
        raise NotFound("未找到该上传任务", code="upload_not_found")
    if intent.completed_at is not None:
        raise Conflict("该上传已确认，无需重复确认", code="upload_already_completed")
    if intent.expires_at < datetime.now(UTC):
        raise Conflict("上传地址已过期，请重新申请上传", code="upload_expired")
    received = _take(store, intent)
    try:
        # Lock the intent only now (not while hashing) and check again: two completions record once.
        locked = session.exec(
            select(UploadIntent)
            .where(UploadIntent.id == intent_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        if locked.completed_at is not None:
            raise Conflict("该上传已确认，无需重复确认", code="upload_already_completed")
        where = Where(intent.assignment_id, intent.material_request_id, intent.evidence_id)
        row = evidence.submit(
            session, where=where, content=received.content(), title=intent.title, principal=principal, today=today
        )
        locked.completed_at = datetime.now(UTC)
        session.add(locked)
        session.flush()
        result = evidence.detail(session, row, principal=principal)
    except BaseException:
        discard(store, received.key)
        raise
    # Only once the version is committed does the checked copy replace the client's object: when the check, the
    # recording or the commit failed for a passing reason (the store or the database away a moment, 503), a
    # retry of complete still finds it.
    client_key, upload_id = intent.object_key, intent.upload_id
    on_commit(session, lambda: (discard(store, client_key), direct.abort(store, client_key, upload_id)))
    UPLOAD_BYTES.labels("direct").inc(received.size)
    return result


def _file_version(session: Session, *, evidence_id: int, number: int, principal: Principal) -> EvidenceVersion:
    version = evidence.get_version(session, evidence_id=evidence_id, number=number, principal=principal)
    if version.object_key is None:
        raise Conflict("该版本是网址或情况说明，没有可下载的文件", code="not_a_file")
    return version


def open_download(
    session: Session, store: ObjectStore, *, evidence_id: int, number: int, principal: Principal
) -> tuple[EvidenceVersion, Iterator[bytes]]:
    """A file version and its bytes, already requested from the store so a failure is an error, not a cut stream."""
    version = _file_version(session, evidence_id=evidence_id, number=number, principal=principal)
    return version, integrity.open_verified(store, version, principal=principal, where="content")


def download_link(
    session: Session, store: ObjectStore, *, evidence_id: int, number: int, principal: Principal, api_base: str
) -> DownloadLink:
    """A short-lived GET URL that serves the file under its original name: presigned by the store, or where
    the store cannot presign, the API's own signed link (api_base is the API's URL prefix, e.g.
    http://host/api/v1). Same lifetime and the same check of the caller either way."""
    version = _file_version(session, evidence_id=evidence_id, number=number, principal=principal)
    integrity.check_size(store, version, principal=principal, where="link")
    lifetime = timedelta(minutes=get_settings().download_link_minutes)
    if not store.can_presign:
        expires_at = datetime.fromtimestamp(int((datetime.now(UTC) + lifetime).timestamp()), UTC)
        return DownloadLink(url=links.sign(version, api_base=api_base, expires_at=expires_at), expires_at=expires_at)
    url = store.presigned_get(
        version.object_key,  # type: ignore[arg-type]
        expires=lifetime,
        headers={
            "response-content-disposition": content_disposition(download_name(version.filename, version.extension)),
            "response-content-type": version.content_type or "application/octet-stream",
        },
    )
    return DownloadLink(url=url, expires_at=datetime.now(UTC) + lifetime)


@dataclass(frozen=True)
class SweepReport:
    """What one sweep removed."""

    expired_intents: int
    orphans: int
    abandoned_parts: int = 0  # multipart uploads no pending intent names, aborted


def sweep(session: Session, store: ObjectStore, *, now: datetime, grace: timedelta) -> SweepReport:
    """Remove objects of intents that expired more than grace ago, and objects no row refers to."""
    expired = session.exec(
        select(UploadIntent).where(col(UploadIntent.completed_at).is_(None), UploadIntent.expires_at < now - grace)
    ).all()
    county_of = dict(
        session.exec(
            select(Campaign.id, Campaign.county_id).where(col(Campaign.id).in_({i.campaign_id for i in expired}))
        ).all()
    )
    for intent in expired:
        store.delete(intent.object_key)
        direct.abort(store, intent.object_key, intent.upload_id)
        audit.record(
            session,
            principal=None,
            action="upload.expire",
            object_type="upload_intent",
            object_id=intent.id,
            county_id=county_of.get(intent.campaign_id),
            campaign_id=intent.campaign_id,
            before=audit.snapshot(intent, "object_key", "filename", "size"),
        )
        session.delete(intent)
    session.flush()
    orphans = 0
    roots = (KEY_ROOT, STAGING_ROOT, PREVIEW_ROOT)
    candidates = [key for root in roots for key in store.keys(root, before=now - grace)]
    for start in range(0, len(candidates), 500):
        batch = candidates[start : start + 500]
        known = set(session.exec(select(EvidenceVersion.object_key).where(col(EvidenceVersion.object_key).in_(batch))))
        # A preview is kept while its version names it (the worker stores it just before recording it).
        known |= set(
            session.exec(select(EvidenceVersion.preview_key).where(col(EvidenceVersion.preview_key).in_(batch)))
        )
        # A completed intent's key is not kept: a client still holding its URL may write there again.
        pending = select(UploadIntent.object_key).where(
            col(UploadIntent.object_key).in_(batch), col(UploadIntent.completed_at).is_(None)
        )
        known |= set(session.exec(pending))
        for key in batch:
            if key not in known:
                store.delete(key)
                orphans += 1
    abandoned = direct.abort_abandoned(session, store, prefix=STAGING_ROOT, before=now - grace)
    if orphans or abandoned:
        log.info("sweeper removed %d orphaned objects, aborted %d abandoned multipart uploads", orphans, abandoned)
    return SweepReport(expired_intents=len(expired), orphans=orphans, abandoned_parts=abandoned)
