"""Search text kept per evidence version: which versions wait for the worker to read their words (the job
itself is app.services.worker.texts), and marking versions to be read again."""

from __future__ import annotations

from sqlalchemy import delete, exists, update
from sqlmodel import Session, col

from app.models import EvidenceText, EvidenceVersion
from app.models.evidence import TextStatus

# A version waits to be read while it has no row in evidencetext.
UNREAD = ~exists().where(col(EvidenceText.version_id) == EvidenceVersion.id)


def forget(session: Session, *, statuses: list[TextStatus] | None) -> int:
    """Mark versions to be read again (those of the given statuses, or all): the worker reads them anew."""
    query = delete(EvidenceText)
    if statuses is not None:
        query = query.where(col(EvidenceText.status).in_([str(s) for s in statuses]))
    gone = session.execute(query).rowcount or 0  # type: ignore[attr-defined]
    session.execute(update(EvidenceVersion).where(UNREAD).values(text_attempts=0, text_lease_until=None))
    return gone
