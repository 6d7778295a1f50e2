"""The soak's figures as a Markdown section, and its place in BENCHMARKS.md between marker comments (so
bench/run.py, which rewrites the rest of the file, keeps it)."""

from __future__ import annotations

import statistics
from collections import Counter
from pathlib import Path

from bench.soak.checker import Verdict, final_ops
from bench.soak.history import History

START, END = "<!-- soak:start -->", "<!-- soak:end -->"


def _p99(values: list[float]) -> str:
    if len(values) < 2:
        return "–"
    return f"{statistics.quantiles(values, n=100)[98] * 1000:.0f} ms"


def figures(history: History, verdict: Verdict) -> dict[str, object]:
    """The numbers the report shows."""
    answered = [op for op in history.ops if op.status is not None and op.kind != "s3_put"]
    during = [op.latency for op in answered if history.during_fault(op)]
    outside = [op.latency for op in answered if not history.during_fault(op)]
    errors = Counter(f"{op.status} {op.code}" for op in answered if op.status >= 400)
    errors.update(f"no answer ({op.error})" for op in history.ops if op.status is None and op.kind != "s3_put")
    return {
        "ops": Counter(op.kind for op in history.ops),
        "faults": Counter(f.kind for f in history.faults),
        "acknowledged": sum(verdict.acknowledged.values()),
        "errors": errors,
        "p99_outside": _p99(outside),
        "p99_during": _p99(during),
        "requests": len(history.ops),
        "retried": sum(1 for op in history.ops if op.attempt > 1),
        "logical": len(final_ops(history)),
    }


def markdown(history: History, verdict: Verdict) -> str:
    """The "## Soak" section."""
    f = figures(history, verdict)
    meta = history.meta
    lines = [
        START,
        "## Soak (`make soak`)",
        "",
        "Two API instances behind a round-robin proxy, one worker, a private PostgreSQL cluster and Ceph RGW,",
        "a fresh database with the demo county; simulated users (real logins) upload through the API and",
        "presigned URLs, send new versions and withdraw, the office reviews, evaluators score, the province polls",
        "GraphQL, while faults are injected on a schedule. The checker then reconciles the client's history with",
        "the database, the bucket, the audit chain and the webhook receiver (bench/soak/checker.py).",
        "",
        f"- Duration: {meta.get('traffic_seconds')} s of traffic ({meta.get('users')} simulated users), "
        f"{meta.get('wall_seconds')} s wall (start-up {meta.get('startup_seconds')} s, webhook drain "
        f"{meta.get('drain_seconds')} s, checks {meta.get('check_seconds')} s)",
        f"- Requests: {f['requests']} ({f['retried']} retries with the same Idempotency-Key); by kind: "
        + ", ".join(f"{k} {n}" for k, n in sorted(f["ops"].items())),  # type: ignore[union-attr]
        "- Faults injected: " + ", ".join(f"{k} ×{n}" for k, n in sorted(f["faults"].items())),  # type: ignore[union-attr]
        f"- Acknowledged writes: {f['acknowledged']} ("
        + ", ".join(f"{k} {n}" for k, n in sorted(verdict.acknowledged.items()))
        + f"); evidence objects re-read and hashed: {verdict.objects_checked}",
        f"- **Lost: {len(verdict.lost)} · duplicated: {len(verdict.duplicated)}** · other problems: {len(verdict.problems)}",
        f"- Webhook: {verdict.events_checked} deliveries checked, duplicates received: {verdict.delivery_duplicates}"
        " (at-least-once by design; receivers dedupe by `webhook-id`)",
        "- Errors by status and code: " + (", ".join(f"{k} ×{n}" for k, n in f["errors"].most_common()) or "none"),  # type: ignore[union-attr]
        f"- p99 latency: {f['p99_outside']} outside faults, {f['p99_during']} during faults (plus 2 s after each)",
    ]
    for title, items in (("Lost", verdict.lost), ("Duplicated", verdict.duplicated), ("Problems", verdict.problems),
                         ("Notes", sorted(set(verdict.notes))[:10])):  # fmt: skip
        if items:
            lines += ["", f"{title}:", *(f"- {x}" for x in items[:20])]
    lines += ["", END, ""]
    return "\n".join(lines)


def keep_section(old: str) -> str:
    """The soak section of an existing BENCHMARKS.md ("" when there is none)."""
    if START in old and END in old:
        return old[old.index(START) : old.index(END) + len(END)] + "\n"
    return ""


def write(path: Path, section: str) -> None:
    """Put the soak section into BENCHMARKS.md, replacing the previous one (or appending it)."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if START in old and END in old:
        new = old[: old.index(START)] + section.rstrip("\n") + old[old.index(END) + len(END) :]
    else:
        new = old.rstrip("\n") + "\n\n" + section
    path.write_text(new, encoding="utf-8")
