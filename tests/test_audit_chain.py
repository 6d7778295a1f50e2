"""The audit trail proves itself: a hash chain that verify recomputes (REST and `shifan audit verify`), daily
root digests per county for the province to keep, tampering in SQL found, and concurrent writers from two
API instances still forming one chain."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

from app import db as app_db
from app.main import create_app
from app.models import AuditEntry
from tests.audit_kit import guard_off
from tests.conftest import serving
from tests.evidence_kit import API

ROOT = Path(__file__).resolve().parents[1]


def _verify(client, world) -> dict:
    r = client.get(f"{API}/audit/verify", headers=world.auth("auditadmin"))
    assert r.status_code == 200, r.text
    return r.json()


def _cli_verify(database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SHIFAN_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "audit", "verify"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def _assignments(client, world, n: int) -> list[int]:
    page = client.get(
        f"{API}/campaigns/{world.ids['gp_campaign']}/assignments", params={"limit": n}, headers=world.auth("gp-office")
    )
    return [a["id"] for a in page.json()["items"]]


def _guard_off() -> AbstractContextManager[sa.Connection]:
    """A connection with the append-only guard lifted, as a database superuser could (restored after)."""
    return guard_off("audit_entry")


def test_every_change_is_chained_and_verifies(client, world, database_url) -> None:
    office = world.auth("gp-office")
    target = _assignments(client, world, 1)[0]
    for due in ("2023-03-01", None):
        assert client.patch(f"{API}/assignments/{target}", json={"due_on": due}, headers=office).status_code == 200
    newest = client.get(f"{API}/audit", params={"limit": 2}, headers=office).json()["items"]
    assert newest[0]["seq"] > newest[1]["seq"] and len(newest[0]["entry_hash"]) == 64
    verdict = _verify(client, world)
    assert verdict["ok"] is True and verdict["first_break"] is None and verdict["checked"] == verdict["head_seq"] > 0
    assert verdict["head_seq"] >= newest[0]["seq"]
    done = _cli_verify(database_url)
    assert done.returncode == 0, done.stderr
    assert "完整" in done.stdout
    for who in ("gp-office", "sx-province", "gp-sfj", "evaluator"):
        assert client.get(f"{API}/audit/verify", headers=world.auth(who)).status_code == 403, who


def test_daily_roots_per_county_scoped_and_recomputable(client, world) -> None:
    office = world.auth("gp-office")
    target = _assignments(client, world, 2)[1]
    client.patch(f"{API}/assignments/{target}", json={"due_on": "2023-03-02"}, headers=office)
    client.patch(f"{API}/assignments/{target}", json={"due_on": None}, headers=office)
    today = datetime.now(UTC).date()
    window = {"since": (today - timedelta(days=30)).isoformat(), "until": today.isoformat()}

    def roots(who: str, **extra: str) -> list[dict]:
        r = client.get(f"{API}/audit/roots", params={**window, "limit": 500, **extra}, headers=world.auth(who))
        assert r.status_code == 200, r.text
        assert r.json()["next"] is None
        return r.json()["items"]

    mine = roots("gp-office")
    assert mine and {r["county_id"] for r in mine} == {world.ids["gp_county"]}
    todays = next(r for r in mine if r["day"] == today.isoformat())
    # the definition, recomputed from the office's own audit list: SHA-256 over the day's [seq, entry_hash]
    entries = client.get(f"{API}/audit", params={"limit": 500}, headers=office).json()["items"]
    day = sorted(
        [e["seq"], e["entry_hash"]] for e in entries if datetime.fromisoformat(e["at"]).astimezone(UTC).date() == today
    )
    body = {"county_id": world.ids["gp_county"], "day": today.isoformat(), "entries": day}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert todays["root"] == hashlib.sha256(canonical).hexdigest()
    assert todays["entries"] == len(day) and todays["last_entry_hash"] == day[-1][1]

    province = {r["county_id"] for r in roots("sx-province")}
    assert {world.ids["gp_county"], world.ids["lc_county"]} <= province and None not in province
    assert roots("yn-province") == []  # another province's counties: nothing
    everything = roots("auditadmin")
    assert {r["county_id"] for r in everything} >= province
    for who in ("gp-sfj", "evaluator"):
        assert client.get(f"{API}/audit/roots", headers=world.auth(who)).status_code == 403, who
    wide = client.get(f"{API}/audit/roots", params={"since": "2020-01-01", "until": "2023-01-01"}, headers=office)
    assert wide.status_code == 422 and wide.json()["code"] == "invalid_date_range"
    backwards = client.get(f"{API}/audit/roots", params={"since": "2023-01-02", "until": "2023-01-01"}, headers=office)
    assert backwards.status_code == 422


def test_an_entry_edited_or_deleted_in_sql_is_found(client, world, database_url) -> None:
    office = world.auth("gp-office")
    targets = _assignments(client, world, 3)
    for due in ("2023-03-03", None):
        client.patch(f"{API}/assignments/{targets[2]}", json={"due_on": due}, headers=office)
    edited, following = client.get(f"{API}/audit", params={"limit": 2}, headers=office).json()["items"][::-1]
    assert _verify(client, world)["ok"]

    engine = app_db.get_engine()
    with engine.connect() as conn:  # without lifting the guard the database refuses
        try:
            conn.execute(sa.text("UPDATE audit_entry SET username = 'x' WHERE id = :id"), {"id": edited["id"]})
            conn.commit()
            raise AssertionError("append-only guard did not hold")
        except sa.exc.DBAPIError:
            conn.rollback()

    original = None
    try:
        with _guard_off() as conn:
            table = AuditEntry.__table__  # type: ignore[attr-defined]
            original = conn.execute(sa.select(table).where(table.c.id == edited["id"])).mappings().one()
            conn.execute(
                sa.text("UPDATE audit_entry SET username = 'someone-else' WHERE id = :id"), {"id": edited["id"]}
            )
        verdict = _verify(client, world)
        assert verdict["ok"] is False
        assert verdict["first_break"]["entry_id"] == edited["id"] and verdict["first_break"]["seq"] == edited["seq"]
        assert "改动" in verdict["first_break"]["reason"]
        done = _cli_verify(database_url)
        assert done.returncode == 1 and f"seq {edited['seq']} (entry id {edited['id']})" in done.stdout

        with _guard_off() as conn:  # edited back, then deleted
            conn.execute(
                sa.text("UPDATE audit_entry SET username = :u WHERE id = :id"),
                {"u": original["username"], "id": edited["id"]},
            )
        assert _verify(client, world)["ok"] is True
        with _guard_off() as conn:
            conn.execute(sa.text("DELETE FROM audit_entry WHERE id = :id"), {"id": edited["id"]})
        verdict = _verify(client, world)
        assert verdict["ok"] is False and verdict["first_break"]["entry_id"] == following["id"]
        assert "缺失" in verdict["first_break"]["reason"]
        done = _cli_verify(database_url)
        assert done.returncode == 1 and f"seq {following['seq']}" in done.stdout
    finally:
        if original is not None:
            with _guard_off() as conn:
                conn.execute(sa.text("DELETE FROM audit_entry WHERE id = :id"), {"id": edited["id"]})
                conn.execute(sa.insert(table).values(**original))
    assert _verify(client, world)["ok"] is True


def test_two_instances_writing_at_once_form_one_chain(app, client, world) -> None:
    before = _verify(client, world)["head_seq"]
    targets = _assignments(client, world, 8)
    other = create_app()
    other.dependency_overrides = app.dependency_overrides
    failures: list[str] = []
    writes_each = 4
    with serving(app) as a, serving(other) as b:
        barrier = threading.Barrier(len(targets))

        def write(base: str, assignment_id: int) -> None:
            with httpx.Client(base_url=base, headers=world.auth("gp-office"), timeout=60) as c:
                barrier.wait()
                for i in range(writes_each):
                    due = f"2023-03-{10 + i:02d}" if i % 2 == 0 else None
                    r = c.patch(f"{API}/assignments/{assignment_id}", json={"due_on": due})
                    if r.status_code != 200:
                        failures.append(f"{r.status_code} {r.text[:200]}")

        threads = [threading.Thread(target=write, args=(a if n % 2 else b, t)) for n, t in enumerate(targets)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
    assert failures == []
    verdict = _verify(client, world)
    assert verdict["ok"] is True, verdict
    assert verdict["head_seq"] == before + len(targets) * writes_each
