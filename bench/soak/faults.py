"""Faults on a schedule: kill -9 an API instance and start it again, restart the private PostgreSQL, stop and
start the S3 gateway (same data, same port), kill -9 the worker in the middle of a webhook delivery."""

from __future__ import annotations

import asyncio
import time

from bench.soak.history import Fault, History
from bench.soak.topology import World

KINDS = ("worker_kill", "api_kill", "postgres_restart", "rgw_restart")  # the worker first: its backlog drains meanwhile


def schedule(seconds: float, rounds: int) -> list[tuple[float, str]]:
    """Each kind `rounds` times, spread evenly between 10 % and 75 % of the run, kinds taking turns (the last
    one over before the traffic ends, so the run also shows the system after it)."""
    count = len(KINDS) * rounds
    first, last = seconds * 0.1, seconds * 0.75
    step = (last - first) / max(count - 1, 1)
    return [(first + n * step, KINDS[n % len(KINDS)]) for n in range(count)]


def _inject(world: World, kind: str, n: int) -> str:
    """Do one fault (blocking); a note on what happened."""
    if kind == "api_kill":
        which = n % 2  # api0, then api1
        world.kill_api(which)
        time.sleep(1.0)
        world.start_api(which)
        return f"api{which} killed (SIGKILL) and started again"
    if kind == "postgres_restart":
        world.cluster.stop()
        time.sleep(1.5)
        world.cluster.start()
        return "pg_ctl stop -m fast, start"
    if kind == "rgw_restart":
        world.stop_rgw()
        time.sleep(2.0)
        world.start_rgw()
        return "radosgw stopped and started on the same port"
    if kind == "worker_kill":
        deadline = time.monotonic() + 15
        while world.receiver.in_flight == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        mid = world.receiver.in_flight > 0
        world.kill_worker()
        time.sleep(0.5)
        world.start_worker()
        return "worker killed (SIGKILL) " + ("mid-delivery" if mid else "(no delivery in flight within 15 s)")
    raise ValueError(kind)


async def run_faults(world: World, history: History, plan: list[tuple[float, str]]) -> None:
    """Inject each fault at its time (seconds since the run began)."""
    for n, (at, kind) in enumerate(plan):
        await asyncio.sleep(max(0.0, at - history.now()))
        fault = Fault(kind=kind, started=history.now())
        history.faults.append(fault)
        try:
            fault.note = await asyncio.to_thread(_inject, world, kind, n // len(KINDS))  # which API: alternate
        finally:
            fault.ended = history.now()
