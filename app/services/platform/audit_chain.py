"""The audit trail's hash chain: each entry stores the hash of its content and of the entry before it, a
one-row head names the last entry, daily root digests per county let a province keep copies, and verify
recomputes everything.

Canonical form of an entry (what is hashed, the same on PostgreSQL and SQLite): the JSON object
{seq, at, user_id, username, role, action, object_type, object_id, county_id, campaign_id, before, after,
request_id, prev_hash} with sorted keys, no spaces (separators "," and ":"), non-ASCII kept as UTF-8, no
NaN; `at` in UTC as "YYYY-MM-DDTHH:MM:SS.ffffffZ". entry_hash = SHA-256 hex of those UTF-8 bytes. The
first entry's prev_hash is 64 zeros. The database id is not hashed (seq is the chain position).

Daily root of a county for a UTC day: SHA-256 hex of the canonical JSON {county_id, day ("YYYY-MM-DD"),
entries: [[seq, entry_hash], ...] in seq order} over the entries of that county written that day; entries
without a county (admin and global actions) have their own root with county_id null. Since every entry
hash covers the whole chain before it, a copy of a root also pins everything written before that day."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import event, update
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session, col, select

from app.models.audit import AuditChainHead, AuditEntry, AuditRoot

GENESIS = "0" * 64
HASHED = ("seq", "at", "user_id", "username", "role", "action", "object_type", "object_id", "county_id",
          "campaign_id", "before", "after", "request_id", "prev_hash")  # fmt: skip
_PENDING = "shifan_audit_pending"


def canonical_time(at: datetime) -> str:
    """A timestamp in UTC ISO form with microseconds (naive values are taken as UTC, as stored)."""
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_bytes(data: dict[str, Any]) -> bytes:
    """The canonical JSON of data: sorted keys, no spaces, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def entry_digest(entry: AuditEntry) -> str:
    """The hash of an entry's content and of its link to the entry before it."""
    data = {name: getattr(entry, name) for name in HASHED}
    data["at"] = canonical_time(entry.at)
    return hashlib.sha256(canonical_bytes(data)).hexdigest()


def _lock_head(session: Session) -> AuditChainHead:
    """The chain head, locked until this transaction ends. Writing the row first takes the lock on both
    backends (PostgreSQL: a row lock other writers wait for; SQLite: the database write lock), so the
    head read next is the one this transaction extends."""
    locked = session.exec(update(AuditChainHead).where(col(AuditChainHead.id) == 1).values(seq=AuditChainHead.seq))
    if locked.rowcount == 0:  # a database created without the migration's head row
        session.add(AuditChainHead(id=1, seq=0, entry_hash=GENESIS))
        session.flush()
    fresh = select(AuditChainHead).where(col(AuditChainHead.id) == 1).execution_options(populate_existing=True)
    return session.exec(fresh).one()


def append(session: Session, entry: AuditEntry) -> None:
    """Queue entry for this transaction; it is linked to the chain and written when the transaction
    commits. Linking at commit takes the head lock last and holds it only for the commit, so writers
    never wait on each other for longer, and never deadlock over it with row locks taken earlier."""
    session.info.setdefault(_PENDING, []).append(entry)


@event.listens_for(OrmSession, "before_commit")
def _link_pending(session: OrmSession) -> None:
    pending: list[AuditEntry] = session.info.pop(_PENDING, [])
    if not pending:
        return
    assert isinstance(session, Session)
    head = _lock_head(session)
    for entry in pending:
        entry.seq = head.seq + 1
        entry.prev_hash = head.entry_hash
        entry.entry_hash = entry_digest(entry)
        head.seq, head.entry_hash = entry.seq, entry.entry_hash
        session.add(entry)
    session.add(head)
    session.flush()


@event.listens_for(OrmSession, "after_transaction_end")
def _drop_pending(session: OrmSession, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # rolled back or closed: its changes, and their entries, are gone
        session.info.pop(_PENDING, None)


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """The UTC moments from the start of first to the end of last."""
    return datetime.combine(first, time(), UTC), datetime.combine(last + timedelta(days=1), time(), UTC)


def roots_of(rows: Iterable[tuple[int | None, datetime, int, str]]) -> list[AuditRoot]:
    """Daily roots from (county_id, at, seq, entry_hash) rows, by day then county (None last)."""
    groups: dict[tuple[date, int | None], list[tuple[int, str]]] = defaultdict(list)
    for county_id, at, seq, entry_hash in rows:
        day = (at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)).date()
        groups[(day, county_id)].append((seq, entry_hash))
    out = []
    for (day, county_id), entries in sorted(groups.items(), key=lambda g: (g[0][0], g[0][1] is None, g[0][1] or 0)):
        entries.sort()
        body = {"county_id": county_id, "day": day.isoformat(), "entries": [list(e) for e in entries]}
        out.append(
            AuditRoot(
                county_id=county_id,
                day=day,
                entries=len(entries),
                first_seq=entries[0][0],
                last_seq=entries[-1][0],
                last_entry_hash=entries[-1][1],
                root=hashlib.sha256(canonical_bytes(body)).hexdigest(),
            )
        )
    return out
