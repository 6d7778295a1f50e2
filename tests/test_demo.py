"""The README's run path: `shifan demo` on a fresh SQLite file loads 陵川 and is idempotent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from openpyxl import load_workbook

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


def test_cli_exports_and_reimports_on_a_fresh_database(tmp_path) -> None:
    env = {**os.environ, "SHIFAN_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db", "SHIFAN_JWT_SECRET": "cli",
           "SHIFAN_OBJECT_DIR": str(tmp_path / "objects")}  # fmt: skip

    def shifan(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
        )
        assert done.returncode == 0, done.stderr
        return done

    helped = shifan("--help").stdout
    for command in ("serve", "migrate", "demo", "import-framework", "export", "create-user", "token"):
        assert command in helped
    shifan("demo")
    shifan("export", "framework", "1", "--out", str(tmp_path / "fw.xlsx"))
    again = json.loads(shifan("import-framework", str(tmp_path / "fw.xlsx")).stdout)
    assert again["code"] == "lingchuan-2021" and again["version"] == 2 and again["counts"]["indicator"] == 100
    shifan("export", "framework", "1", "--out", str(tmp_path / "fw.json"))
    assert json.loads((tmp_path / "fw.json").read_text(encoding="utf-8"))["code"] == "lingchuan-2021"
    shifan("export", "ledger", "1", "--as", "lc-office", "--out", str(tmp_path / "ledger.xlsx"))
    assert load_workbook(tmp_path / "ledger.xlsx").active.max_row > 1000
    package = shifan("export", "package", "1", "--as", "lc-office", "--out", str(tmp_path / "p.zip"))
    assert "100%" in package.stderr and zipfile.ZipFile(tmp_path / "p.zip").namelist() == ["index.xlsx"]
    refused = subprocess.run(
        [sys.executable, "-m", "app.cli", "export", "package", "1", "--as", "lc-sfj", "--out", str(tmp_path / "x.zip")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert refused.returncode == 1 and "forbidden" in refused.stderr
