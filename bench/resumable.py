"""A resumed 300 MB upload: bytes sent vs the file's size, on each S3 server (`python -m bench.resumable`).

The case of issue 26: a liaison's 300 MB video over a county's 4G link, which drops in the middle of a part. The
client asks for a resumable direct upload, PUTs the parts in a shuffled order, loses the connection half-way
through the part it sends when half the parts are in, asks the API which parts the store holds, sends only the
missing ones and completes. Without parts the same drop would cost everything sent so far: the whole file again.

Everything starts on 127.0.0.1 in this run: each S3 server (Ceph RGW when installed, and moto), the API as its
own uvicorn process on it (PostgreSQL when it answers, else SQLite) with the demo county.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.upload import _database, _open_submission, _start_api  # noqa: E402
from tests.resumable_kit import Cut, Sender, write_mp4  # noqa: E402
from tests.s3servers import S3Server, free_port, rgw_installed, start_moto, start_rgw  # noqa: E402

MB = 1000 * 1000
MiB = 1024 * 1024


@dataclass
class Figures:
    server: str
    database: str
    size: int
    part_size: int
    parts: int
    sent_before_cut: int
    sent: int
    parts_seconds: float
    complete_seconds: float

    @property
    def ratio(self) -> float:
        return self.sent / self.size

    @property
    def restart_ratio(self) -> float:
        """Bytes a client without parts sends for the same drop: what went before it, then the whole file."""
        return (self.sent_before_cut + self.size) / self.size


def _one(server: S3Server, path: Path, sha: str, work: Path) -> Figures:
    db_url, db_name, drop = _database()
    port = free_port()
    env = {
        **os.environ,
        "SHIFAN_DATABASE_URL": db_url,
        "SHIFAN_STORAGE_BACKEND": "s3",
        "SHIFAN_S3_ENDPOINT": server.endpoint,
        "SHIFAN_S3_ACCESS_KEY": server.access_key,
        "SHIFAN_S3_SECRET_KEY": server.secret_key,
        "SHIFAN_S3_BUCKET": f"bench-{uuid.uuid4().hex[:8]}",
        "SHIFAN_S3_SECURE": "false",
        "SHIFAN_JWT_SECRET": uuid.uuid4().hex,
    }
    api_dir = work / f"api-{server.name}"
    api_dir.mkdir()
    api_proc = _start_api(env, port, api_dir)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=900) as api, httpx.Client(timeout=300) as s3:
            liaison, assignment_id = _open_submission(api)
            size = path.stat().st_size
            body = {"filename": "现场录像.mp4", "size": size, "sha256": sha, "resumable": True}
            intent = api.post(f"/api/v1/assignments/{assignment_id}/evidence/uploads", json=body, headers=liaison)
            intent.raise_for_status()
            plan = intent.json()["parts"]
            order = random.Random(26).sample(plan["urls"], len(plan["urls"]))
            victim = order[len(order) // 2]
            sender = Sender(path, plan["part_size"])
            started = time.perf_counter()
            for part in order:
                if part is victim:
                    try:
                        sender.put(s3, part, cut_after=part["size"] // 2)
                    except Cut:
                        break
                    raise RuntimeError("the connection was to drop")
                assert sender.put(s3, part) == 200
            sent_before_cut = sender.sent
            held = api.get(f"/api/v1/uploads/{intent.json()['id']}/parts", headers=liaison).json()
            with httpx.Client(timeout=300) as again:  # a new connection, as after the link came back
                for part in held["urls"]:
                    assert sender.put(again, part) == 200
            parts_seconds = time.perf_counter() - started
            started = time.perf_counter()
            done = api.post(f"/api/v1/uploads/{intent.json()['id']}/complete", headers=liaison)
            complete_seconds = time.perf_counter() - started
            assert done.status_code == 201, done.text
            assert done.json()["current"]["sha256"] == sha
            return Figures(
                server.name, db_name, size, plan["part_size"], plan["part_count"], sent_before_cut, sender.sent,
                parts_seconds, complete_seconds,
            )  # fmt: skip
    finally:
        api_proc.terminate()
        api_proc.wait(20)
        drop()


def run(size: int = 300 * MB) -> list[Figures]:
    """Measure on each S3 server; returns the figures (nothing is asserted here: BENCHMARKS.md states them)."""
    found: list[Figures] = []
    with tempfile.TemporaryDirectory(prefix="shifan-bench-resumable-") as tmp:
        work = Path(tmp)
        path = work / "video.mp4"
        sha = write_mp4(path, size)
        starters = ([("rgw", start_rgw)] if rgw_installed() else []) + [("moto", start_moto)]
        for name, start in starters:
            server_dir = work / name
            server_dir.mkdir()
            server = start(server_dir)
            try:
                found.append(_one(server, path, sha, work))
            finally:
                server.stop()  # type: ignore[operator]
    return found


def report(figures: list[Figures]) -> str:
    lines = [
        "| S3 server | file | parts | sent before the drop | sent in all | **sent / file** | restarting from zero "
        "| parts PUT | complete |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for f in figures:
        lines.append(
            f"| {f.server} ({f.database}) | {f.size / MB:.0f} MB | {f.parts} × {f.part_size // MiB} MiB "
            f"| {f.sent_before_cut / MB:.1f} MB | {f.sent / MB:.1f} MB | **{f.ratio:.3f}** | {f.restart_ratio:.3f} "
            f"| {f.parts_seconds:.1f} s | {f.complete_seconds:.1f} s |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(run()))
