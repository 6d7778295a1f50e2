"""Roots that cannot be rolled back: `shifan audit seal` has a real RFC 3161 authority on loopback (openssl ts
-reply, a CA made here) stamp the chain's daily root; verify then catches a tail cut off with the head rolled back
(which the chain alone cannot show) and a root rewritten, re-digested or re-stamped by another authority. Retention:
archive, prune refused inside retention or without an archive, verify (and the standalone verifier) across the
archive boundary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from pydantic import ValidationError
from sqlmodel import Session

from app import db as app_db
from app import settings as app_settings
from app.db import make_engine
from app.models import AuditEntry, AuditSeal
from app.resources import ALEMBIC_INI
from app.services.platform import audit_chain, audit_roots
from app.services.platform.audit_export import ExportPlan, records, write
from app.settings import Settings
from tests.audit_kit import cli, cli_here, guard_off
from tests.conftest import fresh_database, use_database
from tests.evidence_kit import API
from tests.test_audit_export import verifier
from tests.tsa_kit import Authority, running_authority


@pytest.fixture(scope="module")
def authority(tmp_path_factory) -> Iterator[Authority]:
    with running_authority(tmp_path_factory.mktemp("tsa")) as tsa:
        yield tsa


@pytest.fixture
def tsa_env(authority, monkeypatch) -> Iterator[dict[str, str]]:
    """The authority configured for this process (REST verify) and for the CLI processes started."""
    env = {"SHIFAN_TSA_URL": authority.url, "SHIFAN_TSA_CERT": str(authority.cert)}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app_settings.get_settings.cache_clear()
    yield env
    monkeypatch.undo()
    app_settings.get_settings.cache_clear()


def _verify(client, world) -> dict:
    r = client.get(f"{API}/audit/verify", headers=world.auth("auditadmin"))
    assert r.status_code == 200, r.text
    return r.json()


def test_stamped_roots_catch_a_cut_tail_and_a_rewritten_root(
    client, world, database_url, authority, tsa_env, tmp_path
) -> None:
    office = world.auth("gp-office")
    target = client.get(
        f"{API}/campaigns/{world.ids['gp_campaign']}/assignments", params={"limit": 1, "offset": 5}, headers=office
    ).json()["items"][0]["id"]
    for due in ("2023-03-06", "2023-03-07", None):
        assert client.patch(f"{API}/assignments/{target}", json={"due_on": due}, headers=office).status_code == 200
    sealed = cli(database_url, "audit", "seal", **tsa_env)
    assert sealed.returncode == 0, sealed.stderr
    assert "已封存" in sealed.stdout and "时间戳" in sealed.stdout
    verdict = _verify(client, world)
    assert verdict["ok"] and verdict["stamped"] >= 1 and verdict["warnings"] == [], verdict
    with Session(app_db.get_engine()) as s:
        seal = audit_roots.latest(s)
    assert seal is not None and seal.tsa_token and seal.last_seq == verdict["head_seq"]

    # whoever controls the database cuts the two newest entries and rolls the head back: the chain itself still
    # links up to its (new) head, as before the seals nothing could tell, but the stamped root reaches further
    entries = AuditEntry.__table__  # type: ignore[attr-defined]
    with guard_off("audit_entry") as conn:
        cut = (
            conn.execute(sa.select(entries).where(entries.c.seq > seal.last_seq - 2).order_by(entries.c.seq))
            .mappings()
            .all()
        )
        kept = conn.execute(sa.select(entries).where(entries.c.seq == seal.last_seq - 2)).mappings().one()
        conn.execute(sa.delete(entries).where(entries.c.seq > seal.last_seq - 2))
        conn.execute(
            sa.text("UPDATE audit_chain_head SET seq = :s, entry_hash = :h"),
            {"s": kept["seq"], "h": kept["entry_hash"]},
        )
    try:
        verdict = _verify(client, world)
        assert verdict["ok"] is False and verdict["checked"] == seal.last_seq - 2  # every remaining entry links up
        assert verdict["first_break"]["seq"] == seal.last_seq - 1 and "截去" in verdict["first_break"]["reason"]
        done = cli_here("audit", "verify")
        assert done.returncode == 1 and "末尾记录被截去" in done.stderr
    finally:
        with guard_off("audit_entry") as conn:
            for row in cut:
                conn.execute(sa.insert(entries).values(**row))
            conn.execute(
                sa.text("UPDATE audit_chain_head SET seq = :s, entry_hash = :h"),
                {"s": cut[-1]["seq"], "h": cut[-1]["entry_hash"]},
            )
    assert _verify(client, world)["ok"]

    # the root rewritten; then its digest recomputed; then stamped again by an authority of the attacker's own
    seals = AuditSeal.__table__  # type: ignore[attr-defined]
    forged = AuditSeal.model_validate(seal.model_dump())
    forged.roots = [[r[0], "0" * 64, r[2]] if n == 0 else r for n, r in enumerate(seal.roots)]
    forged.digest = audit_roots.digest_of(forged)
    with running_authority(tmp_path / "rogue") as rogue:
        audit_roots.stamp(forged, url=rogue.url, timeout=10, cert_pem=rogue.cert.read_bytes())
    steps = (
        ({"roots": forged.roots}, "内容与其摘要不符"),
        ({"digest": forged.digest}, "时间戳无效：时间戳令牌所证明的摘要与该根不符"),
        ({"tsa_token": forged.tsa_token, "stamped_at": forged.stamped_at}, "签名不是所配置的时间戳服务证书签发的"),
    )
    try:
        for change, reason in steps:
            with guard_off("audit_seal") as conn:
                conn.execute(sa.update(seals).where(seals.c.id == seal.id).values(**change))
            verdict = _verify(client, world)
            assert verdict["ok"] is False and reason in verdict["first_break"]["reason"], verdict
        done = cli_here("audit", "verify")
        assert done.returncode == 1 and "签名" in done.stderr
    finally:
        with guard_off("audit_seal") as conn:
            original = {k: getattr(seal, k) for k in ("roots", "digest", "tsa_token", "stamped_at")}
            conn.execute(sa.update(seals).where(seals.c.id == seal.id).values(**original))
    assert _verify(client, world)["ok"]

    # two sealers starting from the same root at once: only the first keeps its root (the roots never fork)
    assert client.patch(f"{API}/assignments/{target}", json={"due_on": "2023-03-08"}, headers=office).status_code == 200
    engine = app_db.get_engine()
    with Session(engine) as a, Session(engine) as b:
        both = [audit_roots.prepare(s, now=datetime.now(UTC)) for s in (a, b)]
    for made in both:
        assert made is not None and made.first_seq == seal.last_seq + 1
        audit_roots.stamp(made, url=authority.url, timeout=10, cert_pem=authority.cert.read_bytes())
    with Session(engine) as s:
        assert audit_roots.store(s, both[0])
        s.commit()
    with Session(engine) as s:
        assert not audit_roots.store(s, both[1])
    verdict = _verify(client, world)
    assert verdict["ok"] and verdict["seals"] == verdict["stamped"], verdict


def _add_entries(engine: sa.Engine, n: int, at: datetime, tag: str) -> None:
    """n entries written at `at` through the chain's own append (as back-dated as a test needs them)."""
    with Session(engine) as s:
        for i in range(n):
            audit_chain.append(
                s,
                AuditEntry(
                    at=at + timedelta(seconds=i), username="system", action=f"test.{tag}", object_type="test",
                    object_id=f"{tag}-{i}", after={"i": i, "名": tag},
                ),
            )  # fmt: skip
        s.commit()


def _seal(engine: sa.Engine, authority: Authority) -> AuditSeal:
    with Session(engine) as s:
        made = audit_roots.prepare(s, now=datetime.now(UTC))
    assert made is not None
    audit_roots.stamp(made, url=authority.url, timeout=10, cert_pem=authority.cert.read_bytes())
    with Session(engine) as s:
        assert audit_roots.store(s, made)
        s.commit()
    return made


def test_archive_then_prune_outside_retention_and_verify_across_the_boundary(
    pg_admin_engine, database_url, authority, tsa_env, tmp_path
) -> None:
    url, drop = fresh_database(pg_admin_engine, tmp_path, "auditarch")
    engine = make_engine(url)
    use_database(url)  # the CLI, run in this process, works on the new database
    try:
        config = Config(str(ALEMBIC_INI))
        config.set_main_option("sqlalchemy.url", url)
        command.upgrade(config, "head")
        now = datetime.now(UTC)
        today = now.date()
        _add_entries(engine, 4, now - timedelta(days=400), "a")
        _seal(engine, authority)
        _add_entries(engine, 3, now - timedelta(days=300), "b")
        _seal(engine, authority)
        _add_entries(engine, 3, now - timedelta(minutes=5), "c")
        _seal(engine, authority)
        _add_entries(engine, 2, now, "d")  # not sealed yet
        older = (today - timedelta(days=200)).isoformat()

        refused = cli_here("audit", "prune", "--before", older)
        assert refused.returncode == 1 and "audit_not_archived" in refused.stderr
        archive = tmp_path / "archive.jsonl"
        done = cli_here("audit", "archive", "--before", older, "--out", str(archive))
        assert done.returncode == 0, done.stderr
        lines = [json.loads(line) for line in archive.read_text(encoding="utf-8").splitlines()]
        assert [e["seq"] for e in lines if e["kind"] == "entry"] == list(range(1, 8))
        assert [r["last_seq"] for r in lines if r["kind"] == "root"] == [4, 7]
        recent = (today - timedelta(days=10)).isoformat()
        inside = cli_here("audit", "prune", "--before", recent)
        assert inside.returncode == 1 and "audit_retention" in inside.stderr and "180" in inside.stderr
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM audit_entry")).scalar() == 12

        pruned = cli_here("audit", "prune", "--before", older)
        assert pruned.returncode == 0, pruned.stderr
        assert "已删除已归档的审计记录 7 条" in pruned.stdout
        with engine.begin() as conn:  # what no archive covers, the database still refuses to delete
            with pytest.raises(sa.exc.DBAPIError), conn.begin_nested():
                conn.execute(sa.text("DELETE FROM audit_entry WHERE seq = 9"))
            assert conn.execute(sa.text("SELECT min(seq), count(*) FROM audit_entry")).one() == (8, 6)
        verified = cli_here("audit", "verify")
        assert verified.returncode == 0, verified.stderr
        assert "自第 8 条起" in verified.stdout and "日根 3 个，其中 3 个有时间戳" in verified.stdout

        # the archive and what remains, recomputed together outside the system, the tokens checked by openssl
        rest = tmp_path / "rest.jsonl"
        with Session(engine) as s:
            plan = ExportPlan(None, 8, 12, None, None, "jsonl", now)
            rest.write_bytes(b"".join(write(records(s, plan), "jsonl")))
        checked = verifier(archive, rest, ca=authority.ca)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "12 entries of the whole chain, 3 daily roots (3 time-stamped, 3 recomputed" in checked.stdout
        alone = verifier(rest)  # on its own, it starts from the stamped root the archive ends with
        assert alone.returncode == 0, alone.stdout
        assert "5 entries of the whole chain, 2 daily roots (2 time-stamped, 1 recomputed" in alone.stdout
    finally:
        app_db.get_engine().dispose()
        use_database(database_url)
        engine.dispose()
        drop()


def test_retention_below_the_legal_minimum_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="at least 180"):
        Settings(audit_retention_days=90)
    assert Settings().audit_retention_days == 180
