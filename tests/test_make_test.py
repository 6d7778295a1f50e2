"""`make test` talks while it runs: both passes at once, a line per finished test file of each as it happens,
each pass's report (with its 20 slowest tests) whole at its end, and a failing pass fails the run. The runner is
run for real (tests/passes.py → make → pytest) on one small test file."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() == "true"


pytestmark = pytest.mark.one_pass("runs both passes itself")


def _run(pytest_args: str) -> subprocess.CompletedProcess[str]:
    make = shlex.split(os.environ.get("MAKE", "make"))  # as tests/passes.py runs it
    stamp_current = subprocess.run([*make, "-q", ".venv/.installed"], cwd=ROOT, capture_output=True).returncode == 0
    if not stamp_current:
        if IN_CI:
            pytest.fail("make would rebuild .venv: `make test` builds it before the tests run")
        pytest.skip("pyproject.toml is newer than .venv/.installed: make would reinstall the environment first")
    # not the outer make's own variables either: `make test PYTEST_ARGS=…` passes them on in MAKEFLAGS, where they
    # would win over this run's PYTEST_ARGS and run the whole suite again inside this test
    drop = ("SHIFAN_TEST_PROGRESS", "SHIFAN_TEST_DB", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PYTEST_ARGS"] = pytest_args
    return subprocess.run(
        [sys.executable, "-m", "tests.passes", "test-postgresql", "test-sqlite"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_both_passes_report_progress_then_their_reports() -> None:
    done = _run("tests/test_filetypes.py")
    out = done.stdout
    assert done.returncode == 0, out[-3000:] + done.stderr[-2000:]
    lines = out.splitlines()
    for name in ("postgresql", "sqlite"):
        progress = [n for n, line in enumerate(lines) if line.startswith(f"[{name}] ")]
        assert any("1/1 files" in lines[n] and "tests/test_filetypes.py" in lines[n] for n in progress), out
        report = next(n for n, line in enumerate(lines) if f" {name} pass: passed in " in line)
        assert progress and max(progress) < report  # progress first, the report when the pass ends
        block = out[out.index(f" {name} pass: passed in ") :]
        assert "slowest 20 durations" in block or "slowest durations" in block, block[:2000]
    assert lines[-1] == "make test: both passes passed"


def test_a_failing_pass_fails_the_run() -> None:
    done = _run("tests/test_filetypes.py -k no_such_test_anywhere")  # pytest exits 5: nothing collected
    assert done.returncode == 1
    assert "FAILED (exit" in done.stdout and done.stdout.splitlines()[-1].startswith("make test: failed: ")


def test_a_one_pass_test_runs_in_the_pass_it_names_and_the_other_pass_passes_empty() -> None:
    # tests/test_layout.py is one_pass(where="sqlite"): the PostgreSQL pass has nothing left to run, and passes
    done = _run("tests/test_layout.py")
    out = done.stdout
    assert done.returncode == 0, out[-3000:] + done.stderr[-2000:]
    assert any(line.startswith("[sqlite] 1/1 files") and "tests/test_layout.py" in line for line in out.splitlines())
    assert "[postgresql] 0 tests in 0 files collected" in out.splitlines(), out
    postgresql = out[out.index(" postgresql pass: passed in ") :]
    assert re.search(r"^4 deselected\b", postgresql, re.M), postgresql[:2000]  # test_layout's 4, none run
    assert out.splitlines()[-1] == "make test: both passes passed"
