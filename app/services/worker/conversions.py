"""A JPEG copy of a photo on request (a HEIC from an iPhone, for a computer that cannot open HEIC): decoded in a
limited child process like every file job (worker.sandbox), with exactly the access rules of the file's download."""

from __future__ import annotations

from sqlmodel import Session

from app.models import EvidenceVersion
from app.services.access import Principal
from app.services.errors import Conflict
from app.services.storage import ObjectStore
from app.services.submission import evidence
from app.services.submission.filetypes import IMAGES
from app.services.worker import filejobs, files

MAX_SOURCE_BYTES = 64 * 1024 * 1024  # as for previews: a photo is far smaller
MEDIA_TYPE = "image/jpeg"


def jpeg_copy(
    session: Session, store: ObjectStore, *, evidence_id: int, number: int, principal: Principal
) -> tuple[EvidenceVersion, bytes]:
    """A version the caller may read, and its picture as a JPEG (turned the way its EXIF says)."""
    version = evidence.get_version(session, evidence_id=evidence_id, number=number, principal=principal)
    if version.object_key is None or version.extension not in IMAGES:
        raise Conflict("该版本不是照片或图片，没有 JPEG 格式可下载", code="not_an_image")
    try:
        answer = files.run(store, version, filejobs.JPEG, max_bytes=MAX_SOURCE_BYTES, where="jpeg")
    except files.JobFailed as exc:
        raise Conflict(f"照片无法转换为 JPEG（{exc.code}），请下载原文件", code="jpeg_unavailable") from exc
    if answer[0] != "jpeg":
        raise Conflict("照片无法转换为 JPEG（文件无法解析），请下载原文件", code="jpeg_unavailable")
    return version, answer[1]
