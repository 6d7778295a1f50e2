"""Resumable uploads as a client on a weak link does them: a large MP4 written to a temporary file as it is
generated, parts PUT in any order with every byte sent counted, a connection cut in the middle of a part, the
parts the server holds asked for, only the missing ones sent again."""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

CHUNK = 1024 * 1024


def write_mp4(path: Path, size: int) -> str:
    """A structurally valid MP4 of exactly size bytes (ftyp, moov, then an mdat of random bytes), written in
    chunks so no more than one is held; its SHA-256."""
    ftyp = struct.pack(">I", 24) + b"ftypisom\x00\x00\x02\x00isomiso2"
    moov = struct.pack(">I", 16) + b"moov" + bytes(8)
    head = ftyp + moov + struct.pack(">I", size - 40) + b"mdat"
    digest = hashlib.sha256(head)
    with path.open("wb") as out:
        out.write(head)
        left = size - len(head)
        while left:
            chunk = os.urandom(min(CHUNK, left))
            digest.update(chunk)
            out.write(chunk)
            left -= len(chunk)
    return digest.hexdigest()


class Cut(Exception):
    """The connection dropped (raised from inside the body being sent)."""


@dataclass
class Sender:
    """PUTs parts of one file and counts every byte handed to the connection."""

    path: Path
    part_size: int
    sent: int = 0
    puts: list[int] = field(default_factory=list)

    def _body(self, number: int, size: int, cut_after: int | None) -> Iterator[bytes]:
        with self.path.open("rb") as f:
            f.seek((number - 1) * self.part_size)
            done = 0
            while done < size:
                chunk = f.read(min(CHUNK, size - done))
                if cut_after is not None and done + len(chunk) > cut_after:
                    self.sent += cut_after - done
                    yield chunk[: cut_after - done]
                    raise Cut(f"connection dropped in part {number} after {cut_after} bytes")
                self.sent += len(chunk)
                done += len(chunk)
                yield chunk

    def put(self, http: httpx.Client, part: dict, *, cut_after: int | None = None, body: bytes | None = None) -> int:
        """PUT one part (its bytes from the file, or body); the status code. cut_after drops the connection."""
        self.puts.append(part["number"])
        headers = {**part["headers"], "Content-Length": str(part["size"] if body is None else len(body))}
        content = body if body is not None else self._body(part["number"], part["size"], cut_after)
        if body is not None:
            self.sent += len(body)
        return http.put(part["url"], content=content, headers=headers).status_code


def part_bytes(path: Path, part_size: int, number: int, size: int) -> bytes:
    with path.open("rb") as f:
        f.seek((number - 1) * part_size)
        return f.read(size)
