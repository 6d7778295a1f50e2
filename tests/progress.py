"""Two pytest plugins for `make test`, loaded by conftest.py.

Progress: when SHIFAN_TEST_PROGRESS names the pass (tests/passes.py sets it), one line per finished test file
goes to stderr, marked with PROGRESS_MARK so the runner can show it at once while the pass's own report waits:
`14/71 files · 230 tests (1 failed) · 3m12s · tests/test_x.py 8.1 s`. One write per line: the two passes
share the terminal and a short write to a pipe is never split.

Checkout guard: a run that leaves a new file in the checkout that git ignores (var/deployment-id, .hypothesis/ …:
state a test wrote next to the code instead of into a temporary folder) fails, naming the files. Files git does
not ignore are someone's new source, and Python's own __pycache__ is left alone."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROGRESS_MARK = "\x1e"  # ASCII record separator: never in pytest's own output
# set by tests/passes.py for both passes when they run together (`make test`): a one_pass test runs in the pass it names
BOTH_PASSES = "SHIFAN_TEST_BOTH_PASSES"
# never written by a test, or too big to walk: the environment, the npm tools, git itself, Python's bytecode
# (and pytest's own .pytest_cache, which a bare `pytest` keeps in the checkout by design; make test puts it aside)
_SKIP_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".pytest_cache"}


def _fmt(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{seconds:.1f}s"


class Progress:
    """A line per finished test file: how far the pass is, what failed so far, how long it has run."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.started = time.monotonic()
        self.files: list[str] = []
        self.done_files = 0
        self.tests = 0
        self.failed = 0
        self.file_started = self.started

    @pytest.hookimpl
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.files = list(dict.fromkeys(item.nodeid.split("::", 1)[0] for item in session.items))
        self.say(f"{len(session.items)} tests in {len(self.files)} files collected")

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self.tests += 1
        if report.failed:
            self.failed += 1

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> object:
        result = yield
        path = item.nodeid.split("::", 1)[0]
        if nextitem is None or nextitem.nodeid.split("::", 1)[0] != path:
            self.done_files += 1
            now = time.monotonic()
            failed = f" ({self.failed} failed)" if self.failed else ""
            self.say(
                f"{self.done_files}/{len(self.files)} files · {self.tests} tests{failed} · {_fmt(now - self.started)}"
                f" · {path} {_fmt(now - self.file_started)}"
            )
            self.file_started = now
        return result

    def say(self, text: str) -> None:
        os.write(sys.stderr.fileno(), f"{PROGRESS_MARK}[{self.name}] {text}\n".encode())


def _ignored_files() -> set[str]:
    """Every file under the checkout that git ignores (outside _SKIP_DIRS), relative to it."""
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS]
        found += [os.path.relpath(os.path.join(folder, f), ROOT) for f in files]
    if not found:
        return set()
    done = subprocess.run(
        ["git", "check-ignore", "--stdin", "-z"],
        cwd=ROOT,
        input="\0".join(found).encode(),
        capture_output=True,
        timeout=60,
    )
    return {p for p in done.stdout.decode().split("\0") if p}


class CheckoutGuard:
    """Fails the run when it left new ignored files in the checkout."""

    def __init__(self) -> None:
        self.before = _ignored_files()

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        new = sorted(_ignored_files() - self.before)
        if new:
            shown = ", ".join(new[:10]) + (f" and {len(new) - 10} more" if len(new) > 10 else "")
            os.write(sys.stderr.fileno(), f"\nthe tests wrote into the checkout: {shown}\n".encode())
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def register(config: pytest.Config) -> None:
    """Install the progress lines (when asked for) and the checkout guard (when the checkout is a git tree)."""
    name = os.environ.get("SHIFAN_TEST_PROGRESS", "").strip()
    if name:
        config.pluginmanager.register(Progress(name), "shifan-progress")
    if (ROOT / ".git").exists() and not os.environ.get("SHIFAN_TEST_NO_CHECKOUT_GUARD"):
        config.pluginmanager.register(CheckoutGuard(), "shifan-checkout-guard")
