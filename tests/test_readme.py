"""README's examples run exactly as written against `shifan demo` served as a real process: the first calls (curl,
a form login, /me, a JSON login) and the province's GraphQL overview, which shows the released demo round's scores;
the demo's files read in Chinese; and `shifan demo --reset` empties a demo-only database and loads it again, but
refuses one somebody works in. On the pass's own database (PostgreSQL or SQLite); under `make test` the first calls
run in the SQLite pass only (`make run`'s backend)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pypdf
import pytest
import sqlalchemy as sa

from tests.conftest import fresh_database, served_demo

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def block(language: str, after: str) -> str:
    """The first ```language block after the line `after` in README.md."""
    rest = README[README.index(after) :]
    found = re.search(rf"```{language}\n(.*?)```", rest, re.S)
    assert found, f"no {language} block after {after!r}"
    return found.group(1)


def _objects(text: str) -> list[dict]:
    """The JSON objects curl printed one after another (curl -s adds no newline)."""
    decoder, out, at = json.JSONDecoder(), [], 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        value, at = decoder.raw_decode(text, at)
        out.append(value)
    return out


# README's first calls follow `make run`, which is on SQLite: in that pass of `make test`.
@pytest.mark.one_pass("the calls README makes after `make run` (SQLite)", where="sqlite")
def test_readmes_first_calls_and_province_query_as_written(pg_admin_engine, tmp_path) -> None:
    url, drop = fresh_database(pg_admin_engine, tmp_path, "readme")
    try:
        with served_demo(url, tmp_path) as (base, _):
            script = block("sh", "### First calls").replace("http://127.0.0.1:8000", base)
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=120
            )
            assert done.returncode == 0, done.stderr
            form_login, me, json_login = _objects(done.stdout)
            assert form_login["token_type"] == json_login["token_type"] == "bearer"
            assert me["username"] == "lc-sfj" and me["role"] == "liaison" and me["unit_id"]
            assert me["campaign_ids"] and me["campaigns"][0]["name"].startswith("陵川县")

            province = httpx.post(
                f"{base}/api/v1/auth/token", data={"username": "sx-province", "password": "shifan-demo"}
            )
            auth = {"Authorization": f"Bearer {province.json()['access_token']}"}
            answer = httpx.post(
                f"{base}/graphql", json={"query": block("graphql", "The region overview")}, headers=auth
            )
            assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
            counties = {c["name"]: c for c in answer.json()["data"]["counties"]["nodes"]}
            score = counties["陵川县"]["campaigns"][0]["score"]
            assert score is not None and score["total"] is not None and score["level1"], score  # the released round

            office = httpx.post(f"{base}/api/v1/auth/token", data={"username": "lc-office", "password": "shifan-demo"})
            auth = {"Authorization": f"Bearer {office.json()['access_token']}"}
            campaign = me["campaign_ids"][0]
            files = httpx.get(f"{base}/api/v1/campaigns/{campaign}/evidence", params={"limit": 50}, headers=auth)
            plan = next(e for e in files.json()["items"] if e["title"] == "工作方案.pdf")
            pdf = httpx.get(f"{base}/api/v1/evidence/{plan['id']}/versions/1/content", headers=auth)
            text = pypdf.PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
            assert "法治政府建设工作方案" in text and "县司法局" in text  # the demo's files are in Chinese
            assert plan["unit_name"] == "县司法局" and plan["item_label"].startswith("第")
            root = httpx.get(base).json()
            assert root["docs"] == "/docs" and httpx.get(base + root["docs"]).status_code == 200
    finally:
        drop()


def _shifan(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_demo_reset_loads_afresh_and_refuses_a_database_in_use(pg_admin_engine, tmp_path) -> None:
    url, drop = fresh_database(pg_admin_engine, tmp_path, "reset")
    env = {**os.environ, "SHIFAN_DATABASE_URL": url, "SHIFAN_JWT_SECRET": uuid.uuid4().hex,
           "SHIFAN_OBJECT_DIR": str(tmp_path / "objects")}  # fmt: skip
    engine = sa.create_engine(url)

    def counts() -> tuple[int, int, int]:
        with engine.connect() as conn:
            tables = ("app_user", "evidence", "region")
            return tuple(conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables)

    try:
        assert _shifan(env, "demo").returncode == 0
        loaded = counts()
        assert "--reset" in _shifan(env, "demo", "--help").stdout
        again = _shifan(env, "demo", "--reset")
        assert again.returncode == 0, again.stderr
        assert "已清空演示数据库" in again.stdout and "陵川县演示活动已启动" in again.stdout
        assert counts() == loaded  # the same demo again, not a second one beside it
        account = (
            "--username",
            "zhang-san",
            "--role",
            "system_admin",
            "--password",
            "Zs-2024-secret!",
            "--display-name",
            "张三",
        )
        made = _shifan(env, "create-user", *account)
        assert made.returncode == 0, made.stderr
        refused = _shifan(env, "demo", "--reset")
        assert refused.returncode == 1 and "demo_reset_refused" in refused.stderr and "zhang-san" in refused.stderr
        assert counts()[0] == loaded[0] + 1  # nothing was emptied
    finally:
        engine.dispose()
        drop()
