"""The audit trail: who did what to which object, before and after, in which request."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary
from sqlmodel import Field, SQLModel

from app.models._base import UTCDateTime, created_at_field


class AuditEntry(SQLModel, table=True):
    """One change, written in the same transaction as the change; never updated or deleted."""

    __tablename__ = "audit_entry"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = created_at_field()
    user_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    username: str = Field(default="", max_length=64)
    role: str = Field(default="", max_length=16)
    action: str = Field(max_length=64, index=True)
    object_type: str = Field(max_length=32)
    object_id: str = Field(max_length=64)
    county_id: int | None = Field(default=None, foreign_key="region.id", index=True)
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id", index=True)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    request_id: str = Field(default="", max_length=64)
    # the hash chain (app/services/platform/audit_chain.py): position, the previous entry's hash, this one's
    seq: int = Field(unique=True)
    prev_hash: str = Field(max_length=64)
    entry_hash: str = Field(max_length=64)


class AuditChainHead(SQLModel, table=True):
    """The one row naming the chain's last entry; every writer locks it, so appends form one chain."""

    __tablename__ = "audit_chain_head"
    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    entry_hash: str = Field(max_length=64)


class AuditSeal(SQLModel, table=True):
    """A daily root of the chain (app/services/platform/audit_roots.py): the per-county roots of the entries
    since the previous seal, linked to that seal and time-stamped by an RFC 3161 authority; never changed."""

    __tablename__ = "audit_seal"
    id: int | None = Field(default=None, primary_key=True)
    sealed_at: datetime = created_at_field()
    # both unique: two sealers that started from the same seal cannot both keep theirs (the chain of seals forks)
    first_seq: int = Field(unique=True)
    last_seq: int = Field(unique=True)
    last_entry_hash: str = Field(max_length=64)
    prev_digest: str = Field(max_length=64)
    roots: list[Any] = Field(sa_column=Column(JSON, nullable=False))  # [[county_id, root, entries], ...]
    digest: str = Field(max_length=64)
    tsa_token: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    stamped_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class AuditArchive(SQLModel, table=True):
    """Entries exported to a file by `shifan audit archive` (up to a sealed root), which prune may then remove."""

    __tablename__ = "audit_archive"
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = created_at_field()
    before: date
    first_seq: int
    last_seq: int = Field(index=True)
    last_entry_hash: str = Field(max_length=64)
    entries: int
    sha256: str = Field(max_length=64)
    filename: str = Field(max_length=255)
    pruned_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class AuditRoot(SQLModel):
    """A county's daily root digest (county_id None: entries without a county, admin's only)."""

    county_id: int | None
    day: date
    entries: int
    first_seq: int
    last_seq: int
    last_entry_hash: str
    root: str


class AuditBreak(SQLModel):
    """The first place where the recomputed chain no longer matches what is stored."""

    seq: int
    entry_id: int | None
    reason: str


class AuditVerdict(SQLModel):
    """The result of recomputing the whole chain."""

    ok: bool
    checked: int
    head_seq: int
    first_break: AuditBreak | None
    start_seq: int = 1  # the first entry still stored (after an archived part was pruned)
    seals: int = 0  # daily roots checked
    stamped: int = 0  # of which carry a time-stamp token
    warnings: list[str] = []


class AuditPublic(SQLModel):
    """An audit entry as the office reads it."""

    id: int
    at: datetime
    user_id: int | None
    username: str
    role: str
    action: str
    object_type: str
    object_id: str
    county_id: int | None
    campaign_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str
    seq: int
    entry_hash: str
