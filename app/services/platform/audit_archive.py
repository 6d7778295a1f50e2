"""Retention of the audit trail: `shifan audit archive` writes the entries older than a day, up to the newest
daily root (seal) before it, to a file with their roots; `shifan audit prune` then removes archived entries,
never one younger than SHIFAN_AUDIT_RETENTION_DAYS (at least 180, 网络安全法 §21). The database refuses the
removal of any entry no archive covers (the append-only guard of migration 0011c)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from app.models.audit import AuditArchive, AuditEntry, AuditSeal
from app.services.errors import Conflict
from app.services.platform import audit
from app.services.platform.audit_chain import day_bounds
from app.services.platform.audit_export import ExportPlan, records, write
from app.services.platform.audit_verify import anchor


def archive(session: Session, *, before: date, out: Path, now: datetime) -> AuditArchive:
    """Write the stored entries written before the day `before`, up to the newest seal that ends before it,
    with the roots that cover them, to out (JSON Lines, as the export); keep a record of it."""
    start = anchor(session)[0] + 1
    first_young = session.exec(
        select(func.min(AuditEntry.seq)).where(col(AuditEntry.at) >= day_bounds(before, before)[0])
    ).one()
    query = select(AuditSeal).where(col(AuditSeal.last_seq) >= start)
    if first_young is not None:
        query = query.where(col(AuditSeal.last_seq) < first_young)
    seal = session.exec(query.order_by(col(AuditSeal.last_seq).desc()).limit(1)).first()
    if seal is None:
        raise Conflict(
            f"{before.isoformat()} 之前没有可归档的已封存记录：请先进行每日封存（命令 audit seal）",
            code="audit_not_sealed",
        )
    plan = ExportPlan(None, start, seal.last_seq, None, before - timedelta(days=1), "jsonl", now)
    counted: dict[str, Any] = {"entries": 0, "last_hash": None}
    digest = hashlib.sha256()
    try:
        with out.open("wb") as file:
            for chunk in write(_counting(records(session, plan), counted), "jsonl"):
                digest.update(chunk)
                file.write(chunk)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    if counted["entries"] != seal.last_seq - start + 1 or counted["last_hash"] != seal.last_entry_hash:
        out.unlink(missing_ok=True)
        raise Conflict(
            "待归档的记录与其日根不符，未归档：请先核验审计记录链（命令 audit verify）", code="audit_archive_mismatch"
        )
    row = AuditArchive(
        created_at=now,
        before=before,
        first_seq=start,
        last_seq=seal.last_seq,
        last_entry_hash=seal.last_entry_hash,
        entries=counted["entries"],
        sha256=digest.hexdigest(),
        filename=out.name[:255],
    )
    session.add(row)
    session.flush()
    return row


def _counting(items: Iterator[dict[str, Any]], counted: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for item in items:
        if item["kind"] == "entry":
            counted["entries"] += 1
            counted["last_hash"] = item["entry_hash"]
        yield item


def prune(
    session: Session, *, before: date, today: date, retention_days: int, now: datetime
) -> tuple[AuditArchive, int]:
    """Remove the entries of the newest archive made for a day up to `before` (the archive and the number
    removed); Conflict when `before` is inside the retention period, nothing is archived for it, or what is
    stored no longer matches the archive."""
    limit = today - timedelta(days=retention_days)
    if before > limit:
        raise Conflict(
            f"审计记录须保存至少 {retention_days} 天：只能删除 {limit.isoformat()} 之前的记录", code="audit_retention"
        )
    done = session.exec(
        select(AuditArchive)
        .where(col(AuditArchive.before) <= before)
        .order_by(col(AuditArchive.last_seq).desc())
        .limit(1)
    ).first()
    if done is None:
        raise Conflict(
            f"{before.isoformat()} 之前的审计记录尚未归档：请先归档（命令 audit archive）", code="audit_not_archived"
        )
    start = anchor(session)[0] + 1
    if done.last_seq < start:
        return done, 0
    last = session.exec(select(AuditEntry).where(AuditEntry.seq == done.last_seq)).first()
    if last is None or last.entry_hash != done.last_entry_hash:
        raise Conflict(
            "库中记录与归档文件所记的末条哈希不符，未删除：请先核验审计记录链（命令 audit verify）",
            code="audit_archive_mismatch",
        )
    newest = session.exec(select(func.max(AuditEntry.at)).where(col(AuditEntry.seq) <= done.last_seq)).one()
    if newest is not None and newest >= day_bounds(limit, limit)[0]:
        raise Conflict(f"归档中有 {retention_days} 天内的记录，不能删除", code="audit_retention")
    removed = session.exec(delete(AuditEntry).where(col(AuditEntry.seq) <= done.last_seq))  # type: ignore[call-overload]
    done.pruned_at = now
    session.add(done)
    audit.record(
        session,
        principal=None,
        action="audit.prune",
        object_type="audit_archive",
        object_id=done.id or 0,
        after={"first_seq": start, "last_seq": done.last_seq, "removed": removed.rowcount, "sha256": done.sha256},
    )
    return done, removed.rowcount or 0
