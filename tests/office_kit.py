"""Open an .xlsx the way an office would: LibreOffice (headless) converts it to CSV, which the test reads."""

from __future__ import annotations

import atexit
import csv
import functools
import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


@functools.cache
def soffice_home() -> str:
    """The HOME (LibreOffice's user profile) of every conversion in this test process: a new profile costs a
    conversion LibreOffice's first start, a second or more each time. One per process (the two passes of `make
    test` never share one: a profile in use is locked)."""
    home = tempfile.mkdtemp(prefix="shifan-soffice-")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    return home


def libreoffice_rows(data: bytes, tmp_path: Path, name: str = "sheet") -> list[list[str]]:
    """The first sheet's rows as LibreOffice reads them (skip off-CI without LibreOffice; in CI fail)."""
    soffice = shutil.which("soffice")
    if soffice is None:
        if IN_CI:
            pytest.fail("LibreOffice (libreoffice-calc-nogui) is required in CI; .ci/run installs it")
        pytest.skip("LibreOffice not installed")
    path = tmp_path / f"{name}.xlsx"
    path.write_bytes(data)
    env = {**os.environ, "HOME": soffice_home()}
    to_csv = "csv:Text - txt - csv (StarCalc):44,34,76"  # comma, double quote, UTF-8
    command = [soffice, "--headless", "--convert-to", to_csv, "--outdir", str(tmp_path), str(path)]
    subprocess.run(command, check=True, timeout=120, env=env, capture_output=True)
    return list(csv.reader(io.StringIO((tmp_path / f"{name}.csv").read_text(encoding="utf-8"))))
