"""Run every benchmark and write BENCHMARKS.md (one command: `make bench`)."""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import province, search, todo, upload, waiting  # noqa: E402


def machine() -> str:
    """One line naming the machine the figures come from."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    mem = int(Path("/proc/meminfo").read_text().split()[1]) // 1024 // 1024
    return f"{cpu}, {os.cpu_count()} cores, {mem} GiB RAM, Python {platform.python_version()}, {platform.system()}"


def kept_sections(old: str, *, written: str) -> str:
    """Every marked section of the old file whose name the new sections do not carry, in their order."""
    import re

    blocks = re.finditer(r"<!-- ([\w-]+):start -->.*?<!-- \1:end -->", old, flags=re.S)
    return "\n\n".join(m.group(0) for m in blocks if f"<!-- {m.group(1)}:start -->" not in written) + "\n"


def main() -> None:
    sections = [
        todo.markdown(todo.run(), todo.run(workers=2)),
        upload.markdown(upload.run()),
        province.markdown(province.run()),
        search.markdown(search.run()),
        waiting.markdown(waiting.run()),
    ]
    header = [
        "# Benchmarks",
        "",
        "Written by `make bench` (bench/run.py). Each figure is a ratio against a baseline measured in the",
        "same run on the same machine: the machine is shared and noisy, so absolute figures vary run to run.",
        "",
        f"Run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}.",
        "",
    ]
    path = ROOT / "BENCHMARKS.md"
    # Sections between <!-- name:start/end --> markers that this run does not write (the soak's, from `make
    # soak`; the backup's and the worker lanes', from `python -m bench.backup` / `python -m bench.worker_lanes`)
    # are kept as they are.
    kept = kept_sections(path.read_text(encoding="utf-8"), written="\n".join(sections)) if path.exists() else ""
    path.write_text("\n".join(header + sections) + ("\n" + kept if kept else ""), encoding="utf-8")
    print("\n".join(sections))


if __name__ == "__main__":
    main()
