"""The README's run path: `shifan demo` on a fresh SQLite file loads 陵川 and is idempotent."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_demo_on_fresh_sqlite(tmp_path) -> None:
    env = {**os.environ, "SHIFAN_DATABASE_URL": f"sqlite:///{tmp_path}/demo.db", "SHIFAN_JWT_SECRET": "demo"}
    first = subprocess.run(
        [sys.executable, "-m", "app.cli", "demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert first.returncode == 0, first.stderr
    assert "陵川县演示活动已启动" in first.stdout and "lc-office" in first.stdout
    again = subprocess.run(
        [sys.executable, "-m", "app.cli", "demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0 and "已存在" in again.stdout


def test_cli_import_rejects_broken_file(tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "shifan-framework/1", "code": "x"}', encoding="utf-8")
    env = {**os.environ, "SHIFAN_DATABASE_URL": f"sqlite:///{tmp_path}/imp.db"}
    subprocess.run([sys.executable, "-m", "app.cli", "migrate"], cwd=ROOT, env=env, check=True, timeout=120)
    r = subprocess.run(
        [sys.executable, "-m", "app.cli", "import-framework", str(bad)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1 and "framework_invalid" in r.stderr
