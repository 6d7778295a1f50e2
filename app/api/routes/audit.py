"""The audit trail, read-only."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter

from app.api.deps import CurrentPrincipal, PageDep, SessionDep
from app.models.audit import AuditPublic
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
