"""Claims on evidence versions for file jobs (previews, search text): a lease per claim, attempts counted.

Any number of workers may run. A claim is a compare-and-set on the version's lease (FOR UPDATE SKIP LOCKED on
PostgreSQL so workers do not queue behind each other) and counts one attempt, whether the job then finishes,
fails, or its worker is killed half-way. A claim past MAX_ATTEMPTS is not run again: the lane records the job
as given up (failed, with the reason), so a file that kills its worker, or one retried after every restart,
stops being tried instead of being tried for ever.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, update
from sqlmodel import Session, col, select

from app.models import EvidenceVersion

MAX_ATTEMPTS = 5  # a job still unfinished after this many claims is given up


@dataclass(frozen=True)
class Lease:
    """The three columns of EvidenceVersion one kind of file job keeps its claim in."""

    token: Any
    until: Any
    attempts: Any


PREVIEW = Lease(
    EvidenceVersion.preview_lease_token, EvidenceVersion.preview_lease_until, EvidenceVersion.preview_attempts
)
TEXT = Lease(EvidenceVersion.text_lease_token, EvidenceVersion.text_lease_until, EvidenceVersion.text_attempts)


@dataclass(frozen=True)
class Claimed:
    """A version taken under a lease: the row as it was read after the claim, the token and this attempt."""

    version: EvidenceVersion
    lease_token: str
    attempt: int

    @property
    def given_up(self) -> bool:
        """True when this claim is past the attempts allowed: record the job failed, do not run it."""
        return self.attempt > MAX_ATTEMPTS


def claim(
    session: Session,
    lease: Lease,
    *,
    waiting: Sequence[ColumnElement[bool]],
    now: datetime,
    limit: int,
    lease_seconds: int,
) -> list[Claimed]:
    """Take up to limit versions that are waiting (and not leased) under one fresh lease, oldest first."""
    free = (*waiting, or_(col(lease.until).is_(None), col(lease.until) < now))
    due = select(EvidenceVersion.id).where(*free).order_by(EvidenceVersion.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    token = str(uuid.uuid4())
    # Compare-and-set: only versions still free are taken, so a worker that raced us simply gets fewer.
    taken = (
        session.execute(
            update(EvidenceVersion)
            .where(col(EvidenceVersion.id).in_(session.exec(due).all()), *free)
            .values(
                {
                    lease.token: token,
                    lease.until: now + timedelta(seconds=lease_seconds),
                    lease.attempts: lease.attempts + 1,
                }
            )
            .returning(EvidenceVersion.id)
            .execution_options(synchronize_session=False)
        )
        .scalars()
        .all()
    )
    rows = session.exec(
        select(EvidenceVersion)
        .where(col(EvidenceVersion.id).in_(taken))
        .order_by(EvidenceVersion.id)
        .execution_options(populate_existing=True)
    ).all()
    return [Claimed(version=v, lease_token=token, attempt=getattr(v, lease.attempts.key)) for v in rows]


def release(session: Session, lease: Lease, *, version_id: int, token: str, values: dict[str, Any]) -> bool:
    """Write values and end the lease, only while the lease is still token's; False if another worker took it."""
    result = session.execute(
        update(EvidenceVersion)
        .where(col(EvidenceVersion.id) == version_id, col(lease.token) == token)
        .values({lease.token: None, **values})
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def backoff(attempt: int) -> timedelta:
    """Wait before trying a job again after a passing failure (the store away): 30 s doubling per attempt."""
    return timedelta(seconds=30 * 2**attempt)
