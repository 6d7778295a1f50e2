"""The object-store seam: S3 through the minio client, or a local folder. Callers never know which.

Bytes are streamed in bounded chunks; SHA-256 and size are computed on the way and the size limit
is enforced while streaming, so an oversized or cut-off upload leaves no object behind.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import shutil
import tempfile
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, Protocol

import urllib3
from minio import Minio
from minio.commonconfig import CopySource
from minio.error import S3Error

from app.services.errors import DomainError, Invalid, Unavailable, file_too_large
from app.settings import Settings, get_settings

CHUNK = 1024 * 1024
# S3 multipart part, the minimum S3 allows: minio holds about six parts at once per upload (three in
# flight, one being read, two transient copies), so this bounds the memory one upload holds (~30 MiB).
PART_SIZE = 5 * 1024 * 1024
_KEY = re.compile(r"^[a-z0-9][a-z0-9/_-]{0,200}$")


@dataclass(frozen=True)
class StoredObject:
    """What the store holds under key, as measured while it streamed in."""

    key: str
    size: int
    sha256: str


class HashingReader:
    """A file-like wrapper that hashes and counts what is read and stops past max_bytes."""

    def __init__(self, source: BinaryIO, max_bytes: int) -> None:
        self._source = source
        self._max = max_bytes
        self.size = 0
        self._hash = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        # read() without a size returns one chunk, not the rest of the stream: nothing here may
        # ever pull a whole upload into memory. With a size, it fills up to that size (or the end):
        # minio appends each read to the part with `bytes +=`, so many small reads cost quadratic copying.
        want = CHUNK if n is None or n < 0 else n
        parts: list[bytes] = []
        got = 0
        while got < want:
            chunk = self._source.read(want - got)
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        self.size += len(data)
        if self.size > self._max:
            raise file_too_large(self._max)
        self._hash.update(data)
        return data

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


def check_key(key: str) -> str:
    """key if it is one the application makes (no user text, no traversal); Invalid otherwise."""
    if not _KEY.match(key) or ".." in key or "//" in key:
        raise Invalid("对象键不合法", code="object_key_invalid")
    return key


class ObjectStore(Protocol):
    """What evidence handling needs from an object store. A store that cannot presign (can_presign False)
    raises presign_unsupported from presigned_*; downloads then go through the API's own signed links."""

    can_presign: bool

    def ensure_ready(self) -> None: ...
    def put_stream(self, key: str, source: BinaryIO, *, content_type: str, max_bytes: int) -> StoredObject: ...
    def size_of(self, key: str) -> int | None: ...
    def iter_bytes(self, key: str, *, start: int = 0, length: int | None = None) -> Iterator[bytes]: ...
    def delete(self, key: str) -> None: ...
    def keys(self, prefix: str, *, before: datetime | None = None) -> Iterator[str]: ...
    def presigned_get(self, key: str, *, expires: timedelta, headers: dict[str, str] | None = None) -> str: ...
    def presigned_put(self, key: str, *, expires: timedelta, size: int, sha256: str | None = None) -> SignedPut: ...
    def copy(self, source: str, target: str) -> None: ...


@dataclass(frozen=True)
class SignedPut:
    """A presigned PUT: the URL and the headers the client must send exactly as signed."""

    url: str
    headers: dict[str, str]


def _sign(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def presign_v4(
    *, url: str, method: str, region: str, access_key: str, secret_key: str, expires: timedelta,
    headers: dict[str, str], now: datetime | None = None, query: dict[str, str] | None = None,
) -> str:  # fmt: skip
    """A SigV4 query-string presigned URL that also signs headers (the minio client signs only Host):
    the S3 server recomputes the signature from the headers the client sends, so a body of another
    length (or, where the server checks it, another SHA-256) fails with 403 at the server."""
    parts = urllib.parse.urlsplit(url)
    now = now or datetime.now(UTC)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    scope = f"{day}/{region}/s3/aws4_request"
    signed = {"host": parts.netloc, **{k.lower(): v.strip() for k, v in headers.items()}}
    names = ";".join(sorted(signed))
    query = {
        **(query or {}),  # e.g. uploadId and partNumber of a multipart part: signed like the rest
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"{access_key}/{scope}",
        "X-Amz-Date": amz_date,
        "X-Amz-Expires": str(int(expires.total_seconds())),
        "X-Amz-SignedHeaders": names,
    }
    canonical_query = "&".join(
        f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}" for k, v in sorted(query.items())
    )
    canonical = "\n".join(
        [
            method,
            parts.path or "/",
            canonical_query,
            "".join(f"{k}:{signed[k]}\n" for k in sorted(signed)),
            names,
            signed.get("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
        ]
    )
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _sign(_sign(_sign(_sign(f"AWS4{secret_key}".encode(), day), region), "s3"), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return urllib.parse.urlunsplit(
        (parts.scheme, parts.netloc, parts.path, f"{canonical_query}&X-Amz-Signature={signature}", "")
    )


class S3Store:
    """Objects in one bucket of an S3 server (MinIO in production) through the minio client."""

    can_presign = True

    def __init__(self, client: Minio, bucket: str, presign_client: Minio | None = None) -> None:
        self.client = client
        self.bucket = bucket
        # Presigning is pure computation (no request when the region is set), so a second client
        # configured with the public endpoint signs URLs that clients outside the network can use.
        self.presign_client = presign_client or client

    @staticmethod
    def http_client() -> urllib3.PoolManager:
        """Connections as the API makes them: 3 s to connect, two quick retries (an unreachable store is 503
        within a second or two, where minio's default retries for six)."""
        return urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=3, read=60), retries=urllib3.Retry(total=2, backoff_factor=0.2)
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Store:
        http = cls.http_client()

        def client(endpoint: str) -> Minio:
            return Minio(
                endpoint,
                access_key=settings.s3_access_key,
                secret_key=settings.s3_secret_key,
                secure=settings.s3_secure,
                region=settings.s3_region,
                http_client=http,
            )

        public = client(settings.s3_public_endpoint) if settings.s3_public_endpoint else None
        return cls(client(settings.s3_endpoint), settings.s3_bucket, public)

    def _call(self, fn, *args, **kwargs):  # noqa: ANN001, ANN202, ANN003, ANN002 - thin error translation
        try:
            return fn(*args, **kwargs)
        except DomainError:  # the size limit, a cut-off upload: the caller's problem, not the store's
            raise
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject"):
                raise
            raise Unavailable(code="storage_error") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise Unavailable() from exc

    def ensure_ready(self) -> None:
        """Create the bucket if it is missing."""
        if not self._call(self.client.bucket_exists, self.bucket):
            self._call(self.client.make_bucket, self.bucket)

    def put_stream(self, key: str, source: BinaryIO, *, content_type: str, max_bytes: int) -> StoredObject:
        reader = HashingReader(source, max_bytes)
        # length=-1 streams in PART_SIZE parts; on any error minio aborts the multipart upload.
        self._call(
            self.client.put_object,
            self.bucket,
            check_key(key),
            reader,
            length=-1,
            part_size=PART_SIZE,
            content_type=content_type,
        )
        return StoredObject(key=key, size=reader.size, sha256=reader.sha256)

    def size_of(self, key: str) -> int | None:
        try:
            return self._call(self.client.stat_object, self.bucket, check_key(key)).size
        except S3Error:
            return None

    def iter_bytes(self, key: str, *, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        response = self._call(self.client.get_object, self.bucket, check_key(key), offset=start, length=length or 0)
        try:
            yield from response.stream(CHUNK)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            # the server went away in the middle of the object: an outage (retry), never a short or broken file
            raise Unavailable() from exc
        finally:
            response.close()
            response.release_conn()

    def delete(self, key: str) -> None:
        self._call(self.client.remove_object, self.bucket, check_key(key))

    def keys(self, prefix: str, *, before: datetime | None = None) -> Iterator[str]:
        for obj in self._call(self.client.list_objects, self.bucket, prefix=prefix, recursive=True):
            if before is None or (obj.last_modified is not None and obj.last_modified < before):
                yield obj.object_name

    def presigned_get(self, key: str, *, expires: timedelta, headers: dict[str, str] | None = None) -> str:
        return self._call(
            self.presign_client.presigned_get_object,
            self.bucket,
            check_key(key),
            expires=expires,
            response_headers=headers,
        )

    def presigned_put(self, key: str, *, expires: timedelta, size: int, sha256: str | None = None) -> SignedPut:
        # The minio client cannot sign headers into a presigned URL; its endpoint, region and credentials
        # (attributes stable across minio 7.x) feed presign_v4, which signs Content-Length (and the SHA-256).
        client = self.presign_client
        region = client._base_url.region or "us-east-1"  # noqa: SLF001
        url = client._base_url.build(method="PUT", region=region, bucket_name=self.bucket, object_name=check_key(key))  # noqa: SLF001
        creds = client._provider.retrieve()  # noqa: SLF001
        headers = {"Content-Length": str(size)}
        if sha256:
            headers["x-amz-content-sha256"] = sha256
        signed = presign_v4(
            url=urllib.parse.urlunsplit(url), method="PUT", region=region, access_key=creds.access_key,
            secret_key=creds.secret_key, expires=expires, headers=headers,
        )  # fmt: skip
        return SignedPut(url=signed, headers={k: v for k, v in headers.items() if k != "Content-Length"})

    def copy(self, source: str, target: str) -> None:
        """A server-side copy of source to target (no byte passes through the application)."""
        self._call(self.client.copy_object, self.bucket, check_key(target), CopySource(self.bucket, check_key(source)))


class LocalStore:
    """Objects as files under a folder: the zero-setup default for a first run."""

    can_presign = False  # nothing serves the folder: download links are the API's own (submission/links.py)

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def ensure_ready(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    def put_stream(self, key: str, source: BinaryIO, *, content_type: str, max_bytes: int) -> StoredObject:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        reader = HashingReader(source, max_bytes)
        # Written to a temporary file beside the target and renamed only when complete.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := reader.read(CHUNK):
                    out.write(chunk)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return StoredObject(key=key, size=reader.size, sha256=reader.sha256)

    def size_of(self, key: str) -> int | None:
        path = self._path(key)
        return path.stat().st_size if path.is_file() else None

    def iter_bytes(self, key: str, *, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        remaining = length
        with self._path(key).open("rb") as f:
            f.seek(start)
            while remaining is None or remaining > 0:
                chunk = f.read(CHUNK if remaining is None else min(CHUNK, remaining))
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def keys(self, prefix: str, *, before: datetime | None = None) -> Iterator[str]:
        if not self.root.exists():
            return
        for path in sorted(self.root.rglob("*")):
            key = path.relative_to(self.root).as_posix()
            # .upload-* are writes in progress; .parts/ holds resumable uploads' parts (store_parts.py), not objects
            hidden = path.name.startswith(".upload-") or key.startswith(".")
            if not path.is_file() or hidden or not key.startswith(prefix):
                continue
            if before is None or datetime.fromtimestamp(path.stat().st_mtime, UTC) < before:
                yield key

    def presigned_get(self, key: str, *, expires: timedelta, headers: dict[str, str] | None = None) -> str:
        raise Unavailable("本地存储模式不支持直传/直下链接，请通过接口下载", code="presign_unsupported")

    def presigned_put(self, key: str, *, expires: timedelta, size: int, sha256: str | None = None) -> SignedPut:
        raise Unavailable("本地存储模式不支持直传/直下链接，请通过接口上传", code="presign_unsupported")

    def copy(self, source: str, target: str) -> None:
        """A copy of source under target, written beside it and renamed when complete."""
        path = self._path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        os.close(fd)
        try:
            shutil.copyfile(self._path(source), tmp)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def make_store(settings: Settings) -> ObjectStore:
    """The store the settings name."""
    if settings.storage_backend == "s3":
        return S3Store.from_settings(settings)
    return LocalStore(settings.object_dir)


@lru_cache
def get_store() -> ObjectStore:
    """The process-wide store (stateless: clients only, no cached objects)."""
    return make_store(get_settings())
