"""`shifan backup --out DIR` and `shifan restore DIR`: a whole deployment (database and evidence files) into a
directory a clerk can copy to a disk, and back into an empty database and store, with progress on stderr."""

from __future__ import annotations

import argparse
import threading
import time
from datetime import datetime
from pathlib import Path

from app.cli_export import Progress
from app.models._base import COUNTY_ZONE

MiB = 1024 * 1024


class _Shared:
    """A progress bar several copying threads advance at once."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Progress | None = None
        self._lock = threading.Lock()

    def plan(self, total: int) -> None:
        small = total < 10 * MiB  # "0 MiB/0 MiB" says nothing
        self.bar = Progress(self.label, total, unit="KiB" if small else "MiB", scale=1024 if small else MiB)

    def advance(self, amount: int) -> None:
        with self._lock:
            if self.bar is not None:
                self.bar.advance(amount)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def backup(args: argparse.Namespace) -> None:
    """Write a consistent, signed backup of the database and every evidence file it names."""
    from app.services.backup import take
    from app.services.storage import get_store
    from app.settings import get_settings

    started = time.monotonic()
    bar = _Shared("备份资料文件")
    made = take.take(
        get_settings(), get_store(), Path(args.out), jobs=args.jobs, on_plan=bar.plan, on_bytes=bar.advance
    )
    bar.close()
    files = made.objects()
    size = sum(f.size for f in files)
    print(
        f"备份完成：{args.out}（数据库 {made.database.backend}，{sum(made.database.row_counts.values())} 行；"
        f"资料文件 {len(files)} 个，共 {_size(size)}；用时 {time.monotonic() - started:.1f} 秒）"
    )
    for key in made.missing_objects:
        print(f"警告：数据库记录的文件 {key} 在存储中找不到，未能备份（原系统中也已缺失）")
    for key in made.mismatched_objects:
        print(f"警告：文件 {key} 与提交时记录的校验值不符，已按现状备份（原系统中已损坏）")
    print(
        "恢复时需要同一个 SHIFAN_JWT_SECRET（用于核验备份清单的签名）；请把整个目录复制到另一块磁盘或另一台机器保存。"
    )


def restore(args: argparse.Namespace) -> None:
    """Check a backup whole, then put it back into the configured empty database and store."""
    from app.services.backup import restore as restoring
    from app.services.storage import get_store
    from app.settings import get_settings

    source, settings = Path(args.dir), get_settings()
    started = time.monotonic()
    checked = _Shared("核验备份文件")
    if args.check:
        checked.plan(_planned_bytes(source))
        found = restoring.verify(settings, source, jobs=args.jobs, on_bytes=checked.advance)
        checked.close()
        print(
            f"备份完好：{len(found.files)} 个文件的大小和校验值都与签名的清单一致（做于 {_local(found.created_at)}）。"
        )
        return
    restored = _Shared("恢复资料文件")
    checked.plan(_planned_bytes(source))
    restored.plan(_planned_bytes(source / "objects"))
    found = restoring.restore(
        settings,
        get_store(),
        source,
        jobs=args.jobs,
        resume=args.resume,
        on_checked=checked.advance,
        on_restored=restored.advance,
    )
    checked.close()
    restored.close()
    print(
        f"恢复完成：数据库 {sum(found.database.row_counts.values())} 行、资料文件 {len(found.objects())} 个，"
        f"与备份清单逐一核对一致（备份做于 {_local(found.created_at)}；用时 {time.monotonic() - started:.1f} 秒）。"
        "现在可以启动服务，并可运行 shifan audit verify 核验审计记录链。"
    )


def _size(n: int) -> str:
    return f"{n / MiB:.1f} MB" if n >= MiB else f"{n / 1024:.0f} KB"


def _local(at: str) -> str:
    """A manifest's UTC time as the clerk's clock shows it."""
    return datetime.fromisoformat(at).astimezone(COUNTY_ZONE).strftime("%Y-%m-%d %H:%M")


def _planned_bytes(source: Path) -> int:
    """The bytes the backup's files take on disk (for the progress bars; the manifest is read properly later)."""
    if not source.is_dir():
        return 0
    return sum(p.stat().st_size for p in source.rglob("*") if p.is_file() and p.name != "manifest.json")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `backup` and `restore` subcommands."""
    p = sub.add_parser(
        "backup",
        help="Back up the database and every evidence file into a new directory (signed manifest)",
        description="备份：把数据库和其中记录的全部资料文件写入一个新的空目录，"
        "附带签名的清单（见 docs/operations.md）。",
    )
    p.add_argument("--out", required=True, help="a new or empty directory, e.g. /backup/shifan-2026-03-01")
    p.add_argument("--jobs", type=int, default=4, help="files copied at once (default 4)")
    p.set_defaults(func=backup)
    p = sub.add_parser(
        "restore",
        help="Check a backup, then restore it into the configured empty database and store",
        description="恢复：先核验备份（签名、每个文件的大小和校验值），"
        "再写入配置的空数据库和空存储（见 docs/operations.md）。",
    )
    p.add_argument("dir", help="the backup directory (the one holding manifest.json)")
    p.add_argument("--check", action="store_true", help="only check the backup is whole; write nothing")
    p.add_argument(
        "--resume", action="store_true", help="go on with an interrupted restore of this backup (its objects only)"
    )
    p.add_argument("--jobs", type=int, default=4, help="files copied at once (default 4)")
    p.set_defaults(func=restore)
