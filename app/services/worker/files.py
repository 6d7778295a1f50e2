"""A file job on a stored evidence version: the object spooled to a private temporary file (its size and
SHA-256 checked on the way, so nothing is read that differs from the record), then handed to a limited child.

The worker itself never holds the file in memory nor parses it: its memory stays that of a small Python
process whatever the files are. Failures come back as JobFailed with a stable code (the same codes the API
shows); an error of the store (away for a moment) propagates, and the lane tries again later.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.models import EvidenceVersion
from app.services.errors import IntegrityFailure
from app.services.storage import ObjectStore
from app.services.submission import integrity
from app.services.worker import sandbox
from app.settings import get_settings


class JobFailed(Exception):
    """The job will not succeed however often it is tried; code is one of models.evidence.JOB_FAILURE_MESSAGES."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail

    @property
    def stored(self) -> str:
        """What the version records: "code: detail", cut to the column's length."""
        return str(self)[:300]


@dataclass(frozen=True)
class Outcome:
    """What became of one claimed job: a stored result (key), a failure ("code: detail"), or try again later."""

    key: str | None = None
    failure: str | None = None
    retry: bool = False

    @property
    def counted(self) -> str:
        """The lane's count this outcome goes to."""
        if self.key is not None:
            return "ready"
        if self.retry:
            return "retry"
        return "none" if (self.failure or "").startswith("unreadable") else "failed"


def limits() -> sandbox.Limits:
    """The limits of one file job, from the settings (SHIFAN_FILE_JOB_*)."""
    s = get_settings()
    return sandbox.Limits(
        wall_seconds=s.file_job_seconds,
        cpu_seconds=s.file_job_cpu_seconds,
        memory_bytes=s.file_job_memory_mb * sandbox.MiB,
    )


def run(
    store: ObjectStore,
    version: EvidenceVersion,
    job: str,
    *,
    max_bytes: int,
    where: str,
    on_wait: Callable[[], None] | None = None,
) -> Any:
    """The job's answer for the version's stored file (see filejobs.run); JobFailed when it cannot be had."""
    if on_wait is not None:
        on_wait()  # the lane is busy from here on
    if (version.size or 0) > max_bytes:
        raise JobFailed("too_large", f"{version.size} bytes, limit {max_bytes}")
    if store.size_of(version.object_key) is None:  # type: ignore[arg-type] - an outage raises, a missing object is None
        raise JobFailed("missing", "no stored object under the version's key")
    handle, path = tempfile.mkstemp(prefix="shifan-job-")  # mode 0600: the evidence stays private
    try:
        with os.fdopen(handle, "wb") as spool:
            chunks = store.iter_bytes(version.object_key)  # type: ignore[arg-type]
            try:
                for chunk in integrity.verified_stream(chunks, version, principal=None, where=where):
                    spool.write(chunk)
            except IntegrityFailure as exc:
                raise JobFailed("checksum", "stored object differs from its record") from exc
        try:
            return sandbox.run(job, path, version.extension or "", limits(), on_wait=on_wait)
        except sandbox.LimitExceeded as exc:
            raise JobFailed(exc.code, exc.detail) from exc
    finally:
        os.unlink(path)
