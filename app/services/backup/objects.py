"""The evidence objects of a backup: exactly those the database snapshot's rows name (every version's file, every
preview, every direct upload not yet completed), copied out of the store and back in as streams in chunks,
never a whole file in memory. An object written after the snapshot belongs to rows the snapshot does not
have, so it is not needed; one the rows name but the store lacks is reported, not invented."""

from __future__ import annotations

import ctypes
import hashlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from app.models import EvidenceVersion, UploadIntent
from app.services.backup.manifest import FileEntry
from app.services.errors import DomainError, Invalid
from app.services.storage import CHUNK, ObjectStore, check_key

OBJECTS_DIR = "objects"
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Named:
    """An object the snapshot's rows name, with what they recorded about it."""

    key: str
    content_type: str
    size: int | None = None  # recorded for version files (the progress bar's total)
    sha256: str | None = None  # recorded for version files; previews and pending uploads have none
    optional: bool = False  # a direct upload's client may never have sent its bytes


@dataclass
class CopiedOut:
    entries: list[FileEntry]
    missing: list[str]
    mismatched: list[str]


def named(conn: sa.Connection) -> list[Named]:
    """Every object the rows of this (snapshot) connection refer to, each key once."""
    v = EvidenceVersion
    found: dict[str, Named] = {}
    for key, content_type, size, sha in conn.execute(
        sa.select(v.object_key, v.content_type, v.size, v.sha256).where(v.object_key.is_not(None))  # type: ignore[union-attr]
    ):
        found[key] = Named(key, content_type or "application/octet-stream", size, sha)
    for (key,) in conn.execute(sa.select(v.preview_key).where(v.preview_key.is_not(None))):  # type: ignore[union-attr]
        found.setdefault(key, Named(key, "image/png"))
    pending = sa.select(UploadIntent.object_key).where(UploadIntent.completed_at.is_(None))  # type: ignore[union-attr]
    for (key,) in conn.execute(pending):
        found.setdefault(key, Named(key, "application/octet-stream", optional=True))
    return sorted(found.values(), key=lambda n: n.key)


def copy_out(
    store: ObjectStore, objects: list[Named], directory: Path, *, jobs: int = 4, on_bytes: Progress | None = None
) -> CopiedOut:
    """Copy each named object into directory/objects/<key>, hashing on the way; several at once (an S3 server
    answers each request after a round trip, so one at a time leaves the line idle)."""
    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="backup-copy") as pool:
        results = list(pool.map(lambda n: _copy_one_out(store, n, directory, on_bytes), objects))
    out = CopiedOut([], [], [])
    for named_object, entry in zip(objects, results, strict=True):
        if entry is None:
            if not named_object.optional:
                out.missing.append(named_object.key)
            continue
        out.entries.append(entry)
        if named_object.sha256 is not None and entry.sha256 != named_object.sha256:
            out.mismatched.append(named_object.key)
    return out


def _copy_one_out(store: ObjectStore, obj: Named, directory: Path, on_bytes: Progress | None) -> FileEntry | None:
    relative = f"{OBJECTS_DIR}/{check_key(obj.key)}"
    target = directory / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(f".{target.name}.part")
    digest, size = hashlib.sha256(), 0
    try:
        with part.open("wb") as out:
            for chunk in store.iter_bytes(obj.key):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                if on_bytes is not None:
                    on_bytes(len(chunk))
    except Exception:
        part.unlink(missing_ok=True)
        if store.size_of(obj.key) is None:  # not there (deleted, or a direct upload never sent): say so, go on
            return None
        raise
    part.replace(target)
    return FileEntry(path=relative, size=size, sha256=digest.hexdigest(), kind="object", key=obj.key,
                     content_type=obj.content_type)  # fmt: skip


def foreign_key_in(store: ObjectStore, allowed: set[str]) -> str | None:
    """A key in the store that is not one of allowed, or None (the store is made if it is missing)."""
    store.ensure_ready()
    for key in store.keys(""):
        if key not in allowed:
            return key
    return None


def copy_in(
    store: ObjectStore, directory: Path, entries: list[FileEntry], *, jobs: int = 4, on_bytes: Progress | None = None
) -> None:
    """Put each object file back under its key, checking that what the store took is what the manifest says."""
    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="restore-copy") as pool:
        list(pool.map(lambda e: _copy_one_in(store, directory, e, on_bytes), entries))


class _Counting:
    """A reader that reports how much was read (for the progress bar)."""

    def __init__(self, source, on_bytes: Progress | None) -> None:  # noqa: ANN001
        self._source, self._on_bytes = source, on_bytes

    def read(self, n: int = -1) -> bytes:
        data = self._source.read(CHUNK if n is None or n < 0 else n)
        if self._on_bytes is not None:
            self._on_bytes(len(data))
        return data


def _copy_one_in(store: ObjectStore, directory: Path, entry: FileEntry, on_bytes: Progress | None) -> None:
    if entry.key is None:
        raise Invalid(f"备份清单中的文件 {entry.path} 没有对象键", code="backup_manifest_invalid")
    with (directory / entry.path).open("rb") as source:
        stored = store.put_stream(
            check_key(entry.key), _Counting(source, on_bytes),  # type: ignore[arg-type]
            content_type=entry.content_type or "application/octet-stream", max_bytes=max(entry.size, 1),
        )  # fmt: skip
    if (stored.size, stored.sha256) != (entry.size, entry.sha256):
        raise DomainError(
            f"恢复时文件 {entry.path} 与核验时不一致（恢复过程中被改动？），请检查备份所在的磁盘后重新恢复",
            code="backup_file_damaged",
        )


def flush_to_disk(directory: Path) -> None:
    """Flush the backup's files and folders to disk before the manifest says it is complete: one syncfs of
    the filesystem holding them (one fsync per file costs a journal commit each: minutes for thousands)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if getattr(libc, "syncfs", None) is None or libc.syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)
