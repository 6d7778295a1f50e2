"""The audit trail, read-only."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from fastapi import APIRouter

from app.api.deps import CurrentPrincipal, PageDep, SessionDep, Today
from app.models.audit import AuditPublic, AuditRoot, AuditVerdict
from app.models.common import Page
from app.services.platform import audit
from app.services.platform.audit import AuditFilter

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
