"""The audit trail, read-only."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from app.api.deps import AuditAdministrator, CurrentPrincipal, PageDep, SessionDep, Today
from app.models.audit import AuditPublic, AuditRoot, AuditVerdict
from app.models.common import Page
from app.services.platform import audit, audit_export
from app.services.platform.audit import AuditFilter
from app.services.submission.filetypes import content_disposition

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=Page[AuditPublic])
def list_audit(
    session: SessionDep,
    who: CurrentPrincipal,
    page: PageDep,
    campaign_id: int | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    action: str | None = None,
    user_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[AuditPublic]:
    """Changes in the caller's county (office) or everywhere (admin), newest first; nothing here can be edited."""
    filters = AuditFilter(
        campaign_id=campaign_id,
        object_type=object_type,
        object_id=object_id,
        action=action,
        user_id=user_id,
        since=since,
        until=until,
    )
    items, total = audit.list_entries(session, principal=who, filters=filters, limit=page.limit, offset=page.offset)
    return page.of(items, total)


@router.get("/roots", response_model=Page[AuditRoot])
def audit_roots(
    session: SessionDep,
    who: CurrentPrincipal,
    today: Today,
    page: PageDep,
    since: date | None = None,
    until: date | None = None,
) -> Page[AuditRoot]:
    """Daily root digests of the audit chain per county (UTC days; default the last 30), for keeping copies."""
    last = until or today
    return page.of_all(audit.roots(session, principal=who, since=since or last - timedelta(days=29), until=last))


@router.get("/verify", response_model=AuditVerdict)
def audit_verify(session: SessionDep, who: CurrentPrincipal) -> AuditVerdict:
    """Recompute the whole audit chain (admin): ok, or the first entry that no longer matches."""
    return audit.verify(session, principal=who)


_FILES = {
    200: {
        "description": "审计记录导出（JSON Lines、CSV 或 .xlsx），含哈希链字段与覆盖它们的每日根及其时间戳",
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}} for media in audit_export.MEDIA_TYPES.values()
        },
        "headers": {"Content-Disposition": {"description": "文件名", "schema": {"type": "string"}}},
    }
}


@router.get("/export", response_class=StreamingResponse, responses=_FILES)
def audit_export_file(
    session: SessionDep,
    who: AuditAdministrator,
    since: Annotated[date | None, Query(description="起始日（UTC，含）；不填则自最早的记录")] = None,
    until: Annotated[date | None, Query(description="截止日（UTC，含）；不填则至最新的记录")] = None,
    fmt: Annotated[Literal["jsonl", "csv", "xlsx"], Query(alias="format", description="文件格式")] = "jsonl",
) -> StreamingResponse:
    """The audit trail to take away, streamed: entries with their hash chain, then the daily roots (with time stamps)
    covering them, widened to whole roots; recompute it with scripts/verify_audit_export.py (docs/security/audit.md)."""
    export = audit_export.plan(session, principal=who, since=since, until=until, fmt=fmt)
    headers = {"Content-Disposition": content_disposition(export.filename), "Cache-Control": "private, no-store"}
    return StreamingResponse(audit_export.stream(export), media_type=export.media_type, headers=headers)
