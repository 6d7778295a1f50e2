"""`python -m bench.soak` (`make soak`): the soak for SOAK_SECONDS (default 600), its report into BENCHMARKS.md.

--check HISTORY re-runs the checker on a saved history against a world left running with --keep."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.soak import report  # noqa: E402
from bench.soak.checker import check  # noqa: E402
from bench.soak.history import History  # noqa: E402
from bench.soak.runner import Settings, saved_target, soak  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", "600")))
    parser.add_argument("--fault-rounds", type=int, help="each fault kind this many times (default 2, 1 under 120 s)")
    parser.add_argument("--no-write", action="store_true", help="print the report, leave BENCHMARKS.md alone")
    parser.add_argument("--keep", action="store_true", help="leave the world running (stop it with Ctrl-C)")
    parser.add_argument("--check", type=Path, help="re-run the checker on this saved history (world kept by --keep)")
    args = parser.parse_args()
    if args.check:
        history = History.load(args.check)
        verdict = check(history, saved_target(history.meta))
        print(report.markdown(history, verdict))
        sys.exit(0 if verdict.ok else 1)
    rounds = args.fault_rounds or (1 if args.seconds < 120 else 2)
    workdir = Path(tempfile.mkdtemp(prefix="shifan-soak-"))
    print(f"soak: {args.seconds:.0f} s, each fault ×{rounds}, working in {workdir}", flush=True)

    async def run() -> int:
        world, history, verdict = await soak(workdir, Settings(seconds=args.seconds, fault_rounds=rounds))
        try:
            section = report.markdown(history, verdict)
            print(section)
            if not args.no_write:
                report.write(ROOT / "BENCHMARKS.md", section)
            if args.keep:
                print(f"world kept: API {world.base_url}, history {workdir / 'history.jsonl'}", flush=True)
                await asyncio.Event().wait()
        finally:
            world.stop()
        return 0 if verdict.ok else 1

    sys.exit(asyncio.run(run()))


if __name__ == "__main__":
    main()
