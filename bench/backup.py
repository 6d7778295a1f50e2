"""Backup and restore of a 4 GiB evidence store: `shifan backup` and `shifan restore` timed against a plain copy of
the same files (`cp -r`, `tar -cf`) in the same run, on the same disk.

The deployment is the demo county on a fresh database (PostgreSQL when 127.0.0.1:5432 answers, else SQLite) with
the local folder store, plus ~4 GiB of evidence versions (a mix of 256 KiB, 4 MiB and 24 MiB files of random
bytes, each recorded with its size and SHA-256 as an upload would be). Everything lives in one temporary folder
that is removed at the end. Each command runs as its own process; its peak memory is its VmHWM.

Run: `.venv/bin/python -m bench.backup [--gib 4]`; the figures replace the "Backup and restore" section of
BENCHMARKS.md (between its markers), leaving the rest of the file as it is.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.models import Evidence, EvidenceVersion  # noqa: E402
from bench.run import machine  # noqa: E402
from bench.upload import _database  # noqa: E402

MiB = 1024 * 1024
START, END = "<!-- backup:start -->", "<!-- backup:end -->"
# (object size, share of the store): many small scans and photos, most bytes in mid-size PDFs, a few videos
MIX = ((256 * 1024, 0.125), (4 * MiB, 0.5), (24 * MiB, 0.375))


@dataclass
class Timed:
    seconds: float
    peak_rss_mib: float = 0.0


def run(cmd: list[str], env: dict[str, str] | None = None) -> Timed:
    """Run cmd to its end; wall time and the process's peak RSS. The peak is VmHWM of the process's own memory,
    read from /proc while it runs (wait4's ru_maxrss would count this parent's memory, which a fork copies and an
    exec keeps as the high-water mark)."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak_kib = 0
    while proc.poll() is None:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
            peak_kib = max(peak_kib, int(status.split("VmHWM:")[1].split()[0]))
        except (FileNotFoundError, IndexError, ProcessLookupError):
            pass
        time.sleep(0.05)
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
    return Timed(seconds, peak_kib / 1024)


def synced(cmd: list[str], target: Path) -> Timed:
    """A plain copy, then its files flushed to disk (as the backup flushes its own before the manifest)."""
    started = time.monotonic()
    run(cmd)
    run(["sync", "-f", str(target)])
    return Timed(time.monotonic() - started)


def plant_store(url: str, objects: Path, total: int) -> tuple[int, int]:
    """Write ~total bytes of evidence files into the local store and a version row for each; (files, bytes)."""
    block = os.urandom(64 * MiB)
    engine = sa.create_engine(url)
    count = written = 0
    with Session(engine) as session:
        evidence = session.exec(select(Evidence).order_by(Evidence.id)).first()
        assert evidence is not None, "the demo county has evidence"
        number = session.exec(select(func.max(EvidenceVersion.number))).one() or 0
        for size, share in MIX:
            for _ in range(int(total * share) // size):
                key = f"ev/{evidence.campaign_id}/{evidence.unit_id}/{uuid.uuid4().hex}"
                path = objects / key
                path.parent.mkdir(parents=True, exist_ok=True)
                head = uuid.uuid4().bytes * 2  # no two files alike
                start = (count * 4099) % (len(block) - size)
                body = memoryview(block)[start : start + size - len(head)]
                with path.open("wb") as f:
                    f.write(head)
                    f.write(body)
                digest = hashlib.sha256(head)
                digest.update(body)
                number += 1
                session.add(
                    EvidenceVersion(
                        evidence_id=evidence.id, number=number, kind="file", object_key=key, filename=f"{number}.pdf",
                        content_type="application/pdf", extension="pdf", size=size, sha256=digest.hexdigest(),
                        created_by=evidence.created_by,
                    )
                )  # fmt: skip
                count, written = count + 1, written + size
        session.commit()
    engine.dispose()
    return count, written


def measure(gib: float) -> dict:
    total = int(gib * 1024 * MiB)
    work = Path(tempfile.mkdtemp(prefix="shifan-bench-backup-"))
    free = shutil.disk_usage(work).free
    if free < 4.5 * total:
        shutil.rmtree(work)
        raise SystemExit(f"needs {4.5 * total / 1024**3:.1f} GiB free under {work.parent}, has {free / 1024**3:.1f}")
    drops = []
    try:
        url, database, drop = _database()
        drops.append(drop)
        env = {**os.environ, "SHIFAN_DATABASE_URL": url, "SHIFAN_JWT_SECRET": "bench-" + uuid.uuid4().hex,
               "SHIFAN_STORAGE_BACKEND": "local", "SHIFAN_OBJECT_DIR": str(work / "objects"),
               "SHIFAN_PASSWORD_HASH_COST": "cheapest"}  # fmt: skip
        shifan = [sys.executable, "-m", "app.cli"]
        run([*shifan, "demo"], env)
        idle = run([*shifan, "backup", "--help"], env)  # the same process doing nothing: its memory floor
        files, size = plant_store(url, work / "objects", total)
        plain_cp = synced(["cp", "-r", str(work / "objects"), str(work / "cp-copy")], work)
        shutil.rmtree(work / "cp-copy")
        plain_tar = synced(["tar", "-cf", str(work / "objects.tar"), "-C", str(work), "objects"], work)
        (work / "objects.tar").unlink()
        backup = run([*shifan, "backup", "--out", str(work / "backup")], env)
        check = run([*shifan, "restore", str(work / "backup"), "--check"], env)
        url2, _, drop2 = _database()
        drops.append(drop2)
        target = {**env, "SHIFAN_DATABASE_URL": url2, "SHIFAN_OBJECT_DIR": str(work / "restored")}
        restore = run([*shifan, "restore", str(work / "backup")], target)
        plain_back = synced(["cp", "-r", str(work / "backup" / "objects"), str(work / "cp-back")], work)
        dump = next(p for p in (work / "backup").iterdir() if p.name.startswith("database."))
        return {
            "database": database, "files": files, "mib": size / MiB, "dump_mib": dump.stat().st_size / MiB,
            "cp": plain_cp.seconds, "tar": plain_tar.seconds, "cp_back": plain_back.seconds, "backup": backup,
            "check": check, "restore": restore, "idle_rss": idle.peak_rss_mib,
        }  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
        for drop in drops:
            drop()


def markdown(f: dict) -> str:
    mib = f["mib"]

    def rate(seconds: float) -> str:
        return f"{mib / seconds:.0f} MiB/s"

    return "\n".join([
        START,
        "## Backup and restore (`python -m bench.backup`)",
        "",
        f"Run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}. The demo county on {f['database']} with the local",
        f"folder store and **{f['files']} evidence files, {mib / 1024:.1f} GiB** (256 KiB, 4 MiB and 24 MiB files); the",
        "database dump is {:.1f} MiB. Every command is its own process, on the same disk as the store; the files".format(f["dump_mib"]),
        "were just written, so reads come from the page cache on both sides of each comparison.",
        "",
        "| | seconds | throughput | peak RSS |",
        "|---|---|---|---|",
        f"| `cp -r` of the object folder, then `sync -f` (baseline) | {f['cp']:.1f} | {rate(f['cp'])} | – |",
        f"| `tar -cf` of the object folder, then `sync -f` | {f['tar']:.1f} | {rate(f['tar'])} | – |",
        f"| **`shifan backup`** (dump, copy + SHA-256 of each file, flushed to disk, signed manifest) | {f['backup'].seconds:.1f} | {rate(f['backup'].seconds)} | {f['backup'].peak_rss_mib:.0f} MiB |",
        f"| `shifan restore --check` (signature, size and SHA-256 of every file; writes nothing) | {f['check'].seconds:.1f} | {rate(f['check'].seconds)} | {f['check'].peak_rss_mib:.0f} MiB |",
        f"| `cp -r` of the backup's objects back, then `sync -f` (baseline) | {f['cp_back']:.1f} | {rate(f['cp_back'])} | – |",
        f"| **`shifan restore`** into an empty database and folder (the check, then the copy and the database) | {f['restore'].seconds:.1f} | {rate(f['restore'].seconds)} | {f['restore'].peak_rss_mib:.0f} MiB |",
        "",
        f"**Backup / `cp -r`: {f['cp'] / f['backup'].seconds:.2f}** of the plain copy's speed; **restore / `cp -r`: "
        f"{f['cp_back'] / f['restore'].seconds:.2f}** (a restore reads every byte twice: once to check it before anything is",
        f"written, once to copy it; without the check it takes {f['restore'].seconds - f['check'].seconds:.1f} s). Memory: the same command doing nothing",
        f"(`shifan backup --help`) peaks at {f['idle_rss']:.0f} MiB, so a {mib / 1024:.0f} GiB backup costs "
        f"{f['backup'].peak_rss_mib - f['idle_rss']:.0f} MiB more: the driver, the manifest and four 1 MiB chunks in flight (files are streamed).",
        END,
        "",
    ])  # fmt: skip


def write(section: str, path: Path = ROOT / "BENCHMARKS.md") -> None:
    """Replace this benchmark's section of BENCHMARKS.md (or append it), leaving the rest as it is."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if START in old and END in old:
        new = old[: old.index(START)] + section.rstrip("\n") + old[old.index(END) + len(END) :]
    else:
        new = old.rstrip("\n") + "\n\n" + section
    path.write_text(new, encoding="utf-8")


def keep_section(old: str) -> str:
    """This benchmark's section of an existing BENCHMARKS.md ("" when there is none), for bench/run.py to keep."""
    if START in old and END in old:
        return old[old.index(START) : old.index(END) + len(END)] + "\n"
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=4.0, help="size of the evidence store (default 4)")
    parser.add_argument("--no-write", action="store_true", help="print the section, leave BENCHMARKS.md alone")
    args = parser.parse_args()
    section = markdown(measure(args.gib))
    print(section)
    if not args.no_write:
        write(section)


if __name__ == "__main__":
    main()
