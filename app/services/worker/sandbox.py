"""File work in a child process with hard limits: wall time, CPU time and memory.

A parser (pypdf, PDFium, Pillow, an XML reader) fed a hostile file can spin for an hour, allocate gigabytes or
crash. Run in the worker itself it would stall every lane and every county; run here it costs at most its
limits. The children are forked from a multiprocessing forkserver that has already imported the parsers, so a
job starts in milliseconds; each job gets a fresh child, so the limits hold per job (RLIMIT_CPU counts a
process's whole life) and nothing a parser leaves behind outlives the file.

The forkserver prepares each child as multiprocessing does: it imports the main module of the process that
started it (as __mp_main__), so every entry point keeps the `if __name__ == "__main__":` guard.

The limits are the kernel's (setrlimit in the child before it reads the file), not hopes:
- memory: RLIMIT_AS (address space): past it allocations fail (MemoryError in Python, or a crash in C);
- CPU: RLIMIT_CPU: SIGXCPU at the soft limit, SIGKILL a second later;
- wall time: the parent waits that long for an answer, then kills the child (a parser blocked, not spinning).
"""

from __future__ import annotations

import multiprocessing
import resource
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from app.services.worker import filejobs

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one file job may cost."""

    wall_seconds: float = 60.0
    cpu_seconds: int = 30
    memory_bytes: int = 768 * MiB


class LimitExceeded(Exception):
    """The job was stopped by a limit or died; code says which (time_limit, cpu_limit, memory_limit, crashed)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


_context_lock = threading.Lock()
_context: Any = None


def _forkserver() -> Any:
    """The forkserver context, its server preloaded with the parsers (started on first use)."""
    global _context
    with _context_lock:
        if _context is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload([filejobs.__name__])
            _context = ctx
        return _context


def _child(conn: Connection, job: str, path: str, extension: str, limits: Limits) -> None:
    """In the child: limit ourselves, run the job, send back ("ok", result) or ("error", code, detail)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    # The parent kills us at the wall limit; should the worker itself be killed first, the alarm still ends us
    # (SIGALRM's default action), so no child outlives its limits.
    signal.alarm(int(limits.wall_seconds) + 5)
    try:
        result = filejobs.run(job, path, extension)
    except MemoryError:
        conn.send(("error", "memory_limit", f"more than {limits.memory_bytes // MiB} MiB"))
    else:
        conn.send(("ok", result))
    conn.close()


def run(job: str, path: str, extension: str, limits: Limits, *, on_wait: Callable[[], None] | None = None) -> Any:
    """The job's result for the file at path; LimitExceeded when a limit stopped it or the child died.

    on_wait is called about every five seconds while the child works (the lane's heartbeat)."""
    ctx = _forkserver()
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(send, job, path, extension, limits), daemon=True)
    child.start()
    send.close()  # the child holds the only sending end: EOF here means it died
    try:
        answer = _wait(receive, child, limits, on_wait)
    finally:
        receive.close()
        if child.is_alive():
            child.kill()
        child.join(5)
    if answer[0] == "ok":
        return answer[1]
    raise LimitExceeded(answer[1], answer[2])


def _wait(receive: Connection, child: Any, limits: Limits, on_wait: Callable[[], None] | None) -> tuple:
    waited = 0.0
    while waited < limits.wall_seconds:
        step = min(5.0, limits.wall_seconds - waited)
        if receive.poll(step):
            try:
                return receive.recv()
            except (EOFError, OSError):  # the child died before it answered
                child.join(5)
                return _death(child.exitcode, limits)
        waited += step
        if on_wait is not None:
            on_wait()
    child.kill()
    return ("error", "time_limit", f"no answer within {limits.wall_seconds:g} s")


def _death(exitcode: int | None, limits: Limits) -> tuple:
    if exitcode is not None and exitcode < 0:
        sig = -exitcode
        if sig in (signal.SIGXCPU, signal.SIGKILL):  # SIGKILL: the hard CPU limit a second after SIGXCPU
            return ("error", "cpu_limit", f"more than {limits.cpu_seconds} s of CPU")
        if sig == signal.SIGALRM:
            return ("error", "time_limit", f"no answer within {limits.wall_seconds:g} s")
        return ("error", "crashed", f"parser crashed ({signal.Signals(sig).name})")
    # a C allocation failing under RLIMIT_AS often ends the process without a Python MemoryError
    return ("error", "crashed", f"parser exited with code {exitcode}")


def warm_up() -> None:
    """Start the forkserver now (a worker does at start, so its first file does not wait for the imports)."""
    from multiprocessing import forkserver

    _forkserver()
    forkserver.ensure_running()
