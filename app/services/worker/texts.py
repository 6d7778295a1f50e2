"""The worker's search-text job: read each new evidence version once, outside any request, and store its words
(search.query finds them).

A version without a row in evidencetext is waiting. A claim takes a lease on it and counts an attempt
(worker.leases), so two workers never read the same version at once and a version whose reading never
finishes (its worker killed, again and again) is given up after MAX_ATTEMPTS. The file is read in a child
process with time, CPU and memory limits (worker.sandbox); a file stopped by a limit, damaged, or given up
gets a failed row with the reason, and the others go on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.db import session_scope
from app.models import Evidence, EvidenceText
from app.models._base import utcnow
from app.models.evidence import DateSource, EvidenceKind, TextStatus
from app.services.search import words
from app.services.search.extract import Extracted
from app.services.search.indexing import UNREAD
from app.services.storage import ObjectStore
from app.services.submission.filetypes import IMAGES
from app.services.worker import filejobs, files, leases
from app.services.worker.leases import Claimed

log = logging.getLogger("shifan.worker")

READABLE = {"pdf", "docx", "xlsx", "ofd", *IMAGES}  # images: OCR, and their EXIF capture date
MAX_READ_BYTES = 100 * 1024 * 1024  # larger files are marked failed rather than read
LEASE_SECONDS = 300  # longer than a file job may take (SHIFAN_FILE_JOB_SECONDS)


def claim(session: Session, *, limit: int, lease_seconds: int = LEASE_SECONDS) -> list[Claimed]:
    """Take up to limit versions whose words have not been read yet, oldest first, under a fresh lease."""
    return leases.claim(session, leases.TEXT, waiting=(UNREAD,), now=utcnow(), limit=limit, lease_seconds=lease_seconds)


def _file_text(store: ObjectStore, work: Claimed, on_wait: Callable[[], None] | None) -> Extracted:
    v = work.version
    if (v.extension or "") not in READABLE:
        return Extracted(TextStatus.no_text)
    if work.given_up:
        return Extracted(TextStatus.failed, error="gave_up: no answer after every attempt")
    try:
        status, text, error, when, source = files.run(
            store, v, filejobs.TEXT, max_bytes=MAX_READ_BYTES, where="search text", on_wait=on_wait
        )
    except files.JobFailed as exc:
        return Extracted(TextStatus.failed, error=exc.stored)
    suggested = date.fromisoformat(when) if when else None
    return Extracted(
        TextStatus(status),
        text,
        f"unreadable: {error}"[:300] if error else None,
        suggested,
        DateSource(source) if source else None,
    )


def read(store: ObjectStore, work: Claimed, *, on_wait: Callable[[], None] | None = None) -> EvidenceText:
    """The words of one version: its title, address or statement, and the text inside its file."""
    v = work.version
    with session_scope() as session:
        campaign_id, title = session.exec(
            select(Evidence.campaign_id, Evidence.title).where(Evidence.id == v.evidence_id)
        ).one()
    found = _file_text(store, work, on_wait) if v.kind == EvidenceKind.file else Extracted(TextStatus.done)
    plain = words.tidy("\n".join(p for p in (title, v.filename, v.url, v.text, found.text) if p))
    return EvidenceText(
        version_id=v.id,  # type: ignore[arg-type]
        campaign_id=campaign_id,
        status=found.status,
        plain=plain,
        segmented=words.for_index(plain),
        error=found.error,
        suggested_date=found.suggested_date,
        suggested_from=found.suggested_from,
    )


def _store(row: EvidenceText, work: Claimed) -> bool:
    """Insert the row and end the lease in one transaction; False if another worker stored it first."""
    try:
        with session_scope() as session:
            session.add(row)
            session.flush()
            leases.release(session, leases.TEXT, version_id=row.version_id, token=work.lease_token, values={})
    except IntegrityError:
        return False  # another worker stored it first, or the version is gone
    return True


def run_once(store: ObjectStore, *, limit: int = 20, on_wait: Callable[[], None] | None = None) -> dict[str, int]:
    """Read one batch of waiting versions; counts by outcome."""
    with session_scope() as session:
        batch = claim(session, limit=limit)
    counts: dict[str, int] = {"read": 0}
    for work in batch:
        try:
            row = read(store, work, on_wait=on_wait)
        except Exception as exc:  # noqa: BLE001 - e.g. the store or database away: tried again after a pause
            log.warning("search text: version %s not read, tried again later: %s", work.version.id, exc)
            _later(work)
            counts["retry"] = counts.get("retry", 0) + 1
            continue
        if not _store(row, work):
            continue
        counts["read"] += 1
        status = TextStatus(row.status).value
        counts[status] = counts.get(status, 0) + 1
    return counts


def _later(work: Claimed) -> None:
    """Leave the version waiting, its lease running until the backoff has passed (given up at the cap)."""
    try:
        with session_scope() as session:
            leases.release(
                session,
                leases.TEXT,
                version_id=work.version.id,  # type: ignore[arg-type]
                token=work.lease_token,
                values={"text_lease_until": utcnow() + leases.backoff(work.attempt)},
            )
    except Exception:  # noqa: BLE001 - the lease runs out by itself
        log.exception("search text: version %s could not be put back", work.version.id)
