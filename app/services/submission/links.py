"""The API's own short-lived download links, for a store that cannot presign (the local folder): the link
names an evidence version and an expiry, signed with an HMAC under the JWT secret over the version, its
object key and the expiry. Like a presigned S3 URL it is issued only to a caller who may read the version,
lasts SHIFAN_DOWNLOAD_LINK_MINUTES, and needs no token; changing any part of it breaks the signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from urllib.parse import urlencode

from sqlmodel import Session

from app.models import EvidenceVersion
from app.services.errors import Forbidden
from app.settings import get_settings

PATH = "/downloads"  # under the API prefix; the public route that serves these links
_PURPOSE = "shifan-evidence-download-v1"  # so no other HMAC made with the secret can pass for a link


def _signature(version_id: int, object_key: str, expires: int) -> str:
    message = f"{_PURPOSE}\n{version_id}\n{object_key}\n{expires}".encode()
    digest = hmac.new(get_settings().secret().encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(version: EvidenceVersion, *, api_base: str, expires_at: datetime) -> str:
    """The signed URL of a file version, valid until expires_at (whole seconds)."""
    expires = int(expires_at.timestamp())
    query = urlencode({"expires": expires, "signature": _signature(version.id, version.object_key or "", expires)})  # type: ignore[arg-type]
    return f"{api_base.rstrip('/')}{PATH}/{version.id}?{query}"


def verify(session: Session, *, version_id: int, expires: int, signature: str, now: datetime) -> EvidenceVersion:
    """The version a link names, if its signature holds and it has not expired (403 with a code otherwise).
    A link to a version that no longer exists, or has no file, is as invalid as a forged one."""
    version = session.get(EvidenceVersion, version_id)
    key = version.object_key if version is not None and version.object_key else ""
    if not key or not hmac.compare_digest(_signature(version_id, key, expires), signature):
        raise Forbidden("下载链接无效（可能不完整或被改动），请重新获取下载链接", code="download_link_invalid")
    if expires < now.timestamp():
        raise Forbidden("下载链接已过期，请重新获取下载链接", code="download_link_expired")
    return version  # type: ignore[return-value]
