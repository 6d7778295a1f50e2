"""Evidence files: multipart uploads streamed to the store, presigned direct uploads, downloads."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from app.api.deps import ApiBase, CurrentPrincipal, SessionDep, StorageDep, StreamingPrincipal, Today
from app.api.idempotency import claim_of, form_fingerprint
from app.api.location import CREATED, created_at
from app.api.multipart import FIELD, StreamingForm, openapi_body, stream_body
from app.api.openapi import binary, header, request_body
from app.models import EvidenceVersion
from app.models.evidence import (
    DownloadLink,
    EvidenceDetail,
    FileFields,
    UploadIntentCreate,
    UploadIntentPublic,
    UploadParts,
    VersionDates,
)
from app.models.text import Line
from app.services.access import Principal
from app.services.storage import ObjectStore
from app.services.submission import direct, links, previews, uploads
from app.services.submission.evidence import Where
from app.services.submission.filetypes import content_disposition, download_name
from app.services.worker import conversions
from app.settings import get_settings

router = APIRouter(tags=["evidence files"])


_TITLE = "资料标题（可选，不填则用文件名）；也可作为查询参数"
_MATERIAL = "对应的资料清单编号（可选）；也可作为查询参数"
_DATE_FIELDS = {
    "document_date": {"type": "string", "format": "date", "description": "成文日期/发生日期（可选），如 2023-03-05"},
    "period_start": {"type": "string", "format": "date", "description": "资料涵盖期间的开始日期（可选）"},
    "period_end": {"type": "string", "format": "date", "description": "资料涵盖期间的结束日期（可选）"},
}
DocumentDate = Annotated[date | None, Query(description="成文日期/发生日期（可选）；也可作为表单字段")]
PeriodStart = Annotated[date | None, Query(description="资料涵盖期间的开始日期（可选）；也可作为表单字段")]
PeriodEnd = Annotated[date | None, Query(description="资料涵盖期间的结束日期（可选）；也可作为表单字段")]


def _target(query: dict[str, Any], form: dict[str, str]) -> FileFields:
    """title and material_request_id from the query or the form (browser FormData); the same field in
    both with different values is refused rather than one silently winning."""
    merged: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for name in query:  # only the fields this route takes
        given, sent = query.get(name), form.get(name)
        if given is not None and sent is not None and str(given) != sent:
            conflict = {"error": f"查询参数与表单中的 {name} 不一致"}
            errors.append({"type": "value_error", "loc": ("body", name), "ctx": conflict})
        value = sent if sent is not None else given
        if value is not None and value != "":
            merged[name] = value
    if errors:
        raise RequestValidationError(errors)
    try:
        return FileFields.model_validate(merged)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from exc


async def _upload(
    request: Request, store: ObjectStore, *, where: Where, query: dict[str, Any], who: Principal, today: Today
) -> EvidenceDetail | Response:
    limit = get_settings().max_upload_bytes
    form = StreamingForm(request, max_bytes=limit)
    # Fields sent before the file choose where it goes; checked before any file byte is stored, and
    # no transaction is open while the file streams.
    before = _target(query, await form.open())
    where = replace(where, material_request_id=before.material_request_id)
    target = await run_in_threadpool(uploads.prepare, where=where, principal=who, today=today)

    def receive(source: BinaryIO, filename: str) -> uploads.Received:
        return uploads.receive(store, target=target, source=source, filename=filename, max_bytes=limit)

    received = await form.stream(receive)
    try:
        after = _target(query, form.fields)  # with the fields sent after the file
        replay = await _claim_key(request, form.fields, received)
    except BaseException:
        await run_in_threadpool(uploads.discard, store, received.key)
        raise
    if replay is not None:  # a retry of an upload already recorded: its copy of the file is not kept
        await run_in_threadpool(uploads.discard, store, received.key)
        return replay
    where = replace(where, material_request_id=after.material_request_id)
    dates = VersionDates.model_validate(after, from_attributes=True)
    return await run_in_threadpool(
        uploads.record,
        store,
        where=where,
        received=received,
        title=after.title,
        principal=who,
        today=today,
        dates=dates,
    )


async def _claim_key(request: Request, fields: dict[str, str], received: uploads.Received) -> Response | None:
    """Under an Idempotency-Key, claim it now that the upload's fingerprint is known (the fields and the file's
    SHA-256): None to go on and record, or the first upload's response to answer instead."""
    claim = claim_of(request)
    if claim is None:
        return None
    parts = [(name, None, hashlib.sha256(value.encode()).hexdigest()) for name, value in fields.items()]
    parts.append((FIELD, received.filename, received.sha256))
    return await claim.begin(form_fingerprint(request.scope, parts))


@router.post(
    "/assignments/{assignment_id}/evidence/file",
    response_model=EvidenceDetail,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=openapi_body(
        "EvidenceFileForm",
        title={"type": "string", "maxLength": 200, "description": _TITLE},
        material_request_id={"type": "integer", "description": _MATERIAL},
        **_DATE_FIELDS,
    ),
    responses=CREATED,
)
async def upload_file(
    assignment_id: int,
    request: Request,
    response: Response,
    who: StreamingPrincipal,
    today: Today,
    store: StorageDep,
    title: Annotated[Line | None, Query(max_length=200, description=_TITLE)] = None,
    material_request_id: Annotated[int | None, Query(description=_MATERIAL)] = None,
    document_date: DocumentDate = None,
    period_start: PeriodStart = None,
    period_end: PeriodEnd = None,
) -> EvidenceDetail | Response:
    """Upload a file as new evidence (multipart field "file", optional fields title, material_request_id,
    document_date, period_start and period_end)."""
    query = {"title": title, "material_request_id": material_request_id}
    query |= {"document_date": document_date, "period_start": period_start, "period_end": period_end}
    found = await _upload(request, store, where=Where(assignment_id=assignment_id), query=query, who=who, today=today)
    if not isinstance(found, Response):
        created_at(request, response, "read_evidence", evidence_id=found.id)
    return found


@router.post(
    "/evidence/{evidence_id}/versions/file",
    response_model=EvidenceDetail,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=openapi_body(
        "VersionFileForm",
        title={"type": "string", "maxLength": 200, "description": "新的资料标题（可选，不填则不变）；也可作为查询参数"},
        **_DATE_FIELDS,
    ),
)
async def upload_version(
    evidence_id: int,
    request: Request,
    who: StreamingPrincipal,
    today: Today,
    store: StorageDep,
    title: Annotated[Line | None, Query(max_length=200, description="新的资料标题（可选，不填则不变）")] = None,
    document_date: DocumentDate = None,
    period_start: PeriodStart = None,
    period_end: PeriodEnd = None,
) -> EvidenceDetail | Response:
    """Upload a file as a new version of existing evidence (multipart field "file", optional fields title,
    document_date, period_start and period_end)."""
    query = {"title": title, "document_date": document_date, "period_start": period_start, "period_end": period_end}
    return await _upload(request, store, where=Where(evidence_id=evidence_id), query=query, who=who, today=today)


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


@router.post(
    "/uploads/{intent_id}/complete",
    response_model=EvidenceDetail,
    status_code=status.HTTP_201_CREATED,
    responses=CREATED,
)
def complete_direct_upload(
    intent_id: str,
    session: SessionDep,
    who: CurrentPrincipal,
    today: Today,
    store: StorageDep,
    request: Request,
    response: Response,
) -> EvidenceDetail:
    """Check the directly uploaded object (size, checksum, type) and record it as evidence."""
    found = uploads.complete_intent(session, store, intent_id=intent_id, principal=who, today=today)
    created_at(request, response, "read_evidence", evidence_id=found.id)
    return found


@router.get("/uploads/{intent_id}/parts", response_model=UploadParts)
def read_upload_parts(
    intent_id: str, session: SessionDep, who: CurrentPrincipal, store: StorageDep, api_base: ApiBase
) -> UploadParts:
    """Which parts of a resumable direct upload the store already holds, and fresh URLs for the missing ones (after
    a dropped connection: send only those, then complete)."""
    return direct.status(session, store, intent_id=intent_id, principal=who, api_base=api_base)


@router.put(
    f"{links.UPLOAD_PATH}/{{intent_id}}/parts/{{number}}",
    status_code=status.HTTP_200_OK,
    response_class=Response,
    responses={
        200: {"description": "已收到该分片；全部分片收到后调用 complete 确认"},
        403: {"description": "链接无效（upload_link_invalid：用于另一上传或分片）或已过期（upload_link_expired）"},
        422: {"description": "分片大小与应有的不一致（upload_part_size_mismatch），未保存"},
    },
    openapi_extra=request_body(
        "UploadPartContent",
        {"title": "UploadPartContent", "type": "string", "format": "binary", "description": "该分片的全部字节"},
        "application/octet-stream",
    ),
)
async def signed_upload_part(
    intent_id: str,
    number: int,
    request: Request,
    store: StorageDep,
    expires: Annotated[int, Query(description="到期时间（Unix 秒）")],
    signature: Annotated[str, Query(max_length=100, description="签名")],
) -> Response:
    """One part of a resumable direct upload, PUT to its signed URL from the intent or GET …/parts where the store
    cannot presign (no token: the signed link, bound to this upload and part, is the permission)."""
    intent = await run_in_threadpool(
        direct.check_signed_part, intent_id=intent_id, number=number, expires=expires, signature=signature,
        content_length=request.headers.get("content-length"),
    )  # fmt: skip

    def receive(source: BinaryIO) -> None:
        direct.receive_part(store, intent=intent, number=number, source=source)

    await stream_body(request, receive, max_bytes=direct.expected_size(intent, number))
    return Response(status_code=status.HTTP_200_OK)


def _file_response(version: EvidenceVersion, chunks: Iterator[bytes]) -> StreamingResponse:
    headers = {
        "Content-Disposition": content_disposition(download_name(version.filename, version.extension)),
        "Content-Length": str(version.size),
        "ETag": f'"{version.sha256}"',
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }
    return StreamingResponse(chunks, media_type=version.content_type, headers=headers)


@router.get(
    "/evidence/{evidence_id}/versions/{number}/content",
    response_class=StreamingResponse,
    responses=binary("application/octet-stream", "文件内容（按上传时的文件类型）", headers={"ETag": header("ETag")}),
)
def download_version(
    evidence_id: int, number: int, session: SessionDep, who: CurrentPrincipal, store: StorageDep
) -> StreamingResponse:
    """The file of one version, streamed and checked against its record; named with its detected type's extension."""
    version, chunks = uploads.open_download(session, store, evidence_id=evidence_id, number=number, principal=who)
    return _file_response(version, chunks)


@router.get(
    "/evidence/{evidence_id}/versions/{number}/content.jpg",
    response_class=Response,
    responses=binary(conversions.MEDIA_TYPE, "照片或图片的 JPEG 格式（按 EXIF 方向摆正，保留 EXIF）"),
)
def download_version_jpeg(
    evidence_id: int, number: int, session: SessionDep, who: CurrentPrincipal, store: StorageDep
) -> Response:
    """A photo's (HEIC, PNG or JPEG) picture as a JPEG, for computers that cannot open HEIC; 409 not_an_image for
    other files. The original stays at …/content."""
    version, jpeg = conversions.jpeg_copy(session, store, evidence_id=evidence_id, number=number, principal=who)
    headers = {
        "Content-Disposition": content_disposition(download_name(version.filename, "jpg")),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }
    return Response(jpeg, media_type=conversions.MEDIA_TYPE, headers=headers)


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
        **binary("application/octet-stream", "文件内容（按上传时的文件类型）", headers={"ETag": header("ETag")}),
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
    version, chunks = direct.open_signed_download(
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
    openapi_extra=request_body(
        "UploadContent",
        {
            "title": "UploadContent",
            "type": "string",
            "format": "binary",
            "description": "文件的全部字节，大小须与申报的一致",
        },
        "application/octet-stream",
    ),
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
        direct.check_signed_upload, intent_id=intent_id, expires=expires, signature=signature
    )
    direct.check_declared_length(intent, request.headers.get("content-length"))

    def receive(source: BinaryIO) -> None:
        direct.receive_signed_upload(store, intent=intent, source=source)

    await stream_body(request, receive, max_bytes=get_settings().max_upload_bytes)
    return Response(status_code=status.HTTP_200_OK)


@router.get(
    "/evidence/{evidence_id}/versions/{number}/preview.png",
    response_class=Response,
    responses=binary(previews.MEDIA_TYPE, "首页预览图（PNG，长边不超过 320 像素）", named=False),
)
def read_preview(
    evidence_id: int, number: int, session: SessionDep, who: CurrentPrincipal, store: StorageDep
) -> Response:
    """The small PNG of a PDF's first page or of an image (404 preview_not_ready / preview_unavailable otherwise)."""
    png = previews.open_preview(session, store, evidence_id=evidence_id, number=number, principal=who)
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"}
    return Response(png, media_type=previews.MEDIA_TYPE, headers=headers)
