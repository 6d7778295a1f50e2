"""The README's run path: `shifan demo` on a fresh SQLite file loads 陵川 and is idempotent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook

from tests import demo_template
from tests.conftest import served_demo
from tests.evidence_kit import pdf

ROOT = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.one_pass("its own SQLite files and processes")


def test_demo_on_fresh_sqlite(tmp_path) -> None:
    env = {**os.environ, "SHIFAN_DATABASE_URL": f"sqlite:///{tmp_path}/demo.db", "SHIFAN_JWT_SECRET": "demo"}
    first = subprocess.run(
        [sys.executable, "-m", "app.cli", "demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert first.returncode == 0, first.stderr
    assert "陵川县演示活动已启动" in first.stdout and "lc-office" in first.stdout
    # What to try first: the accounts, the login call, the docs, and why names are listed as unresolved.
    for hint in ("/docs", "curl -s -X POST", "auth/token", "username=lc-sfj", "/api/v1/me", "未能解析", "手工分配"):
        assert hint in first.stdout, hint
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
    url = f"sqlite:///{tmp_path}/cli.db"
    secret = demo_template.clone(url, tmp_path / "objects")  # what `shifan demo` made (test_demo_on_fresh_sqlite)
    env = {**os.environ, "SHIFAN_DATABASE_URL": url, "SHIFAN_JWT_SECRET": secret,
           "SHIFAN_OBJECT_DIR": str(tmp_path / "objects"), "SHIFAN_STORAGE_BACKEND": "local"}  # fmt: skip

    def shifan(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
        )
        assert done.returncode == 0, done.stderr
        return done

    helped = shifan("--help").stdout
    for command in ("serve", "migrate", "demo", "import-framework", "export", "create-user", "token"):
        assert command in helped
    shifan("export", "framework", "1", "--out", str(tmp_path / "fw.xlsx"))
    again = json.loads(shifan("import-framework", str(tmp_path / "fw.xlsx")).stdout)
    assert again["code"] == "lingchuan-2021" and again["version"] == 2 and again["counts"]["indicator"] == 100
    shifan("export", "framework", "1", "--out", str(tmp_path / "fw.json"))
    assert json.loads((tmp_path / "fw.json").read_text(encoding="utf-8"))["code"] == "lingchuan-2021"
    shifan("export", "ledger", "1", "--as", "lc-office", "--out", str(tmp_path / "ledger.xlsx"))
    assert load_workbook(tmp_path / "ledger.xlsx").active.max_row > 1000
    package = shifan("export", "package", "1", "--as", "lc-office", "--out", str(tmp_path / "p.zip"))
    names = zipfile.ZipFile(tmp_path / "p.zip").namelist()
    # the demo's approved evidence: a real PNG from the store and a statement, beside the index
    assert "100%" in package.stderr and names[-1] == "index.xlsx" and len(names) == 3
    assert any(n.endswith("县司法局-公示栏照片.png") for n in names) and any(n.endswith(".txt") for n in names)
    refused = subprocess.run(
        [sys.executable, "-m", "app.cli", "export", "package", "1", "--as", "lc-sfj", "--out", str(tmp_path / "x.zip")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert refused.returncode == 1 and "forbidden" in refused.stderr


def _items(body: dict | list) -> list:
    """A list answer's rows, enveloped or bare."""
    return body["items"] if isinstance(body, dict) else body


def test_the_demo_lives_today(tmp_path) -> None:
    """A fresh demo database: a liaison logs in and uploads at once (201, not 423), and the campaign shows
    work in every state: submitted, returned with a comment, approved, overdue, scored, under rectification."""
    with served_demo(f"sqlite:///{tmp_path}/live.db", tmp_path) as (base, _):
        api = f"{base}/api/v1"

        def login(username: str) -> dict[str, str]:
            r = httpx.post(f"{api}/auth/token", data={"username": username, "password": "shifan-demo"})
            assert r.status_code == 200, r.text
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        liaison, office = login("lc-sfj"), login("lc-office")
        todo = httpx.get(f"{api}/me/assignments", params={"status": "not_started", "limit": 5}, headers=liaison)
        first = next(a for a in todo.json()["items"] if not a["overdue"])
        assert first["due_on"] > date.today().isoformat()
        up = httpx.post(
            f"{api}/assignments/{first['id']}/evidence/file",
            files={"file": ("方案.pdf", pdf("demo upload"), "application/pdf")},
            headers=liaison,
        )
        assert up.status_code == 201, up.text
        cid = first["campaign_id"]
        url = f"{api}/campaigns/{cid}/assignments"

        def count(**params: str) -> int:
            return httpx.get(url, params={**params, "limit": 1}, headers=office).json()["total"]

        assert count(status="submitted") >= 2 and count(status="approved") >= 2
        assert count(status="returned") >= 2 and count(status="returned", overdue="true") >= 1
        assert count(overdue="true") >= 4 and count(overdue="false") > 1000
        returned = httpx.get(f"{api}/me/assignments", params={"status": "returned"}, headers=liaison).json()["items"]
        shown = _items(httpx.get(f"{api}/assignments/{returned[0]['id']}/evidence", headers=liaison).json())
        detail = httpx.get(f"{api}/evidence/{shown[0]['id']}", headers=liaison).json()
        assert any(r["comment"] for r in detail["reviews"])  # returned with a comment the liaison can read
        files = httpx.get(f"{api}/campaigns/{cid}/evidence", params={"limit": 50}, headers=office).json()["items"]
        assert {"工作方案.pdf", "公示栏照片.png"} <= {e["title"] for e in files}
        rounds = _items(httpx.get(f"{api}/campaigns/{cid}/rounds", headers=office).json())
        assert len(rounds) == 1
        scores = _items(httpx.get(f"{api}/rounds/{rounds[0]['id']}/scores", headers=office).json())
        assert len(scores) >= 3 and any(s["finding"] for s in scores)
        fixes = _items(httpx.get(f"{api}/campaigns/{cid}/rectifications", headers=office).json())
        assert len(fixes) == 1 and fixes[0]["problem"]
        trail = httpx.get(f"{api}/audit", params={"action": "evidence.return"}, headers=office).json()
        assert trail["total"] >= 2  # done through the services, so audited
