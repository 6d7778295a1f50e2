"""`shifan worker` (the lanes: reminders, deliveries, previews, search text) and the supervised worker child
that `shifan serve --with-worker` and `shifan demo --serve` run beside the API."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

log = logging.getLogger("shifan.worker")


def build_worker(args: argparse.Namespace):  # noqa: ANN201 - a lanes.Worker (imported late: the CLI starts fast)
    """The lanes a worker runs, as chosen by --lanes (all by default)."""
    import httpx

    from app.db import session_scope
    from app.services.calendar import workdays
    from app.services.notifications import delivery, events
    from app.services.storage import get_store
    from app.services.supervision import escalation
    from app.services.worker import heartbeats, previews, texts
    from app.services.worker.lanes import Lane, Worker
    from app.settings import get_settings

    settings = get_settings()
    store = get_store()
    client = httpx.Client(timeout=settings.webhook_timeout_seconds, follow_redirects=False)
    next_scan = [0.0]  # scan at once on start

    def reminders(_beat: object) -> int:
        import time

        if time.monotonic() < next_scan[0]:
            return 0
        next_scan[0] = time.monotonic() + args.scan_seconds
        today = args.today or date.today()
        for warning in workdays.readiness_warnings(today=today):
            print(f"警告 calendar: {warning}", flush=True)
        with session_scope() as session:
            found = events.scan_deadlines(session, today=today, within_workdays=settings.remind_within_workdays)
        print(f"reminders: {found} new", flush=True)
        # 督办: yellow and red cards, 督办单 and re-escalations, in a transaction of their own (a failure there
        # leaves the reminders sent)
        with session_scope() as session:
            given = escalation.scan(session, today=today)
        print(f"supervision: {given} new", flush=True)
        seal_daily()
        return 0  # a scan is not a backlog: the lane waits its poll either way

    def seal_daily() -> None:
        # the audit chain's daily root, once per UTC day, stamped by SHIFAN_TSA_URL here and never in a request;
        # an authority that does not answer is asked again at the next scan
        from datetime import UTC, datetime

        from app.services.platform import audit_roots, timestamp

        now = datetime.now(UTC)
        with session_scope() as session:
            if audit_roots.sealed_today(session, now=now):
                return
        try:
            made = audit_roots.seal(now=now)
        except timestamp.TimestampError as exc:
            print(f"警告 audit seal: {exc}", flush=True)
            return
        if made is not None:
            print(f"audit seal: entries {made.first_seq}-{made.last_seq}, digest {made.digest}", flush=True)

    def deliveries(_beat: object) -> int:
        counts = delivery.run_once(client=client, limit=10)  # small batches: the heartbeat stays fresh
        if counts["claimed"]:
            print(f"deliveries: {counts}", flush=True)
        return counts["claimed"]

    def make_previews(beat: object) -> int:
        counts = previews.run_once(store, limit=2, on_wait=beat)  # type: ignore[arg-type]
        if counts["claimed"]:
            print(f"previews: {counts}", flush=True)
        return counts["claimed"]

    def read_texts(beat: object) -> int:
        counts = texts.run_once(store, limit=2, on_wait=beat)  # type: ignore[arg-type]
        if counts["read"] or counts.get("retry"):
            print(f"search texts: {counts}", flush=True)
        return counts["read"] + counts.get("retry", 0)

    batches = {"reminders": reminders, "deliveries": deliveries, "previews": make_previews, "search": read_texts}
    chosen = args.lanes.split(",") if args.lanes else list(heartbeats.LANES)
    unknown = sorted(set(chosen) - set(batches))
    if unknown:
        raise SystemExit(f"unknown lanes: {', '.join(unknown)} (choose from {', '.join(batches)})")
    poll = args.poll_seconds
    return Worker([Lane(name, batches[name], idle_seconds=poll) for name in heartbeats.LANES if name in chosen])


def worker(args: argparse.Namespace) -> None:
    """Run the worker's lanes until stopped (SIGTERM or Ctrl-C); --once runs each lane's batch once."""
    from app.services.worker import sandbox

    sandbox.warm_up()  # the parsers' forkserver, before the first file arrives
    runner = build_worker(args)
    if args.once:
        runner.once()
        return
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        print(f"worker: signal {signum}, finishing the current jobs", flush=True)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if args.exit_with_parent:
        _watch_parent(stop)
    print(f"worker {runner.id}: lanes {', '.join(lane.name for lane in runner.lanes)}", flush=True)
    runner.run(stop)


def _watch_parent(stop: threading.Event) -> None:
    """Stop when the process that started us is gone (however it died: even kill -9 leaves no worker behind)."""
    parent = os.getppid()

    def watch() -> None:
        while not stop.wait(1.0):
            if os.getppid() != parent:
                print("worker: the API process is gone; stopping", flush=True)
                stop.set()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


@contextmanager
def supervised_worker() -> Iterator[None]:
    """`shifan worker` as a child process while the block runs, started again (after a pause that doubles up to
    a minute) whenever it exits; stopped with SIGTERM at the end. SIGTERM to this process ends the block as
    a clean exit (uvicorn re-raises the signal after its graceful shutdown; without a handler of ours the
    process would die there, skipping the worker's stop), and the child stops by itself should we die anyway."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    stop = threading.Event()
    current: list[subprocess.Popen[bytes]] = []

    def keep() -> None:
        pause = 1.0
        while not stop.is_set():
            command = [sys.executable, "-m", "app.cli", "worker", "--exit-with-parent"]
            child = subprocess.Popen(command, env=os.environ.copy())
            current[:] = [child]
            while child.poll() is None and not stop.wait(1.0):
                pass
            if stop.is_set():
                return
            print(f"worker exited with {child.returncode}; starting it again in {pause:g} s", flush=True)
            stop.wait(pause)
            pause = min(pause * 2, 60.0)

    keeper = threading.Thread(target=keep, name="worker-supervisor", daemon=True)
    keeper.start()
    try:
        yield
    finally:
        stop.set()
        keeper.join(5)
        for child in current:
            if child.poll() is None:
                child.terminate()
                try:
                    child.wait(30)
                except subprocess.TimeoutExpired:
                    child.kill()


def previews_retry(_: argparse.Namespace) -> None:
    """Make the previews that failed again (e.g. after raising SHIFAN_FILE_JOB_* limits)."""
    from sqlalchemy import update
    from sqlmodel import col

    from app.db import session_scope
    from app.models import EvidenceVersion
    from app.models.evidence import PreviewState

    with session_scope() as session:
        n = session.execute(
            update(EvidenceVersion)
            .where(col(EvidenceVersion.preview) == PreviewState.failed)
            .values(preview=PreviewState.pending, preview_attempts=0, preview_error=None, preview_lease_until=None)
        ).rowcount  # type: ignore[attr-defined]
    print(f"{n} 个预览图将由 worker 重新生成")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The worker's subcommands."""
    p = sub.add_parser(
        "worker",
        help="Send reminders, deliver webhook events, make file previews, read new evidence for search (safe on"
        " every instance)",
    )
    p.set_defaults(func=worker)
    p.add_argument("--once", action="store_true", help="each lane's batch once, then exit")
    p.add_argument("--lanes", help="only these lanes, comma-separated (reminders,deliveries,previews,search)")
    p.add_argument("--poll-seconds", type=float, default=2.0, help="wait when a lane finds nothing to do")
    p.add_argument("--scan-seconds", type=float, default=600.0, help="how often to look for due/overdue work")
    p.add_argument("--today", type=date.fromisoformat, help="judge due/overdue as of this date (default: today)")
    p.add_argument("--exit-with-parent", action="store_true", help="stop when the starting process is gone")
    p = sub.add_parser("previews", help="File previews (预览图)").add_subparsers(dest="previews_command", required=True)
    p.add_parser("retry", help=previews_retry.__doc__).set_defaults(func=previews_retry)
