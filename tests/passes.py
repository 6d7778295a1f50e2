"""`make test`'s two passes at once, talking while they run: `python -m tests.passes test-postgresql test-sqlite`.

Each pass is `make <target>`, started together. Their progress lines (tests/progress.py: one per finished test
file, marked) are printed the moment they come, prefixed with the pass; everything else a pass prints (the dots,
failures, the 20 slowest tests, the summary) is held and printed whole when that pass ends, so the two reports
never interleave. The exit status is 1 if either pass failed."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import threading
import time

from tests.progress import BOTH_PASSES, PROGRESS_MARK

_print = threading.Lock()


def _out(text: str) -> None:
    with _print:
        sys.stdout.write(text)
        sys.stdout.flush()


def run_pass(target: str, results: dict[str, int]) -> None:
    """Run `make target`, echoing its progress lines now and the rest when it ends."""
    name = target.removeprefix("test-")
    started = time.monotonic()
    env = {**os.environ, "SHIFAN_TEST_PROGRESS": name, "PYTHONUNBUFFERED": "1", BOTH_PASSES: "1"}
    proc = subprocess.Popen(
        [*shlex.split(os.environ.get("MAKE", "make")), "--no-print-directory", target],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    held: list[str] = []
    assert proc.stdout is not None
    for raw in proc.stdout:
        line = raw.decode("utf-8", errors="replace")
        if PROGRESS_MARK in line:  # a progress line may follow dots on the same line of the pass's output
            before, _, progress = line.partition(PROGRESS_MARK)
            held.append(before)
            _out(progress)
        else:
            held.append(line)
    results[target] = proc.wait()
    verdict = "passed" if results[target] == 0 else f"FAILED (exit {results[target]})"
    rule = f"{'=' * 20} {name} pass: {verdict} in {time.monotonic() - started:.0f} s {'=' * 20}"
    _out(f"\n{rule}\n{''.join(held)}{rule}\n")


def main(targets: list[str]) -> int:
    results: dict[str, int] = {}
    threads = [threading.Thread(target=run_pass, args=(t, results)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    failed = [t for t in targets if results.get(t, 1) != 0]
    _out(f"make test: {'failed: ' + ', '.join(failed) if failed else 'both passes passed'}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["test-postgresql", "test-sqlite"]))
