"""Taking a backup: the database snapshot first, then exactly the objects its rows name, then the signed
manifest last (a directory without one is an unfinished backup, and restore says so)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from app.services.backup import database, manifest, objects
from app.services.backup.objects import Progress
from app.services.errors import Conflict
from app.services.storage import ObjectStore
from app.settings import Settings


def shifan_version() -> str:
    try:
        return version("shifan")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def prepare_target(out: Path) -> None:
    """A new or empty directory: a backup never mixes with another one's files."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise Conflict(
            f"备份目录 {out} 已存在且不是空的：每份备份请用一个新的空目录（例如以日期命名）",
            code="backup_target_not_empty",
        )
    out.mkdir(parents=True, exist_ok=True)


def take(
    settings: Settings,
    store: ObjectStore,
    out: Path,
    *,
    jobs: int = 4,
    on_plan: Progress | None = None,
    on_bytes: Progress | None = None,
) -> manifest.Manifest:
    """Write a consistent backup of the deployment into out (new or empty); the signed manifest it ends with.
    on_plan is told the bytes the rows record before the objects are copied, on_bytes each chunk copied."""
    key = manifest.signing_key(settings)
    prepare_target(out)
    try:
        return _write(settings, store, out, key, jobs=jobs, on_plan=on_plan, on_bytes=on_bytes)
    except BaseException:
        # the directory was new or empty: what is in it now is this unfinished backup's, never anyone's data
        for child in out.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()
        raise


def _write(
    settings: Settings, store: ObjectStore, out: Path, key: bytes, *, jobs: int, on_plan: Progress | None,
    on_bytes: Progress | None,
) -> manifest.Manifest:  # fmt: skip
    with database.snapshot(settings.database_url, out) as snap:
        counts = database.row_counts(snap.conn)
        revision = database.schema_revision(snap.conn)
        named = objects.named(snap.conn)
    # the dump is complete here; the objects it names are fixed, so the copy needs no open transaction
    dumped = manifest.entry_for(out, snap.file, kind="database")
    if on_plan is not None:
        on_plan(sum(n.size or 0 for n in named))
    copied = objects.copy_out(store, named, out, jobs=jobs, on_bytes=on_bytes)
    objects.flush_to_disk(out)
    body = manifest.Manifest(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        shifan_version=shifan_version(),
        storage_backend=settings.storage_backend,
        database=manifest.DatabasePart(
            backend=snap.backend,
            file=snap.file,
            sha256=dumped.sha256,
            schema_revision=revision,
            server_version=snap.server_version,
            row_counts=counts,
        ),  # fmt: skip
        files=[dumped, *copied.entries],
        missing_objects=copied.missing,
        mismatched_objects=copied.mismatched,
    )
    signed = manifest.sign(body, key)
    manifest.write(out, signed)
    return signed
