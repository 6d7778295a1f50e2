"""First-page previews: a small PNG of every PDF's first page and of every image, made by the worker after
the upload (never in the request), so a reviewer's list shows what each file is before downloading it.

A version is recorded with preview "pending" when its type has a renderer (filetypes.PREVIEWABLE). Any
number of workers may run: a claim is a conditional update on the version's lease (FOR UPDATE SKIP
LOCKED on PostgreSQL), the file is read and rendered with no transaction open, and the result is
recorded only while the lease is still this worker's (otherwise the PNG it wrote is removed again).
PDFs are rendered with PDFium (pypdfium2: a wheel, no system library, no subprocess per file; it draws
the fonts a PDF embeds, so Chinese text shows); images are scaled with Pillow, with a pixel limit
against decompression bombs. A file that cannot be rendered gets preview "none" (its type icon).
"""

from __future__ import annotations

import hashlib
import io
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import pypdfium2
from PIL import Image, ImageOps
from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from app.db import session_scope
from app.models import EvidenceVersion
from app.models._base import utcnow
from app.models.evidence import PreviewState
from app.services.access import Principal
from app.services.errors import NotFound
from app.services.storage import ObjectStore
from app.services.submission import evidence, uploads

log = logging.getLogger("shifan.previews")
PREVIEW_ROOT = uploads.PREVIEW_ROOT  # written by the worker only; swept when no version names them
MEDIA_TYPE = "image/png"
MAX_SIDE = 320  # pixels on the longer side: a list thumbnail, a few tens of kilobytes
MAX_SOURCE_BYTES = 64 * 1024 * 1024  # larger files keep their type icon rather than fill a worker's memory
MAX_PIXELS = 100_000_000  # an image claiming more is refused before it is decoded
MAX_ATTEMPTS = 3
LEASE_SECONDS = 120


class Unrenderable(Exception):
    """This file will not give a preview, however often it is tried."""


@dataclass(frozen=True)
class Work:
    """A claimed version: what rendering needs, without the database."""

    version_id: int
    lease_token: str
    attempt: int
    object_key: str
    extension: str
    size: int
    sha256: str


def claim(session: Session, *, now: datetime, limit: int, lease_seconds: int = LEASE_SECONDS) -> list[Work]:
    """Take up to limit pending versions under one fresh lease (three statements whatever the batch)."""
    free = (
        col(EvidenceVersion.preview) == PreviewState.pending,
        or_(col(EvidenceVersion.preview_lease_until).is_(None), col(EvidenceVersion.preview_lease_until) < now),
    )
    due = select(EvidenceVersion.id).where(*free).order_by(EvidenceVersion.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    token = str(uuid.uuid4())
    # Compare-and-set: only versions still free are taken, so a worker that raced us simply gets fewer.
    taken = (
        session.execute(
            update(EvidenceVersion)
            .where(col(EvidenceVersion.id).in_(session.exec(due).all()), *free)
            .values(
                preview_lease_token=token,
                preview_lease_until=now + timedelta(seconds=lease_seconds),
                preview_attempts=EvidenceVersion.preview_attempts + 1,
            )
            .returning(EvidenceVersion.id)
            .execution_options(synchronize_session=False)
        )
        .scalars()
        .all()
    )
    rows = session.exec(
        select(EvidenceVersion)
        .where(col(EvidenceVersion.id).in_(taken))
        .order_by(EvidenceVersion.id)
        .execution_options(populate_existing=True)
    ).all()
    return [
        Work(
            version_id=v.id,  # type: ignore[arg-type]
            lease_token=token,
            attempt=v.preview_attempts,
            object_key=v.object_key or "",
            extension=v.extension or "",
            size=v.size or 0,
            sha256=v.sha256 or "",
        )
        for v in rows
    ]


def render(data: bytes, extension: str) -> bytes:
    """The PNG preview of a PDF's first page or of an image, at most MAX_SIDE pixels on its longer side."""
    try:
        image = _pdf_page(data) if extension == "pdf" else _image(data)
    except Unrenderable:
        raise
    except Exception as exc:  # noqa: BLE001 - PDFium and Pillow raise many kinds for a broken file
        raise Unrenderable(f"{type(exc).__name__}: {exc}") from exc
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _pdf_page(data: bytes) -> Image.Image:
    pdf = pypdfium2.PdfDocument(data)
    try:
        if len(pdf) == 0:
            raise Unrenderable("PDF without pages")
        page = pdf[0]
        try:
            width, height = page.get_size()  # points
            scale = MAX_SIDE / max(width, height, 1.0)
            return page.render(scale=scale, draw_annots=True).to_pil()
        finally:
            page.close()
    finally:
        pdf.close()


def _image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    if image.width * image.height > MAX_PIXELS:
        raise Unrenderable(f"image of {image.width}×{image.height} pixels")
    image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at a reduced size straight away
    return ImageOps.exif_transpose(image)  # phone photos stand the right way up


def _read(store: ObjectStore, work: Work) -> bytes:
    """The file's bytes, refused when too large or not the bytes recorded."""
    if work.size > MAX_SOURCE_BYTES:
        raise Unrenderable(f"{work.size} bytes is above the preview limit")
    data = b"".join(store.iter_bytes(work.object_key))
    if hashlib.sha256(data).hexdigest() != work.sha256:
        raise Unrenderable("stored bytes differ from the recorded checksum")
    return data


def settle(session: Session, *, work: Work, key: str | None, retry: bool, now: datetime) -> bool:
    """Record a preview (key), or no preview, or a retry later; False if the lease was lost meanwhile."""
    if key is not None:
        values = {"preview": PreviewState.ready, "preview_key": key, "preview_lease_until": None}
    elif retry and work.attempt < MAX_ATTEMPTS:
        values = {"preview_lease_until": now + timedelta(seconds=30 * 2**work.attempt)}  # pending, tried later
    else:
        values = {"preview": PreviewState.none, "preview_lease_until": None}
    result = session.execute(
        update(EvidenceVersion)
        .where(col(EvidenceVersion.id) == work.version_id, col(EvidenceVersion.preview_lease_token) == work.lease_token)
        .values(preview_lease_token=None, **values)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def make(store: ObjectStore, work: Work) -> tuple[str | None, bool]:
    """(the stored preview's key, or None; whether trying again may help), never raising."""
    try:
        png = render(_read(store, work), work.extension)
        key = f"{PREVIEW_ROOT}{uuid.uuid4().hex}"
        store.put_stream(key, io.BytesIO(png), content_type=MEDIA_TYPE, max_bytes=len(png))
        return key, False
    except Unrenderable as exc:
        log.info("no preview for version %s: %s", work.version_id, exc)
        return None, False
    except Exception:  # noqa: BLE001 - the store away for a moment: tried again later
        log.exception("preview of version %s failed; retried later", work.version_id)
        return None, True


def run_once(store: ObjectStore, *, limit: int = 20, now: datetime | None = None) -> dict[str, int]:
    """Claim, render and record one batch of previews; counts of what happened."""
    with session_scope() as session:
        work = claim(session, now=now or utcnow(), limit=limit)
    counts = {"claimed": len(work), "ready": 0, "none": 0, "retry": 0}
    for item in work:
        key, retry = make(store, item)
        try:
            with session_scope() as session:
                kept = settle(session, work=item, key=key, retry=retry, now=utcnow())
        except Exception:  # noqa: BLE001 - its lease runs out and it is claimed again
            log.exception("preview of version %s could not be recorded", item.version_id)
            kept = False
        if key is not None and not kept:
            store.delete(key)  # another worker took the version over; its preview wins
        counts["ready" if key else "retry" if retry else "none"] += 1
    return counts


def open_preview(session: Session, store: ObjectStore, *, evidence_id: int, number: int, principal: Principal) -> bytes:
    """The PNG preview of a version the caller may read (the same rule as downloading its file)."""
    version = evidence.get_version(session, evidence_id=evidence_id, number=number, principal=principal)
    if version.preview == PreviewState.pending:
        raise NotFound("预览图正在生成，请稍后再试", code="preview_not_ready")
    if version.preview != PreviewState.ready or version.preview_key is None:
        raise NotFound("该文件没有预览图，请下载后查看", code="preview_unavailable")
    return b"".join(store.iter_bytes(version.preview_key))
