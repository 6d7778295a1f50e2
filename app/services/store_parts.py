"""The multipart side of the object-store seam, for resumable uploads: an upload in numbered parts that the
client sends in any order, lists, resumes and completes. On S3 these are S3's own multipart uploads (parts
PUT straight to the server through presigned URLs, ListParts, CompleteMultipartUpload, AbortMultipartUpload);
on the local folder the API receives the parts itself and keeps them beside the objects until completion.

The parts of an upload are kept outside the key space of objects (S3 keeps them apart itself; the folder keeps
them under `.parts/`, which no object key can name), so nothing reads them as an object before completion.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Protocol

from minio.datatypes import Part
from minio.error import S3Error

from app.services.errors import Invalid, Unavailable
from app.services.storage import CHUNK, LocalStore, ObjectStore, S3Store, SignedPut, check_key, presign_v4

_LOCAL_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class StoredPart:
    """One part the store holds: its number, size and the ETag completion names it by."""

    number: int
    size: int
    etag: str


@dataclass(frozen=True)
class PendingUpload:
    """A multipart upload the store holds that was never completed nor aborted."""

    key: str
    upload_id: str
    started: datetime | None


class Parts(Protocol):
    """What a resumable upload needs from a store. list_parts answers None for an upload the store no
    longer knows (completed, aborted or never started)."""

    def start(self, key: str, *, content_type: str) -> str: ...
    def presigned_part(self, key: str, *, upload_id: str, number: int, size: int, expires: timedelta) -> SignedPut: ...
    def put_part(self, key: str, *, upload_id: str, number: int, source: BinaryIO) -> int: ...
    def list_parts(self, key: str, *, upload_id: str) -> list[StoredPart] | None: ...
    def complete(self, key: str, *, upload_id: str, parts: list[StoredPart]) -> None: ...
    def abort(self, key: str, *, upload_id: str) -> None: ...
    def pending(self, prefix: str, *, before: datetime) -> Iterator[PendingUpload]: ...


def _gone(exc: Exception) -> bool:
    """Whether the store answered that the multipart upload does not exist (any more)."""
    cause = exc if isinstance(exc, S3Error) else exc.__cause__
    return isinstance(cause, S3Error) and cause.code in ("NoSuchUpload", "NoSuchKey")


class S3Parts:
    """S3 multipart uploads through the minio client's request methods (stable across minio 7.x)."""

    def __init__(self, store: S3Store) -> None:
        self.store = store
        self.client = store.client
        self.bucket = store.bucket

    def start(self, key: str, *, content_type: str) -> str:
        headers = {"Content-Type": content_type}
        return self.store._call(self.client._create_multipart_upload, self.bucket, check_key(key), headers)  # noqa: SLF001

    def presigned_part(self, key: str, *, upload_id: str, number: int, size: int, expires: timedelta) -> SignedPut:
        # uploadId, partNumber and Content-Length are all signed: the URL writes this part of this upload, of
        # this size, and nothing else (the S3 server answers 403 to any change).
        client = self.store.presign_client
        region = client._base_url.region or "us-east-1"  # noqa: SLF001
        url = client._base_url.build(method="PUT", region=region, bucket_name=self.bucket, object_name=check_key(key))  # noqa: SLF001
        creds = client._provider.retrieve()  # noqa: SLF001
        signed = presign_v4(
            url=urllib.parse.urlunsplit(url), method="PUT", region=region, access_key=creds.access_key,
            secret_key=creds.secret_key, expires=expires, headers={"Content-Length": str(size)},
            query={"partNumber": str(number), "uploadId": upload_id},
        )  # fmt: skip
        return SignedPut(url=signed, headers={})

    def put_part(self, key: str, *, upload_id: str, number: int, source: BinaryIO) -> int:
        raise NotImplementedError("on S3 the client PUTs parts to the server through presigned URLs")

    def list_parts(self, key: str, *, upload_id: str) -> list[StoredPart] | None:
        found: list[StoredPart] = []
        marker: str | None = None
        while True:
            try:
                page = self.store._call(  # noqa: SLF001
                    self.client._list_parts,
                    self.bucket,
                    check_key(key),
                    upload_id,
                    1000,
                    marker,  # noqa: SLF001
                )
            except (S3Error, Unavailable) as exc:  # _call turns most S3 errors into Unavailable
                if _gone(exc):
                    return None
                raise
            found += [StoredPart(p.part_number, p.size or 0, p.etag) for p in page.parts]
            if not page.is_truncated:
                return found
            marker = page.next_part_number_marker

    def complete(self, key: str, *, upload_id: str, parts: list[StoredPart]) -> None:
        named = [Part(p.number, p.etag) for p in parts]
        self.store._call(self.client._complete_multipart_upload, self.bucket, check_key(key), upload_id, named)  # noqa: SLF001

    def abort(self, key: str, *, upload_id: str) -> None:
        try:
            self.store._call(self.client._abort_multipart_upload, self.bucket, check_key(key), upload_id)  # noqa: SLF001
        except (S3Error, Unavailable) as exc:
            if not _gone(exc):
                raise

    def pending(self, prefix: str, *, before: datetime) -> Iterator[PendingUpload]:
        key_marker: str | None = None
        id_marker: str | None = None
        while True:
            page = self.store._call(  # noqa: SLF001
                self.client._list_multipart_uploads, self.bucket, prefix=prefix,  # noqa: SLF001
                key_marker=key_marker, upload_id_marker=id_marker, max_uploads=1000,
            )  # fmt: skip
            for upload in page.uploads:
                started = upload.initiated_time
                if started is None or started < before:
                    yield PendingUpload(upload.object_name, upload.upload_id, started)
            if not page.is_truncated:
                return
            key_marker, id_marker = page.next_key_marker, page.next_upload_id_marker


class LocalParts:
    """Parts as files under `<folder>/.parts/<upload id>/`, joined into the object at completion."""

    def __init__(self, store: LocalStore) -> None:
        self.store = store
        self.root = store.root / ".parts"

    def _dir(self, upload_id: str) -> Path:
        if not _LOCAL_ID.match(upload_id):
            raise Invalid("上传编号不合法", code="upload_id_invalid")
        return self.root / upload_id

    def start(self, key: str, *, content_type: str) -> str:
        upload_id = uuid.uuid4().hex
        folder = self._dir(upload_id)
        folder.mkdir(parents=True)
        (folder / "key").write_text(check_key(key), encoding="ascii")
        return upload_id

    def presigned_part(self, key: str, *, upload_id: str, number: int, size: int, expires: timedelta) -> SignedPut:
        raise NotImplementedError("the local folder cannot presign: the API signs its own part links")

    def _known(self, key: str, upload_id: str) -> Path | None:
        folder = self._dir(upload_id)
        marker = folder / "key"
        return folder if marker.is_file() and marker.read_text(encoding="ascii") == check_key(key) else None

    def put_part(self, key: str, *, upload_id: str, number: int, source: BinaryIO) -> int:
        """Store one part (written aside, renamed when whole: a cut body leaves no part); its size."""
        folder = self._known(key, upload_id)
        if folder is None:
            raise Invalid("该分片上传已结束或不存在，请重新申请上传", code="upload_parts_gone")
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".part-")
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK):
                    out.write(chunk)
                    size += len(chunk)
            os.replace(tmp, folder / f"{number:05d}")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return size

    def list_parts(self, key: str, *, upload_id: str) -> list[StoredPart] | None:
        folder = self._known(key, upload_id)
        if folder is None:
            return None
        parts = sorted(p for p in folder.iterdir() if p.name.isdigit())
        return [StoredPart(int(p.name), p.stat().st_size, p.name) for p in parts]

    def complete(self, key: str, *, upload_id: str, parts: list[StoredPart]) -> None:
        folder = self._known(key, upload_id)
        if folder is None:
            raise Invalid("该分片上传已结束或不存在，请重新申请上传", code="upload_parts_gone")
        target = self.store._path(key)  # noqa: SLF001
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                for part in parts:
                    with (folder / f"{part.number:05d}").open("rb") as f:
                        shutil.copyfileobj(f, out, CHUNK)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        shutil.rmtree(folder, ignore_errors=True)

    def abort(self, key: str, *, upload_id: str) -> None:
        if self._known(key, upload_id) is not None:
            shutil.rmtree(self._dir(upload_id), ignore_errors=True)

    def pending(self, prefix: str, *, before: datetime) -> Iterator[PendingUpload]:
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            marker = folder / "key"
            if not marker.is_file():
                continue
            key = marker.read_text(encoding="ascii")
            started = datetime.fromtimestamp(marker.stat().st_mtime, UTC)
            if key.startswith(prefix) and started < before:
                yield PendingUpload(key, folder.name, started)


def parts_of(store: ObjectStore) -> Parts:
    """The multipart side of store."""
    if isinstance(store, S3Store):
        return S3Parts(store)
    if isinstance(store, LocalStore):
        return LocalParts(store)
    raise TypeError(f"no multipart uploads for {type(store).__name__}")
