"""The worker's search job: read each new evidence version once, outside any request, and store its words.

A version without a row in evidencetext is pending. Each is read in its own transaction, so a damaged
file is marked failed and the others go on; two workers that race for one version both read it and the
second insert loses quietly (the primary key), which costs a read, never a wrong row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.db import session_scope
from app.models import Evidence, EvidenceText, EvidenceVersion
from app.models.evidence import EvidenceKind, TextStatus
from app.services.errors import IntegrityFailure
from app.services.search import words
from app.services.search.extract import Extracted, extract
from app.services.storage import ObjectStore
from app.services.submission import integrity

log = logging.getLogger("shifan.worker")

READABLE = {"pdf", "docx", "xlsx", "ofd"}
MAX_READ_BYTES = 100 * 1024 * 1024  # larger files are marked failed rather than held in the worker's memory


@dataclass(frozen=True)
class _Work:
    version: EvidenceVersion
    campaign_id: int
    title: str


def pending(session: Session, *, limit: int) -> list[_Work]:
    """Up to limit versions whose words have not been read yet, oldest first."""
    rows = session.exec(
        select(EvidenceVersion, Evidence.campaign_id, Evidence.title)
        .join(Evidence, col(Evidence.id) == EvidenceVersion.evidence_id)
        .outerjoin(EvidenceText, col(EvidenceText.version_id) == EvidenceVersion.id)
        .where(col(EvidenceText.version_id).is_(None))
        .order_by(EvidenceVersion.id)
        .limit(limit)
    ).all()
    return [_Work(version=v, campaign_id=c, title=t) for v, c, t in rows]


def _file_text(store: ObjectStore, version: EvidenceVersion) -> Extracted:
    if (version.extension or "") not in READABLE:
        return Extracted(TextStatus.no_text)
    if (version.size or 0) > MAX_READ_BYTES:
        return Extracted(TextStatus.failed, error="file too large to read for search")
    try:
        chunks = store.iter_bytes(version.object_key)  # type: ignore[arg-type]
        raw = b"".join(integrity.verified_stream(chunks, version, principal=None, where="search text"))
    except IntegrityFailure:
        return Extracted(TextStatus.failed, error="stored object differs from its record")
    return extract(raw, extension=version.extension)


def read(store: ObjectStore, work: _Work) -> EvidenceText:
    """The words of one version: its title, address or statement, and the text inside its file."""
    v = work.version
    found = _file_text(store, v) if v.kind == EvidenceKind.file else Extracted(TextStatus.done)
    plain = words.tidy("\n".join(p for p in (work.title, v.filename, v.url, v.text, found.text) if p))
    return EvidenceText(
        version_id=v.id,  # type: ignore[arg-type]
        campaign_id=work.campaign_id,
        status=found.status,
        plain=plain,
        segmented=words.for_index(plain),
        error=found.error,
    )


def run_once(store: ObjectStore, *, limit: int = 20) -> dict[str, int]:
    """Read one batch of pending versions; counts by outcome."""
    with session_scope() as session:
        batch = pending(session, limit=limit)
    counts: dict[str, int] = {"read": 0}
    for work in batch:
        try:
            row = read(store, work)
        except Exception as exc:  # noqa: BLE001 - e.g. the store away: this version is marked, the rest go on
            log.warning("search text: version %s unreadable: %s", work.version.id, exc)
            row = EvidenceText(
                version_id=work.version.id,  # type: ignore[arg-type]
                campaign_id=work.campaign_id,
                status=TextStatus.failed,
                plain=work.title,
                segmented=words.for_index(work.title),
                error=f"{type(exc).__name__}: {exc}"[:500],
            )
        try:
            with session_scope() as session:
                session.add(row)
        except IntegrityError:
            continue  # another worker stored it first, or the version is gone
        counts["read"] += 1
        status = TextStatus(row.status).value
        counts[status] = counts.get(status, 0) + 1
    return counts


def forget(session: Session, *, statuses: list[TextStatus] | None) -> int:
    """Mark versions to be read again (those of the given statuses, or all): the worker reads them anew."""
    query = delete(EvidenceText)
    if statuses is not None:
        query = query.where(col(EvidenceText.status).in_([str(s) for s in statuses]))
    return session.execute(query).rowcount or 0  # type: ignore[attr-defined]
