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
from bench.soak.report import keep_section  # noqa: E402


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


def main() -> None:
    sections = [
        todo.markdown(todo.run()),
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
    # the soak's section is written by `make soak` (bench/soak), which this run does not repeat: keep it
    soak = keep_section(path.read_text(encoding="utf-8")) if path.exists() else ""
    path.write_text("\n".join(header + sections) + ("\n" + soak if soak else ""), encoding="utf-8")
    print("\n".join(sections))


if __name__ == "__main__":
    main()
