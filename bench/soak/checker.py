"""After the run, reconcile the client's history with what the system holds (also runnable again on a saved
history, e.g. after planting a loss): every acknowledged write present exactly once, bytes matching,
reviewed versions unchanged, no object without a row after the sweep, reviews and scores audited and the
chain verifying, every event delivered to the webhook, progress equal to a recount, no connection idle in
transaction, and during faults only problem+json answers with a code."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx
import sqlalchemy as sa
from minio import Minio

from bench.soak.history import History, Op

FILE_KINDS = ("upload_api", "upload_direct", "version_api", "version_direct")
TEXT_KINDS = ("statement", "version_statement")
NO_ANSWER_ON_KILL = ("RemoteProtocolError", "ReadError", "WriteError")  # a connection the killed instance held


@dataclass
class Target:
    """Where the system under test is: its database, its bucket, its API (for progress) and its CLI."""

    database_url: str
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str
    bucket: str
    base_url: str
    shifan: Any  # callable(*args, check=...) -> CompletedProcess


@dataclass
class Verdict:
    """Figures and every problem found; ok when there is none."""

    acknowledged: Counter = field(default_factory=Counter)
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    delivery_duplicates: int = 0
    events_checked: int = 0
    objects_checked: int = 0

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.problems)


def final_ops(history: History) -> list[Op]:
    """The last attempt of each logical request (retries with the same key count once)."""
    last: dict[Any, Op] = {}
    for n, op in enumerate(history.ops):
        last[op.idempotency_key or n] = op
    return list(last.values())


def _writes(history: History, verdict: Verdict, conn: sa.Connection) -> list[tuple[str, int, str, int]]:
    """Check every acknowledged write; the (label, evidence id, sha256, size) of acknowledged file versions."""
    files = []
    for op in final_ops(history):
        if not op.acknowledged:
            continue
        verdict.acknowledged[op.kind] += 1
        f = op.facts
        label = f"{op.kind} {f.get('nonce') or f.get('evidence_id')}"
        if op.kind in FILE_KINDS:
            row = conn.execute(
                sa.text("SELECT sha256, size, object_key FROM evidenceversion WHERE evidence_id=:e AND number=:n"),
                {"e": f["evidence_id"], "n": f["version"]},
            ).first()
            if row is None or row.sha256 != f["sha256"] or row.size != f["size"]:
                verdict.lost.append(f"{label}: evidence {f['evidence_id']} v{f['version']} missing or changed")
                continue
            same = conn.execute(
                sa.text("SELECT count(*) FROM evidenceversion WHERE sha256=:s"), {"s": f["sha256"]}
            ).scalar()
            if same != 1:
                verdict.duplicated.append(f"{label}: {same} versions hold its bytes")
            files.append((label, row.object_key, f["sha256"], f["size"]))
        elif op.kind in TEXT_KINDS:
            rows = conn.execute(
                sa.text("SELECT evidence_id, number FROM evidenceversion WHERE text LIKE :t"), {"t": f"%{f['nonce']}%"}
            ).all()
            if not any((r.evidence_id, r.number) == (f["evidence_id"], f["version"]) for r in rows):
                verdict.lost.append(f"{label}: evidence {f['evidence_id']} v{f['version']} missing")
            elif len(rows) > 1:
                verdict.duplicated.append(f"{label}: {len(rows)} versions")
        elif op.kind == "withdraw":
            state = conn.execute(
                sa.text("SELECT state FROM evidenceversion WHERE evidence_id=:e AND number=:n"),
                {"e": f["evidence_id"], "n": f["withdrawn"]},
            ).scalar()
            if state != "withdrawn":
                verdict.lost.append(f"{label} v{f['withdrawn']}: state {state!r}")
        elif op.kind == "review":
            rows = conn.execute(
                sa.text(
                    "SELECT r.decision, v.number, v.sha256, v.size, v.text FROM review r "
                    "JOIN evidenceversion v ON v.id = r.version_id WHERE r.comment = :c"
                ),
                {"c": f"soak {f['nonce']}"},
            ).all()
            if not rows:
                verdict.lost.append(f"{label}: review missing")
                continue
            if len(rows) > 1:
                verdict.duplicated.append(f"{label}: {len(rows)} reviews")
            r = rows[0]
            if (r.number, r.sha256, r.size, r.text) != (f["version"], f["read_sha256"], f["read_size"], f["read_text"]):
                verdict.problems.append(f"{label}: the reviewed version is not the one the office read")
        elif op.kind == "score":
            got = conn.execute(
                sa.text("SELECT count(*) FROM score WHERE comment = :c"), {"c": f"soak {f['nonce']}"}
            ).scalar()
            if got < f["count"]:
                verdict.lost.append(f"{label}: {got} of {f['count']} scores")
            elif got > f["count"]:
                verdict.duplicated.append(f"{label}: {got} scores for {f['count']}")
    return files


def _reviews_unchanged(verdict: Verdict, conn: sa.Connection, history: History) -> None:
    """Versions are never rewritten: a reviewed version was created before its review, and every acknowledged
    version still holds the bytes it was acknowledged with (checked in _writes)."""
    late = conn.execute(
        sa.text(
            "SELECT count(*) FROM review r JOIN evidenceversion v ON v.id = r.version_id WHERE v.created_at > r.created_at"
        )
    ).scalar()
    if late:
        verdict.problems.append(f"{late} reviews name a version created after them")


def _audit(verdict: Verdict, conn: sa.Connection, target: Target) -> None:
    reviews = Counter(
        {str(e): n for e, n in conn.execute(sa.text("SELECT evidence_id, count(*) FROM review GROUP BY evidence_id"))}
    )
    audited = Counter(
        dict(conn.execute(sa.text(
            "SELECT object_id, count(*) FROM audit_entry WHERE action IN ('evidence.approve', 'evidence.return',"
            " 'evidence.reopen') GROUP BY object_id"
        )).all())
    )  # fmt: skip
    missing = sum(max(0, n - audited[e]) for e, n in reviews.items())
    if missing:
        verdict.problems.append(f"{missing} reviews without their audit entry")
    scored = set(conn.execute(sa.text("SELECT id FROM score")).scalars())
    in_audit: set[int] = set()
    for (after,) in conn.execute(sa.text("SELECT after FROM audit_entry WHERE action = 'score.record'")):
        in_audit |= {s["id"] for s in (after or {}).get("scores", [])}
    if scored - in_audit:
        verdict.problems.append(f"{len(scored - in_audit)} scores without their audit entry")
    out = target.shifan("audit", "verify", check=False)
    if out.returncode != 0:
        verdict.problems.append(f"shifan audit verify failed: {(out.stdout + out.stderr).strip()[-300:]}")


def _store(verdict: Verdict, conn: sa.Connection, target: Target, files: list[tuple[str, str, str, int]]) -> None:
    """Sweep, then: no object without a row, and every acknowledged version's bytes intact."""
    out = target.shifan("sweep", "--grace-minutes", "0", check=False)
    if out.returncode != 0:
        verdict.problems.append(f"shifan sweep failed: {out.stderr.strip()[-300:]}")
    s3 = Minio(target.s3_endpoint, target.s3_access_key, target.s3_secret_key, secure=False, region="us-east-1")
    known = set(conn.execute(sa.text(
        "SELECT object_key FROM evidenceversion WHERE object_key IS NOT NULL UNION "
        "SELECT preview_key FROM evidenceversion WHERE preview_key IS NOT NULL UNION "
        "SELECT object_key FROM uploadintent WHERE completed_at IS NULL"
    )).scalars())  # fmt: skip
    orphans = [o.object_name for o in s3.list_objects(target.bucket, recursive=True) if o.object_name not in known]
    if orphans:
        verdict.problems.append(f"{len(orphans)} objects without a row after the sweep, e.g. {orphans[:3]}")
    for label, key, sha, size in files:
        verdict.objects_checked += 1
        try:
            data = s3.get_object(target.bucket, key)
            try:
                body = data.read()
            finally:
                data.close()
                data.release_conn()
        except Exception as exc:  # noqa: BLE001 - a missing object is a loss, whatever the client says about it
            verdict.lost.append(f"{label}: object {key} unreadable ({type(exc).__name__})")
            continue
        if len(body) != size or hashlib.sha256(body).hexdigest() != sha:
            verdict.lost.append(f"{label}: object {key} holds other bytes ({len(body)} bytes)")


def _deliveries(verdict: Verdict, conn: sa.Connection, history: History) -> None:
    webhook_id = history.meta["webhook_id"]
    counts: dict[str, int] = history.meta.get("deliveries", {})
    rows = conn.execute(
        sa.text(
            "SELECT e.event_id, d.status FROM delivery d JOIN outboxevent e ON e.id = d.event_id WHERE d.webhook_id = :w"
        ),
        {"w": webhook_id},
    ).all()
    unsent = conn.execute(
        sa.text(
            "SELECT count(*) FROM outboxevent e JOIN webhook w ON w.id = :w AND e.county_id = w.county_id "
            "AND e.created_at > w.created_at LEFT JOIN delivery d ON d.event_id = e.id AND d.webhook_id = w.id "
            "WHERE d.id IS NULL"
        ),
        {"w": webhook_id},
    ).scalar()
    verdict.events_checked = len(rows)
    if unsent:
        verdict.problems.append(f"{unsent} events written after the webhook was registered have no delivery")
    never = [e for e, _ in rows if counts.get(e, 0) == 0]
    if never:
        statuses = Counter(s for e, s in rows if e in set(never))
        verdict.problems.append(f"{len(never)} events never reached the receiver (delivery status {dict(statuses)})")
    verdict.delivery_duplicates = sum(n - 1 for n in counts.values() if n > 1)
    if verdict.delivery_duplicates:
        verdict.notes.append(
            f"{verdict.delivery_duplicates} deliveries received twice: delivery is at-least-once by design "
            "(a worker killed after sending, before recording, sends again; receivers dedupe by webhook-id)"
        )


def _derive(statuses: list[str]) -> str:
    live = set(statuses) - {"withdrawn"}
    for status, result in (("returned", "returned"), ("submitted", "submitted"), ("approved", "approved")):
        if status in live:
            return result
    return "not_started"


def _progress(verdict: Verdict, conn: sa.Connection, target: Target, history: History) -> None:
    """Every assignment's status recounted from its evidence, and the API's counts per unit against that."""
    campaign_id = history.meta["campaign_id"]
    assignments = conn.execute(
        sa.text("SELECT id, unit_id, item_id, status FROM assignment WHERE campaign_id = :c"), {"c": campaign_id}
    ).all()
    covers = defaultdict(set)
    for request_id, item_id in conn.execute(sa.text("SELECT material_request_id, item_id FROM materialrequestitem")):
        covers[request_id].add(item_id)
    evidence = conn.execute(
        sa.text("SELECT unit_id, assignment_id, material_request_id, status FROM evidence WHERE campaign_id = :c"),
        {"c": campaign_id},
    ).all()
    by_unit: dict[int, Counter] = defaultdict(Counter)
    stale = 0
    for a in assignments:
        statuses = [
            e.status
            for e in evidence
            if e.unit_id == a.unit_id
            and (
                e.assignment_id == a.id
                or (e.assignment_id is None and a.item_id in covers.get(e.material_request_id, ()))
            )
        ]
        derived = _derive(statuses)
        stale += derived != a.status
        by_unit[a.unit_id][derived] += 1
        by_unit[a.unit_id]["total"] += 1
    if stale:
        verdict.problems.append(f"{stale} assignments' stored status differs from a recount of their evidence")
    token = httpx.post(
        f"{target.base_url}/api/v1/auth/token", data={"username": "lc-office", "password": "shifan-demo"}
    ).json()
    r = httpx.get(
        f"{target.base_url}/api/v1/campaigns/{campaign_id}/progress", params={"by": "unit"},
        headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=30,
    )  # fmt: skip
    r.raise_for_status()
    wrong = []
    for row in r.json()["groups"]["unit"]:
        want = by_unit.get(row["id"], Counter())
        got = {k: row[k] for k in ("total", "not_started", "submitted", "returned", "approved")}
        if got != {k: want[k] for k in got}:
            wrong.append(f"unit {row['id']}: API {got}, recount {dict(want)}")
    if wrong:
        verdict.problems.append(f"progress differs from a recount: {wrong[:3]}")
    # the tally the region overview reads (kept by triggers), against a count of the assignments themselves
    tally = set(conn.execute(sa.text("SELECT campaign_id, unit_id, status, due_on, n FROM assignment_tally")).all())
    counted = set(
        conn.execute(
            sa.text("SELECT campaign_id, unit_id, status, due_on, count(*) FROM assignment GROUP BY 1, 2, 3, 4")
        ).all()
    )
    if tally != counted:
        verdict.problems.append(f"assignment_tally differs from a recount in {len(tally ^ counted)} rows")


def idle_in_transaction(database_url: str) -> list[str]:
    """Connections to the soak's database idle in a transaction for more than a second."""
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(
                "SELECT coalesce(application_name, '') || ': ' || left(query, 80) FROM pg_stat_activity "
                "WHERE datname = current_database() AND state LIKE 'idle in transaction%' "
                "AND now() - state_change > interval '1 second'"
            )).scalars())  # fmt: skip
    finally:
        engine.dispose()


def _answers(verdict: Verdict, history: History) -> None:
    """Every answer a problem+json with a code when it is an error; never a 500, never a hang."""
    kills = [f for f in history.faults if f.kind == "api_kill"]
    for op in history.ops:
        where = "during a fault" if history.during_fault(op) else "outside faults"
        name = f"{op.method} {op.path} ({op.kind}, {where})"
        if op.status is None:
            if "Timeout" in (op.error or ""):
                verdict.problems.append(f"no answer within the client timeout: {name}")
            elif op.error in NO_ANSWER_ON_KILL and any(op.started <= f.ended and op.ended >= f.started for f in kills):
                continue  # the instance holding the connection was killed: a dropped connection, retried
            elif op.kind != "s3_put":
                verdict.problems.append(f"connection error {op.error}: {name}")
        elif op.kind == "s3_put":
            continue  # the S3 server's own answers (XML), retried by the client
        elif op.status >= 500 and op.status != 503:
            verdict.problems.append(f"{op.status} {op.code}: {name}")
        elif op.status >= 400 and not (op.problem and op.code):
            verdict.problems.append(f"{op.status} without problem+json and code: {name}")
        elif op.kind == "graphql" and "internal_error" in op.facts.get("errors", []):
            verdict.problems.append(f"GraphQL internal_error: {name}")
        elif op.status == 503 and not history.during_fault(op):
            verdict.notes.append(f"503 {op.code} outside a fault window: {name}")


def check(history: History, target: Target, *, idle: list[str] | None = None) -> Verdict:
    """Run every check; idle: the connections found idle in transaction while the APIs still ran."""
    verdict = Verdict()
    _answers(verdict, history)
    if idle:
        verdict.problems.append(f"{len(idle)} connections idle in transaction: {idle[:3]}")
    engine = sa.create_engine(target.database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            files = _writes(history, verdict, conn)
            _reviews_unchanged(verdict, conn, history)
            _audit(verdict, conn, target)
            _store(verdict, conn, target, files)
            _deliveries(verdict, conn, history)
            _progress(verdict, conn, target, history)
    finally:
        engine.dispose()
    return verdict
