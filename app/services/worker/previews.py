"""The worker's preview job: a small PNG of every PDF's first page and of every image, made after the upload
(never in the request), so a reviewer's list shows what each file is before downloading it.

A version is recorded with preview "pending" when its type has a renderer (filetypes.PREVIEWABLE). Any
number of workers may run: a claim takes a lease on the version and counts an attempt (worker.leases); the
file is rendered with no transaction open, in a child process with time, CPU and memory limits
(worker.sandbox: PDFium and Pillow, see submission.rendering), and the result is recorded only while the lease
is still this worker's (otherwise the PNG it wrote is removed again). A file that cannot be rendered gets
preview "none" (its type icon); one stopped by a limit, whose renderer crashed, or still unfinished after
MAX_ATTEMPTS claims gets "failed" with the reason, and is not tried again.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session, col

from app.db import session_scope
from app.models import EvidenceVersion
from app.models._base import utcnow
from app.models.evidence import PreviewState
from app.services.storage import ObjectStore
from app.services.submission.previews import MEDIA_TYPE, PREVIEW_ROOT
from app.services.worker import filejobs, files, leases
from app.services.worker.leases import Claimed

log = logging.getLogger("shifan.previews")
MAX_SOURCE_BYTES = 64 * 1024 * 1024  # larger files keep their type icon: a thumbnail is not worth the reading
LEASE_SECONDS = 300  # longer than a file job may take (SHIFAN_FILE_JOB_SECONDS), so a live job keeps its claim


def claim(session: Session, *, now: datetime, limit: int, lease_seconds: int = LEASE_SECONDS) -> list[Claimed]:
    """Take up to limit pending versions under one fresh lease (three statements whatever the batch)."""
    pending = (col(EvidenceVersion.preview) == PreviewState.pending,)
    return leases.claim(session, leases.PREVIEW, waiting=pending, now=now, limit=limit, lease_seconds=lease_seconds)


def settle(
    session: Session, *, work: Claimed, key: str | None, retry: bool, now: datetime, failure: str | None = None
) -> bool:
    """Record a preview (key), a failure (the stored "code: detail"), or a retry later; False if the lease was
    lost meanwhile. A failure whose code is "unreadable" means no preview (type icon), any other failed."""
    if key is not None:
        values = {"preview": PreviewState.ready, "preview_key": key, "preview_lease_until": None, "preview_error": None}
    elif retry and work.attempt < leases.MAX_ATTEMPTS:
        values = {"preview_lease_until": now + leases.backoff(work.attempt)}  # pending, tried later
    else:
        failure = failure or ("gave_up: tried too often" if retry or work.given_up else "unreadable")
        state = PreviewState.none if failure.startswith("unreadable") else PreviewState.failed
        values = {"preview": state, "preview_lease_until": None, "preview_error": failure[:300]}
    return leases.release(session, leases.PREVIEW, version_id=work.version.id, token=work.lease_token, values=values)  # type: ignore[arg-type]


def make(store: ObjectStore, work: Claimed, *, on_wait: Callable[[], None] | None = None) -> files.Outcome:
    """The stored preview's key, or why there is none and whether trying again may help; never raising."""
    if work.given_up:
        return files.Outcome(failure="gave_up: no answer after every attempt")
    try:
        answer = files.run(
            store, work.version, filejobs.PREVIEW, max_bytes=MAX_SOURCE_BYTES, where="preview", on_wait=on_wait
        )
    except files.JobFailed as exc:
        log.warning("no preview for version %s: %s", work.version.id, exc)
        return files.Outcome(failure=exc.stored)
    except Exception:  # noqa: BLE001 - the store away for a moment: tried again later
        log.exception("preview of version %s failed; retried later", work.version.id)
        return files.Outcome(retry=True)
    if answer[0] != "png":
        log.info("no preview for version %s: %s", work.version.id, answer[1])
        return files.Outcome(failure=f"unreadable: {answer[1]}")
    try:
        key = f"{PREVIEW_ROOT}{uuid.uuid4().hex}"
        store.put_stream(key, io.BytesIO(answer[1]), content_type=MEDIA_TYPE, max_bytes=len(answer[1]))
    except Exception:  # noqa: BLE001 - as above
        log.exception("preview of version %s could not be stored; retried later", work.version.id)
        return files.Outcome(retry=True)
    return files.Outcome(key=key)


def run_once(
    store: ObjectStore, *, limit: int = 20, now: datetime | None = None, on_wait: Callable[[], None] | None = None
) -> dict[str, int]:
    """Claim, render and record one batch of previews; counts of what happened."""
    with session_scope() as session:
        work = claim(session, now=now or utcnow(), limit=limit)
    counts = {"claimed": len(work), "ready": 0, "none": 0, "failed": 0, "retry": 0}
    for item in work:
        outcome = make(store, item, on_wait=on_wait)
        try:
            with session_scope() as session:
                kept = settle(
                    session, work=item, key=outcome.key, retry=outcome.retry, now=utcnow(), failure=outcome.failure
                )
        except Exception:  # noqa: BLE001 - its lease runs out and it is claimed again
            log.exception("preview of version %s could not be recorded", item.version.id)
            kept = False
        if outcome.key is not None and not kept:
            store.delete(outcome.key)  # another worker took the version over; its preview wins
        counts[outcome.counted] += 1
    return counts
