"""`shifan audit verify` and GET /audit/verify: the chain recomputed from its first stored entry (1, or the one
after the newest pruned archive), each daily root (seal) checked on its own, with its time stamp, and against
the entries it covers, and no seal reaching past the chain's end."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, col, select

from app.models.audit import AuditArchive, AuditBreak, AuditChainHead, AuditEntry, AuditSeal, AuditVerdict
from app.services.platform.audit_chain import GENESIS, entry_digest
from app.services.platform.audit_roots import SealCheck, tsa_certificate


def anchor(session: Session) -> tuple[int, str]:
    """(seq, entry_hash) of the last entry removed by a prune ((0, GENESIS) when none was)."""
    pruned = session.exec(
        select(AuditArchive)
        .where(col(AuditArchive.pruned_at).is_not(None))
        .order_by(col(AuditArchive.last_seq).desc())
        .limit(1)
    ).first()
    return (pruned.last_seq, pruned.last_entry_hash) if pruned else (0, GENESIS)


def verify(session: Session, *, batch: int = 2000, now: datetime | None = None) -> AuditVerdict:
    """Recompute the chain and check the seals; the first place that no longer matches, if any."""
    start_seq, start_hash = anchor(session)
    seals = SealCheck(list(session.exec(select(AuditSeal)).all()), start_seq=start_seq + 1, cert_pem=tsa_certificate())
    extra = {"start_seq": start_seq + 1, "seals": len(seals.seals), "stamped": seals.stamped()}
    at_boundary = next((s for s in seals.seals if s.last_seq == start_seq), None)
    if at_boundary is not None and at_boundary.last_entry_hash != start_hash:
        return _broken(0, start_seq, None, "归档边界的末条哈希与该处日根不符（归档记录被改动）", extra)
    if (problem := seals.static()) is not None:
        return _broken(0, problem[0], None, problem[1], extra)
    expected_prev, expected_seq, checked, last_seq = start_hash, start_seq + 1, 0, start_seq
    while True:
        rows = session.exec(
            select(AuditEntry).where(col(AuditEntry.seq) >= expected_seq).order_by(col(AuditEntry.seq)).limit(batch)
        ).all()
        for row in rows:
            if row.seq != expected_seq:
                why = f"第 {expected_seq} 条至第 {row.seq - 1} 条记录缺失（被删除）"
                return _broken(checked, row.seq, row.id, why, extra)
            if row.prev_hash != expected_prev:
                return _broken(checked, row.seq, row.id, "与前一条记录的链接不符（前一条被改动或删除）", extra)
            if entry_digest(row) != row.entry_hash:
                return _broken(checked, row.seq, row.id, "记录内容与其哈希不符（被改动）", extra)
            if (why := seals.feed(row.seq, row.county_id, row.entry_hash)) is not None:
                return _broken(checked, row.seq, row.id, why, extra)
            expected_prev, expected_seq, last_seq = row.entry_hash, row.seq + 1, row.seq
            checked += 1
        session.expunge_all()
        if len(rows) < batch:
            break
    if (problem := seals.end(last_seq)) is not None:
        return _broken(checked, problem[0], None, problem[1], extra)
    head = session.get(AuditChainHead, 1)
    head_seq, head_hash = (head.seq, head.entry_hash) if head else (0, GENESIS)
    if head_seq != last_seq or head_hash != expected_prev:
        why = f"链头指向第 {head_seq} 条，而记录只到第 {last_seq} 条（末尾记录被删除或改动）"
        return _broken(checked, last_seq + 1 if head_seq > last_seq else head_seq, None, why, extra)
    seals.stale(now or datetime.now(UTC))
    return AuditVerdict(ok=True, checked=checked, head_seq=head_seq, first_break=None, warnings=seals.warnings, **extra)


def _broken(checked: int, seq: int, entry_id: int | None, reason: str, extra: dict) -> AuditVerdict:
    return AuditVerdict(
        ok=False,
        checked=checked,
        head_seq=0,
        first_break=AuditBreak(seq=seq, entry_id=entry_id, reason=reason),
        **extra,
    )
