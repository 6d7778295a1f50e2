"""The backup's manifest: every file with its size and SHA-256, what the database snapshot holds, and an
HMAC-SHA256 signature with a key derived from the deployment's secret (SHIFAN_JWT_SECRET), so a backup
changed after it was written — a byte, a file, a figure in the manifest — is refused before anything is
restored. The same secret is needed to restore: a deployment with another one cannot tell a genuine backup
from a forged one."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError

from app.services.errors import Invalid
from app.settings import VAR_DIR, Settings

FORMAT = "shifan-backup/1"
NAME = "manifest.json"
CHUNK = 1024 * 1024
# A key of its own for manifests: a signature made with it can never pass for a login token, nor one the other way.
_PURPOSE = b"shifan backup manifest v1"


class FileEntry(BaseModel):
    """One file of the backup, relative to its directory."""

    path: str
    size: int
    sha256: str
    kind: Literal["database", "object"]
    key: str | None = None  # the object key a restore puts it under
    content_type: str | None = None  # what the store serves it as


class DatabasePart(BaseModel):
    """What the database snapshot holds."""

    backend: Literal["postgresql", "sqlite"]
    file: str
    sha256: str
    schema_revision: str | None
    server_version: str
    row_counts: dict[str, int]


class Manifest(BaseModel):
    """Everything a restore checks before it writes anything."""

    format: Literal["shifan-backup/1"] = FORMAT
    created_at: str
    shifan_version: str
    storage_backend: str
    database: DatabasePart
    files: list[FileEntry]
    missing_objects: list[str] = []  # named by the rows but absent from the store when the backup was taken
    mismatched_objects: list[str] = []  # present, but not the bytes the rows recorded (copied as found)
    signature: str = ""

    def body(self) -> bytes:
        """The canonical bytes the signature covers: everything but the signature itself."""
        data = self.model_dump(mode="json", exclude={"signature"})
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def objects(self) -> list[FileEntry]:
        return [f for f in self.files if f.kind == "object"]


def signing_key(settings: Settings) -> bytes:
    """The manifest key, derived from the deployment's secret. Never makes a secret: a restore on a machine
    without SHIFAN_JWT_SECRET (nor var/jwt-secret) must say so, not invent one that can only fail."""
    if not settings.jwt_secret and not (VAR_DIR / "jwt-secret").exists():
        raise Invalid(
            "未设置本系统的密钥（SHIFAN_JWT_SECRET），无法签名或核验备份。请设置为本系统所用的同一个密钥，"
            "或在服务的工作目录（其中有 var/jwt-secret）中运行",
            code="backup_key_missing",
        )
    return hmac.new(settings.secret().encode(), _PURPOSE, hashlib.sha256).digest()


def sign(manifest: Manifest, key: bytes) -> Manifest:
    return manifest.model_copy(update={"signature": hmac.new(key, manifest.body(), hashlib.sha256).hexdigest()})


def write(directory: Path, manifest: Manifest) -> Path:
    """Write the manifest last, beside the files it names: its presence marks a finished backup."""
    path = directory / NAME
    aside = directory / f".{NAME}.part"
    with aside.open("w", encoding="utf-8") as f:
        f.write(manifest.model_dump_json(indent=1) + "\n")
        f.flush()
        os.fsync(f.fileno())
    aside.replace(path)
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)  # the rename itself on disk
    finally:
        os.close(fd)
    return path


def read_verified(directory: Path, key: bytes) -> Manifest:
    """The directory's manifest if it is there, readable and signed with key; Invalid naming what is wrong."""
    path = directory / NAME
    if not directory.is_dir():
        raise Invalid(f"找不到备份目录 {directory}", code="backup_not_found")
    if not path.is_file():
        raise Invalid(
            f"备份不完整：缺少备份清单 {NAME}（备份可能中途中断，或复制时漏掉了这个文件），不能用它恢复",
            code="backup_manifest_missing",
        )
    try:
        manifest = Manifest.model_validate_json(path.read_bytes())
    except (ValidationError, ValueError) as exc:
        raise Invalid(
            f"备份清单 {NAME} 已损坏或不是本系统的备份清单，不能用它恢复", code="backup_manifest_invalid"
        ) from exc
    expected = hmac.new(key, manifest.body(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, manifest.signature):
        raise Invalid(
            "备份清单的签名不符：备份在写成后被改动过，或本系统的密钥（SHIFAN_JWT_SECRET）与做备份时的不同。"
            "不能用它恢复",
            code="backup_signature_invalid",
        )
    return manifest


def file_digest(path: Path) -> tuple[int, str]:
    """(size, SHA-256 hex) of a file, read in chunks."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def entry_for(
    directory: Path, relative: str, *, kind: Literal["database", "object"], key: str | None = None
) -> FileEntry:
    size, sha = file_digest(directory / relative)
    return FileEntry(path=relative, size=size, sha256=sha, kind=kind, key=key)


def problem(directory: Path, entry: FileEntry, on_bytes: Callable[[int], None] | None = None) -> tuple[str, str] | None:
    """(missing|damaged, what) when the file is not in the directory as it was written, else None."""
    path = directory / entry.path
    if not _inside(directory, path) or not path.is_file():
        return "missing", f"缺少文件 {entry.path}"
    if path.stat().st_size != entry.size:
        return "damaged", f"文件 {entry.path} 大小不符（应为 {entry.size} 字节，实为 {path.stat().st_size} 字节）"
    size, sha = file_digest(path)
    if on_bytes is not None:
        on_bytes(size)
    if sha != entry.sha256:
        return "damaged", f"文件 {entry.path} 内容已改变（SHA-256 校验值不符）"
    return None


def _inside(directory: Path, path: Path) -> bool:
    return path.resolve().is_relative_to(directory.resolve())


def check_files(
    directory: Path, manifest: Manifest, *, jobs: int = 4, on_bytes: Callable[[int], None] | None = None
) -> None:
    """Every file the manifest names, present with its size and SHA-256; Invalid listing each one that is not.
    Several files are hashed at once: hashlib and file reads let go of the interpreter, so each core is used."""
    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="backup-check") as pool:
        found = [p for p in pool.map(lambda e: problem(directory, e, on_bytes), manifest.files) if p is not None]
    if not found:
        return
    missing = [what for kind, what in found if kind == "missing"]
    damaged = [what for kind, what in found if kind == "damaged"]
    if damaged:
        message = f"备份已损坏：{len(damaged)} 个文件与备份时不一致" + (
            f"，另缺少 {len(missing)} 个文件" if missing else ""
        )
        code = "backup_file_damaged"
    else:
        message, code = f"备份不完整：缺少 {len(missing)} 个文件", "backup_file_missing"
    raise Invalid(message + "。不能用它恢复，请改用另一份完好的备份", code=code, errors=[w for _, w in found])
