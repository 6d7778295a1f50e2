"""First-page previews as the API serves them: a small PNG of a PDF's first page or an image, made by the
worker's preview job (app.services.worker.previews; the rendering itself is submission.rendering) and read
here with exactly the access rules of the file's download."""

from __future__ import annotations

from sqlmodel import Session

from app.models.evidence import PreviewState
from app.services.access import Principal
from app.services.errors import NotFound
from app.services.storage import ObjectStore
from app.services.submission import evidence, uploads

PREVIEW_ROOT = uploads.PREVIEW_ROOT  # written by the worker only; swept when no version names them
MEDIA_TYPE = "image/png"


def open_preview(session: Session, store: ObjectStore, *, evidence_id: int, number: int, principal: Principal) -> bytes:
    """The PNG preview of a version the caller may read (the same rule as downloading its file)."""
    version = evidence.get_version(session, evidence_id=evidence_id, number=number, principal=principal)
    if version.preview == PreviewState.pending:
        raise NotFound("预览图正在生成，请稍后再试", code="preview_not_ready")
    if version.preview != PreviewState.ready or version.preview_key is None:
        raise NotFound("该文件没有预览图，请下载后查看", code="preview_unavailable")
    return b"".join(store.iter_bytes(version.preview_key))
