"""Small uploaded documents (frameworks, unit lists) read into memory up to a limit."""

from __future__ import annotations

from fastapi import UploadFile

from app.services.errors import TooLarge
from app.settings import get_settings


async def read_limited(file: UploadFile, *, what: str, code: str) -> bytes:
    """The whole upload, or 413 (code) when it exceeds the document limit (these files are a few hundred KB)."""
    limit = get_settings().max_framework_bytes
    raw = await file.read(limit + 1)
    if len(raw) > limit:
        raise TooLarge(f"{what}不能超过 {limit // 1024} KB", code=code)
    return raw
