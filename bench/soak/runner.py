"""One soak run: start the world, set up the accounts and the campaign's open work, run traffic and faults
together, let the worker drain, then check."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import sqlalchemy as sa

from app.services.auth import hash_password
from bench.soak import faults, traffic
from bench.soak.checker import Target, Verdict, check, idle_in_transaction
from bench.soak.history import History
from bench.soak.topology import SHIFAN, World, start_world

API = traffic.API


@dataclass
class Settings:
    """How big and how long."""

    seconds: float = 600
    fault_rounds: int = 2
    liaison_units: int = 6  # units given a liaison account of their own (besides the demo's two)
    per_liaison: int = 2  # simulated devices per liaison account
    timeout: float = 15.0  # the client's timeout for one request
    drain_seconds: float = 90.0
    max_file_kib: int = 300  # the largest sample PDF


# The short run of tests/test_soak.py: about a minute in all on this 2-core machine.
SHORT = Settings(
    seconds=16, fault_rounds=1, liaison_units=1, per_liaison=1, timeout=10.0, drain_seconds=15, max_file_kib=40
)


def _token(api: httpx.Client, username: str, password: str = traffic.PASSWORD) -> dict[str, str]:
    r = api.post(f"{API}/auth/token", data={"username": username, "password": password})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def setup(world: World, settings: Settings) -> traffic.Plan:
    """Liaison accounts for the busiest units, late windows so nothing is locked, a scoring round, the webhook."""
    engine = sa.create_engine(world.database_url, poolclass=sa.pool.NullPool)
    with httpx.Client(base_url=world.base_url, timeout=60) as api, engine.connect() as conn:
        office, admin = _token(api, "lc-office"), _token(api, "sysadmin")
        county_id = api.get(f"{API}/me", headers=office).json()["county_id"]
        campaigns = api.get(f"{API}/campaigns", headers=office).json()["items"]
        campaign_id = conn.execute(
            sa.text("SELECT campaign_id FROM assignment WHERE campaign_id IN :ids GROUP BY campaign_id ORDER BY count(*) DESC LIMIT 1")
            .bindparams(sa.bindparam("ids", expanding=True)),
            {"ids": [c["id"] for c in campaigns]},
        ).scalar()  # fmt: skip
        units = conn.execute(
            sa.text(
                "SELECT a.unit_id, u.id FROM assignment a LEFT JOIN app_user u ON u.unit_id = a.unit_id "
                "WHERE a.campaign_id = :c GROUP BY a.unit_id, u.id ORDER BY count(*) DESC"
            ),
            {"c": campaign_id},
        ).all()
        liaisons = [
            u
            for u in conn.execute(
                sa.text("SELECT username FROM app_user WHERE role = 'liaison' AND county_id = :c"), {"c": county_id}
            ).scalars()
        ]
        for n, (unit_id, _) in enumerate([u for u in units if u[1] is None][: settings.liaison_units]):
            name = f"soak-liaison-{n}"
            body = {"username": name, "display_name": f"压测联络员{n}", "role": "liaison", "county_id": county_id,
                    "unit_id": unit_id, "password": "Soak-first-1"}  # fmt: skip
            api.post(f"{API}/users", json=body, headers=admin).raise_for_status()
            # the soak's accounts share the demo's password (which the rules refuse through the API), set as the
            # demo sets it, and need no first change
            conn.execute(
                sa.text("UPDATE app_user SET password_hash = :h, must_change_password = false WHERE username = :n"),
                {"h": hash_password(traffic.PASSWORD), "n": name},
            )
            conn.commit()
            liaisons.append(name)
        plan_liaisons: dict[str, list[int]] = {}
        for name in liaisons:
            headers = _token(api, name)
            me = api.get(f"{API}/me", headers=headers).json()
            todo = api.get(f"{API}/me/assignments", params={"limit": 500, "campaign_id": campaign_id}, headers=headers)
            ids = [a["id"] for a in todo.json()["items"] if a["campaign_id"] == campaign_id]
            if not ids:
                continue
            window = {"unit_id": me["unit_id"], "until": date(2099, 12, 31).isoformat(), "reason": "压测"}
            api.post(f"{API}/campaigns/{campaign_id}/late-windows", json=window, headers=office).raise_for_status()
            plan_liaisons[name] = ids
        rnd = api.post(f"{API}/campaigns/{campaign_id}/rounds", json={"name": "压测评分"}, headers=office)
        rnd.raise_for_status()
        items = list(conn.execute(
            sa.text(
                "SELECT i.id FROM item i JOIN frameworksection s ON s.id = i.section_id JOIN campaign c "
                "ON c.framework_id = i.framework_id WHERE c.id = :c AND s.kind <> 'veto' ORDER BY i.id"
            ),
            {"c": campaign_id},
        ).scalars())  # fmt: skip
        hook = {"url": f"http://127.0.0.1:{world.receiver.port}/hook", "kind": "standard"}
        webhook = api.post(f"{API}/webhooks", json=hook, headers=office)
        webhook.raise_for_status()
    engine.dispose()
    return traffic.Plan(
        campaign_id=campaign_id, round_id=rnd.json()["id"], webhook_id=webhook.json()["id"], items=items,
        liaisons=plan_liaisons,
    )  # fmt: skip


def drain(world: World, seconds: float) -> int:
    """Wait until the worker has delivered every pending webhook event (or the time is up); how many are left."""
    engine = sa.create_engine(world.database_url, poolclass=sa.pool.NullPool)
    deadline = time.monotonic() + seconds
    try:
        while True:
            with engine.connect() as conn:
                left = conn.execute(sa.text("SELECT count(*) FROM delivery WHERE status = 'pending'")).scalar()
            if not left or time.monotonic() > deadline:
                return int(left or 0)
            time.sleep(0.5)
    finally:
        engine.dispose()


def saved_target(meta: dict) -> Target:
    """The Target of a world described in a saved history's meta (for re-checking a kept world)."""
    saved = meta["world"]
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SHIFAN_")}, **saved}
    env.pop("workdir"), env.pop("api")

    def shifan(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([SHIFAN, *args], env=env, cwd=saved["workdir"], capture_output=True, text=True,
                              check=check, timeout=300)  # fmt: skip

    return Target(
        database_url=saved["SHIFAN_DATABASE_URL"], s3_endpoint=saved["SHIFAN_S3_ENDPOINT"],
        s3_access_key=saved["SHIFAN_S3_ACCESS_KEY"], s3_secret_key=saved["SHIFAN_S3_SECRET_KEY"],
        bucket=saved["SHIFAN_S3_BUCKET"], base_url=saved["api"], shifan=shifan,
    )  # fmt: skip


def target(world: World) -> Target:
    """Where the checker looks."""
    return Target(
        database_url=world.database_url, s3_endpoint=world.s3.endpoint, s3_access_key=world.s3.access_key,
        s3_secret_key=world.s3.secret_key, bucket=world.bucket, base_url=world.base_url, shifan=world.shifan,
    )  # fmt: skip


async def soak(workdir: Path, settings: Settings) -> tuple[World, History, Verdict]:
    """Run the soak; the world is left running (the caller stops it) so the checker can run again."""
    started = time.monotonic()
    world = await start_world(workdir)
    try:
        plan = await asyncio.to_thread(setup, world, settings)
        history = History()
        history.meta = {
            "campaign_id": plan.campaign_id, "webhook_id": plan.webhook_id, "seconds": settings.seconds,
            "users": len(plan.liaisons) * settings.per_liaison + 2 * len(plan.office) + len(plan.evaluators) + len(plan.province),
            "startup_seconds": round(time.monotonic() - started, 1),
            # where a later `python -m bench.soak --check` finds the world (kept running with --keep)
            "world": {"workdir": str(workdir), "api": f"http://127.0.0.1:{world.api_ports[0]}",
                      **{k: v for k, v in world.env.items() if k.startswith("SHIFAN_")}},
        }  # fmt: skip
        schedule = faults.schedule(settings.seconds, settings.fault_rounds)
        await asyncio.gather(
            traffic.run_users(world.base_url, history, plan, seconds=settings.seconds, per_liaison=settings.per_liaison,
                              timeout=settings.timeout, max_file_kib=settings.max_file_kib),
            faults.run_faults(world, history, schedule),
        )  # fmt: skip
        history.meta["traffic_seconds"] = round(history.now(), 1)
        mark = time.monotonic()
        history.meta["deliveries_left"] = await asyncio.to_thread(drain, world, settings.drain_seconds)
        history.meta["drain_seconds"] = round(time.monotonic() - mark, 1)
        world.kill_worker()
        history.meta["deliveries"] = dict(world.receiver.counts)
        idle = await asyncio.to_thread(idle_in_transaction, world.database_url)
        history.save(workdir / "history.jsonl")
        mark = time.monotonic()
        verdict = await asyncio.to_thread(check, history, target(world), idle=idle)
        history.meta["check_seconds"] = round(time.monotonic() - mark, 1)
        history.meta["wall_seconds"] = round(time.monotonic() - started, 1)
    except BaseException:
        world.stop()
        raise
    return world, history, verdict
