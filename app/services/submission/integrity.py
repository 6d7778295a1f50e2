"""A recorded version never changes: every read checks the stored object against what was recorded.

open_verified is the one way a version's bytes are read for a person (the API's download, its own signed
link): every such path calls it, so none can serve bytes the record does not vouch for. The size is
checked (stat) before anything is served or signed; where bytes stream through the API the
SHA-256 is checked at the end, and the last chunk is held back until it matches, so a client never
receives a complete-looking file that differs from the record. Each mismatch is written to the audit
trail in its own transaction: the request that found it fails, the record of it must not.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from itertools import chain

from app.db import session_scope
from app.models import Campaign, Evidence, EvidenceVersion
from app.services.access import Principal
from app.services.errors import IntegrityFailure
from app.services.platform import audit
from app.services.storage import ObjectStore

log = logging.getLogger("shifan.integrity")


def report(
    version: EvidenceVersion, *, principal: Principal | None, where: str, found_size: int | None,
    found_sha256: str | None = None,
) -> None:  # fmt: skip
    """Audit that version's stored object no longer matches its record (own transaction, committed)."""
    log.error(
        "integrity: evidence %s version %s (%s) found size=%s sha256=%s, recorded size=%s sha256=%s",
        version.evidence_id, version.number, where, found_size, found_sha256, version.size, version.sha256,
    )  # fmt: skip
    try:
        with session_scope() as session:
            evidence = session.get(Evidence, version.evidence_id)
            campaign = session.get(Campaign, evidence.campaign_id) if evidence else None
            audit.record(
                session,
                principal=principal,
                action="evidence.integrity_failed",
                object_type="evidence",
                object_id=version.evidence_id,
                county_id=campaign.county_id if campaign else None,
                campaign_id=campaign.id if campaign else None,
                before={"version": version.number, "object_key": version.object_key, "size": version.size,
                        "sha256": version.sha256},
                after={"read": where, "size": found_size, "sha256": found_sha256},
            )  # fmt: skip
    except Exception:  # noqa: BLE001 - the refusal stands even if the audit database is unreachable
        log.exception("integrity: could not write the audit entry")


def check_size(store: ObjectStore, version: EvidenceVersion, *, principal: Principal | None, where: str) -> None:
    """IntegrityFailure (audited) unless the stored object still has the recorded size."""
    size = store.size_of(version.object_key)  # type: ignore[arg-type]
    if size != version.size:
        report(version, principal=principal, where=where, found_size=size)
        raise IntegrityFailure()


def verified_stream(
    chunks: Iterator[bytes], version: EvidenceVersion, *, principal: Principal | None, where: str
) -> Iterator[bytes]:
    """chunks, each passed on only once the next has arrived; the last only if size and SHA-256 match.

    On a mismatch the stream ends with an error before its last chunk: the client sees a broken
    transfer (fewer bytes than Content-Length), never a complete file that differs from the record."""
    digest, size = hashlib.sha256(), 0
    held: bytes | None = None
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
        if held is not None:
            yield held
        held = chunk
        if size > (version.size or 0):
            break
    if size != version.size or digest.hexdigest() != version.sha256:
        report(version, principal=principal, where=where, found_size=size, found_sha256=digest.hexdigest())
        raise IntegrityFailure()
    if held is not None:
        yield held


def open_verified(
    store: ObjectStore, version: EvidenceVersion, *, principal: Principal | None, where: str
) -> Iterator[bytes]:
    """A recorded version's bytes for a reader: the size checked first (IntegrityFailure, audited, before a
    byte is sent), the first chunk already requested (a store failure is an error answer, not a cut
    stream), the SHA-256 checked before the last chunk is let through (verified_stream)."""
    check_size(store, version, principal=principal, where=where)
    chunks = store.iter_bytes(version.object_key)  # type: ignore[arg-type]
    first = next(chunks, b"")
    return verified_stream(chain([first], chunks), version, principal=principal, where=where)
