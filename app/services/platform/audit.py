"""The audit trail: every change recorded in the same transaction as the change itself."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import Session, SQLModel, col, select

from app.db import session_scope
from app.models import AuditEntry
from app.models._base import utcnow
from app.models.audit import AuditPublic, AuditRoot, AuditVerdict
from app.models.user import Role
from app.services.access import Principal, county_scope
from app.services.errors import Invalid
from app.services.platform import audit_chain, audit_verify

# Set per request by the API's middleware (and returned to the client as X-Request-ID).
request_id: ContextVar[str] = ContextVar("shifan_request_id", default="")


def snapshot(obj: SQLModel | BaseModel | None, *fields: str) -> dict[str, Any] | None:
    """The named fields of obj (all when none are named) as JSON-ready values."""
    if obj is None:
        return None
    data = obj.model_dump(mode="json")
    return {f: data.get(f) for f in fields} if fields else data


def record(
    session: Session,
    *,
    principal: Principal | None,
    action: str,
    object_type: str,
    object_id: int | str,
    county_id: int | None = None,
    campaign_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Add an entry for a change made in this session's transaction (principal None: the system), linked
    to the end of the hash chain."""
    audit_chain.append(
        session,
        AuditEntry(
            user_id=principal.user_id if principal else None,
            username=principal.username if principal else "system",
            role=principal.role if principal else "",
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            county_id=county_id,
            campaign_id=campaign_id,
            before=before,
            after=after,
            request_id=request_id.get(),
            at=utcnow(),
        ),
    )


def record_apart(**entry: Any) -> None:
    """Add an entry (record's arguments) in a transaction of its own, committed at once: for what must stay in
    the trail though the request answers with a refusal and rolls back (a failed login)."""
    with session_scope() as session:
        record(session, **entry)


@dataclass(frozen=True)
class AuditFilter:
    """Filters of the audit list; None means no filter."""

    campaign_id: int | None = None
    object_type: str | None = None
    object_id: str | None = None
    action: str | None = None
    user_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def list_entries(
    session: Session, *, principal: Principal, filters: AuditFilter, limit: int, offset: int
) -> tuple[list[AuditPublic], int]:
    """A page of the audit trail of the counties the caller manages, newest first."""
    principal.require(Role.audit_admin, Role.office)
    query = select(AuditEntry)
    if principal.role != Role.audit_admin:
        query = query.where(county_scope(principal, col(AuditEntry.county_id)))
    for name in ("campaign_id", "object_type", "object_id", "action", "user_id"):
        value = getattr(filters, name)
        if value is not None:
            query = query.where(getattr(AuditEntry, name) == value)
    if filters.since is not None:
        query = query.where(col(AuditEntry.at) >= filters.since)
    if filters.until is not None:
        query = query.where(col(AuditEntry.at) < filters.until)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(col(AuditEntry.id).desc()).limit(limit).offset(offset)).all()
    return [AuditPublic.model_validate(r) for r in rows], total


def changes(
    session: Session, *, principal: Principal, since: datetime, limit: int, offset: int
) -> tuple[list[AuditEntry], int]:
    """What changed in the caller's counties since a moment, oldest first: for systems that sync and then
    fetch the objects named (the entries' before/after stay with the office's audit view)."""
    principal.require(Role.audit_admin, Role.office, Role.province)
    query = select(AuditEntry).where(col(AuditEntry.at) >= since)
    if principal.role != Role.audit_admin:
        query = query.where(county_scope(principal, col(AuditEntry.county_id)))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    return list(session.exec(query.order_by(AuditEntry.id).limit(limit).offset(offset)).all()), total


MAX_ROOT_DAYS = 366


def roots(session: Session, *, principal: Principal, since: date, until: date) -> list[AuditRoot]:
    """Daily root digests of the audit chain for the caller's counties (the audit administrator: every county's
    and the entries without a county), UTC days from since to until inclusive."""
    principal.require(Role.audit_admin, Role.office, Role.province)
    if until < since or (until - since).days >= MAX_ROOT_DAYS:
        raise Invalid(f"日期范围须在 1 至 {MAX_ROOT_DAYS} 天之间", code="invalid_date_range")
    start, end = audit_chain.day_bounds(since, until)
    query = select(AuditEntry.county_id, AuditEntry.at, AuditEntry.seq, AuditEntry.entry_hash).where(
        col(AuditEntry.at) >= start, col(AuditEntry.at) < end
    )
    if principal.role != Role.audit_admin:
        query = query.where(county_scope(principal, col(AuditEntry.county_id)))
    return audit_chain.roots_of(session.exec(query).all())


def verify(session: Session, *, principal: Principal) -> AuditVerdict:
    """Recompute the whole chain (the audit administrator): the first entry that no longer matches, if any."""
    principal.require(Role.audit_admin)
    return audit_verify.verify(session)
