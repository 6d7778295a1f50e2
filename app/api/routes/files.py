"""Evidence files: multipart uploads streamed to the store, presigned direct uploads, downloads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, BinaryIO

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from app.api.deps import ApiBase, CurrentPrincipal, SessionDep, StorageDep, StreamingPrincipal, Today
from app.api.multipart import OPENAPI_BODY, stream_body, stream_file
from app.models import EvidenceVersion
from app.models.evidence import DownloadLink, EvidenceDetail, UploadIntentCreate, UploadIntentPublic
from app.services.access import Principal
from app.services.storage import ObjectStore
from app.services.submission import links, uploads
from app.services.submission.evidence import Where
from app.services.submission.filetypes import content_disposition
from app.settings import get_settings

router = APIRouter(tags=["evidence files"])


async def _upload(
    request: Request, store: ObjectStore, *, where: Where, title: str | None, who: Principal, today: Today
) -> EvidenceDetail:
    # Checked before any byte is read; no transaction is open while the file streams.
    target = await run_in_threadpool(uploads.prepare, where=where, principal=who, today=today)
    limit = get_settings().max_upload_bytes

    def receive(source: BinaryIO, filename: str) -> uploads.Received:
        return uploads.receive(store, target=target, source=source, filename=filename, max_bytes=limit)

    received = await stream_file(request, receive, max_bytes=limit)
    return await run_in_threadpool(
        uploads.record, store, where=where, received=received, title=title, principal=who, today=today
    )


@router.post(
    "/assignments/{assignment_id}/evidence/file",
    response_model=EvidenceDetail,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=OPENAPI_BODY,
)
async def upload_file(
    assignment_id: int,
    request: Request,
    who: StreamingPrincipal,
    today: Today,
    store: StorageDep,
    title: str | None = None,
    material_request_id: int | None = None,
) -> EvidenceDetail:
    """Upload a file as new evidence (multipart field "file"); its type is decided by its content."""
    where = Where(assignment_id=assignment_id, material_request_id=material_request_id)
    return await _upload(request, store, where=where, title=title, who=who, today=today)


@router.post(
    "/evidence/{evidence_id}/versions/file",
    response_model=EvidenceDetail,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=OPENAPI_BODY,
)
async def upload_version(
    evidence_id: int, request: Request, who: StreamingPrincipal, today: Today, store: StorageDep
) -> EvidenceDetail:
    """Upload a file as a new version of existing evidence (multipart field "file")."""
    return await _upload(request, store, where=Where(evidence_id=evidence_id), title=None, who=who, today=today)


@router.post(
    "/assignments/{assignment_id}/evidence/uploads",
    response_model=UploadIntentPublic,
    status_code=status.HTTP_201_CREATED,
)
def start_direct_upload(
    assignment_id: int,
    data: UploadIntentCreate,
    session: SessionDep,
    who: CurrentPrincipal,
    today: Today,
    store: StorageDep,
    api_base: ApiBase,
) -> UploadIntentPublic:
    """A PUT URL for a mobile app to send a file straight to the store (presigned, or the API's own signed link
    where the store cannot presign); then call complete."""
    where = Where(assignment_id=assignment_id, material_request_id=data.material_request_id)
    return uploads.create_intent(session, store, where=where, data=data, principal=who, today=today, api_base=api_base)


@router.post("/evidence/{evidence_id}/uploads", response_model=UploadIntentPublic, status_code=status.HTTP_201_CREATED)
def start_direct_version_upload(
    evidence_id: int,
    data: UploadIntentCreate,
    session: SessionDep,
    who: CurrentPrincipal,
    today: Today,
    store: StorageDep,
    api_base: ApiBase,
) -> UploadIntentPublic:
    """A PUT URL (presigned, or the API's own signed link) for a new version of existing evidence."""
    where = Where(evidence_id=evidence_id)
    return uploads.create_intent(session, store, where=where, data=data, principal=who, today=today, api_base=api_base)


@router.post("/uploads/{intent_id}/complete", response_model=EvidenceDetail, status_code=status.HTTP_201_CREATED)
def complete_direct_upload(
    intent_id: str, session: SessionDep, who: CurrentPrincipal, today: Today, store: StorageDep
) -> EvidenceDetail:
    """Check the directly uploaded object (size, checksum, type) and record it as evidence."""
    return uploads.complete_intent(session, store, intent_id=intent_id, principal=who, today=today)


def _file_response(version: EvidenceVersion, chunks: Iterator[bytes]) -> StreamingResponse:
    headers = {
        "Content-Disposition": content_disposition(version.filename or "file"),
        "Content-Length": str(version.size),
        "ETag": f'"{version.sha256}"',
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }
    return StreamingResponse(chunks, media_type=version.content_type, headers=headers)


@router.get(
    "/evidence/{evidence_id}/versions/{number}/content",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "文件内容"}},
)
def download_version(
    evidence_id: int, number: int, session: SessionDep, who: CurrentPrincipal, store: StorageDep
) -> StreamingResponse:
    """The file of one version, streamed, under its original name."""
    version, chunks = uploads.open_download(session, store, evidence_id=evidence_id, number=number, principal=who)
    return _file_response(version, chunks)


@router.get("/evidence/{evidence_id}/versions/{number}/link", response_model=DownloadLink)
def download_link(
    evidence_id: int, number: int, session: SessionDep, who: CurrentPrincipal, store: StorageDep, api_base: ApiBase
) -> DownloadLink:
    """A short-lived GET URL for one version's file, usable without a token: presigned by the object store, or
    the API's own signed link (/downloads/…) where the store cannot presign (the local folder)."""
    return uploads.download_link(
        session, store, evidence_id=evidence_id, number=number, principal=who, api_base=api_base
    )


@router.get(
    f"{links.PATH}/{{version_id}}",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "文件内容"},
        403: {"description": "链接无效（download_link_invalid）或已过期（download_link_expired）"},
    },
)
def signed_download(
    version_id: int,
    session: SessionDep,
    store: StorageDep,
    expires: Annotated[int, Query(description="到期时间（Unix 秒）")],
    signature: Annotated[str, Query(max_length=100, description="签名")],
) -> StreamingResponse:
    """The file of a signed link from …/versions/{number}/link (no token: the signed link is the permission,
    for SHIFAN_DOWNLOAD_LINK_MINUTES)."""
    version, chunks = uploads.open_signed_download(
        session, store, version_id=version_id, expires=expires, signature=signature
    )
    return _file_response(version, chunks)


@router.put(
    f"{links.UPLOAD_PATH}/{{intent_id}}/content",
    status_code=status.HTTP_200_OK,
    response_class=Response,
    responses={
        200: {"description": "已收到文件内容；再调用 complete 确认"},
        403: {"description": "链接无效（upload_link_invalid）或已过期（upload_link_expired）"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def signed_upload(
    intent_id: str,
    request: Request,
    store: StorageDep,
    expires: Annotated[int, Query(description="到期时间（Unix 秒）")],
    signature: Annotated[str, Query(max_length=100, description="签名")],
) -> Response:
    """The bytes of a direct upload, PUT to the signed upload_url of …/evidence/uploads where the store cannot
    presign (no token: the signed link is the permission); then call /uploads/{id}/complete as usual."""
    intent = await run_in_threadpool(
        uploads.check_signed_upload, intent_id=intent_id, expires=expires, signature=signature
    )
    limit = get_settings().max_upload_bytes

    def receive(source: BinaryIO) -> None:
        uploads.receive_signed_upload(store, intent=intent, source=source, max_bytes=limit)

    await stream_body(request, receive, max_bytes=limit)
    return Response(status_code=status.HTTP_200_OK)
