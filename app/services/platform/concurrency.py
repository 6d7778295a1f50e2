"""Optimistic concurrency for REST writes: an ETag is a digest of what the resource holds; a write that
names the ETag it read (If-Match) is refused with 412 when the row has changed since. The check runs
after the row is locked (SELECT … FOR UPDATE; on SQLite, which has no row locks, the same statement takes
the database's write lock, see app/db.py), so of two writers holding the same ETag exactly one wins,
whichever instance they reach and whichever backend they share."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from app.services.errors import PreconditionFailed


def etag(*parts: Any) -> str:
    """A strong ETag of JSON-ready parts (a row's model_dump(mode="json"), a member list …)."""
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str).encode())
    return f'"{digest.hexdigest()[:32]}"'


def check(if_match: str | None, current: str) -> None:
    """PreconditionFailed unless If-Match is absent, "*", or names the current ETag (weak or strong)."""
    if if_match is None or if_match.strip() == "*":
        return
    offered = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if current not in offered:
        raise PreconditionFailed()
