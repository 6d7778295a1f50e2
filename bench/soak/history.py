"""The client-side history: every request a simulated user sent and what came back (or that nothing did),
with the fault windows, saved as JSON lines so the checker can run again on it later."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Op:
    """One request and its answer, as the client saw them."""

    kind: str  # what the user meant: upload_api, upload_direct, new_version, withdraw, review, score, graphql …
    user: str
    method: str
    path: str
    started: float  # seconds since the run began
    ended: float = 0.0
    status: int | None = None  # None: no answer (timeout, connection dropped)
    code: str | None = None  # problem+json code
    problem: bool = False  # the answer was application/problem+json
    error: str | None = None  # the transport error when there was no answer
    attempt: int = 1
    idempotency_key: str | None = None
    replayed: bool = False
    write: bool = False
    # what was written, for the checker: nonce (unique text in the row), sha256/size of the bytes, and the ids
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def acknowledged(self) -> bool:
        return self.write and self.status in (200, 201)

    @property
    def latency(self) -> float:
        return self.ended - self.started


@dataclass
class Fault:
    """One injected fault: what, and from when to when (seconds since the run began)."""

    kind: str  # api_kill, postgres_restart, rgw_restart, worker_kill
    started: float
    ended: float = 0.0
    note: str = ""


@dataclass
class History:
    """All operations and faults of one run."""

    t0: float = field(default_factory=time.monotonic)
    ops: list[Op] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def now(self) -> float:
        return time.monotonic() - self.t0

    def during_fault(self, op: Op, settle: float = 2.0) -> bool:
        """Whether the request overlapped a fault window (plus a settling time after it)."""
        return any(op.started <= f.ended + settle and op.ended >= f.started for f in self.faults)

    def save(self, path: Path) -> None:
        with path.open("w", encoding="utf-8") as f:
            f.write(json.dumps({"meta": self.meta, "faults": [asdict(x) for x in self.faults]}, ensure_ascii=False))
            f.write("\n")
            for op in self.ops:
                f.write(json.dumps(asdict(op), ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: Path) -> History:
        lines = path.read_text(encoding="utf-8").splitlines()
        head = json.loads(lines[0])
        return cls(
            t0=0.0,
            ops=[Op(**json.loads(line)) for line in lines[1:] if line],
            faults=[Fault(**x) for x in head["faults"]],
            meta=head["meta"],
        )
