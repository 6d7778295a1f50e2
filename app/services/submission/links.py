"""The API's own short-lived signed links, for a store that cannot presign (the local folder), standing in
for presigned S3 URLs: a download link names an evidence version, an upload link a direct-upload intent,
each with an expiry, signed with an HMAC under the JWT secret over the object, its object key and the expiry.
Like a presigned URL a link is issued only to a caller who may use it, lasts as long (the same settings),
and needs no token; changing any part of it breaks the signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from urllib.parse import urlencode

from sqlmodel import Session

from app.models import EvidenceVersion, UploadIntent
from app.services.errors import Conflict, Forbidden
from app.settings import get_settings

PATH = "/downloads"  # under the API prefix; the public route that serves download links
UPLOAD_PATH = "/uploads"  # …/uploads/{intent id}/content takes the bytes of a direct upload
# so that no other HMAC made with the secret (webhooks, another kind of link) can pass for a link
_DOWNLOAD, _UPLOAD = "shifan-evidence-download-v1", "shifan-evidence-upload-v1"
_PART = "shifan-evidence-part-v1"


def _signature(*parts: str | int) -> str:
    message = "\n".join(str(p) for p in parts).encode()
    digest = hmac.new(get_settings().secret().encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _link(api_base: str, path: str, expires: int, signature: str) -> str:
    return f"{api_base.rstrip('/')}{path}?{urlencode({'expires': expires, 'signature': signature})}"


def _check(expected: str, offered: str, expires: int, now: datetime, what: str, code: str) -> None:
    if not hmac.compare_digest(expected.encode(), offered.encode()):  # bytes: str must be ASCII there
        raise Forbidden(f"{what}链接无效（可能不完整或被改动），请重新获取{what}链接", code=f"{code}_invalid")
    if expires < now.timestamp():
        raise Forbidden(f"{what}链接已过期，请重新获取{what}链接", code=f"{code}_expired")


def sign(version: EvidenceVersion, *, api_base: str, expires_at: datetime) -> str:
    """The signed download URL of a file version, valid until expires_at (whole seconds)."""
    expires = int(expires_at.timestamp())
    signature = _signature(_DOWNLOAD, version.id, version.object_key or "", expires)  # type: ignore[arg-type]
    return _link(api_base, f"{PATH}/{version.id}", expires, signature)


def verify(session: Session, *, version_id: int, expires: int, signature: str, now: datetime) -> EvidenceVersion:
    """The version a download link names, if its signature holds and it has not expired (403 with a code
    otherwise). A link to a version that no longer exists, or has no file, is as invalid as a forged one."""
    version = session.get(EvidenceVersion, version_id)
    key = version.object_key if version is not None and version.object_key else ""
    expected = _signature(_DOWNLOAD, version_id, key, expires) if key else ""
    _check(expected or "-", signature, expires, now, "下载", "download_link")
    return version  # type: ignore[return-value]


def sign_upload(intent: UploadIntent, *, api_base: str, expires_at: datetime) -> str:
    """The signed URL a client PUTs a direct upload's bytes to, valid until expires_at (whole seconds)."""
    expires = int(expires_at.timestamp())
    signature = _signature(_UPLOAD, intent.id, intent.object_key, expires)
    return _link(api_base, f"{UPLOAD_PATH}/{intent.id}/content", expires, signature)


def verify_upload(session: Session, *, intent_id: str, expires: int, signature: str, now: datetime) -> UploadIntent:
    """The intent an upload link names, if its signature holds, it has not expired and it is not completed."""
    intent = session.get(UploadIntent, intent_id)
    expected = _signature(_UPLOAD, intent_id, intent.object_key, expires) if intent is not None else ""
    _check(expected or "-", signature, expires, now, "上传", "upload_link")
    if intent.completed_at is not None:  # type: ignore[union-attr]
        raise Conflict("该上传已确认，无需重复上传", code="upload_already_completed")
    return intent  # type: ignore[return-value]


def sign_part(intent: UploadIntent, *, number: int, api_base: str, expires_at: datetime) -> str:
    """The signed URL a client PUTs one part of a resumable upload to: bound to the intent, its upload id and the
    part number, so it writes that part of that upload and no other."""
    expires = int(expires_at.timestamp())
    signature = _signature(_PART, intent.id, intent.upload_id or "", number, expires)
    return _link(api_base, f"{UPLOAD_PATH}/{intent.id}/parts/{number}", expires, signature)


def verify_part(
    session: Session, *, intent_id: str, number: int, expires: int, signature: str, now: datetime
) -> UploadIntent:
    """The intent a part link names, if its signature holds (for this upload and part), it has not expired and
    the upload is not completed."""
    intent = session.get(UploadIntent, intent_id)
    upload_id = intent.upload_id if intent is not None else None
    expected = _signature(_PART, intent_id, upload_id, number, expires) if upload_id else ""
    _check(expected or "-", signature, expires, now, "上传", "upload_link")
    if intent.completed_at is not None:  # type: ignore[union-attr]
        raise Conflict("该上传已确认，无需重复上传", code="upload_already_completed")
    return intent  # type: ignore[return-value]
