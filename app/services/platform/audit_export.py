"""The audit trail an auditor takes away (GET /audit/export, `shifan audit archive`): the entries with every
hashed field in canonical form, then the daily roots (seals) that cover them with their time-stamp tokens, so
the chain and the roots can be recomputed outside the system (scripts/verify_audit_export.py, docs/security/
audit.md). Written as it is read, in batches, in JSON Lines, CSV or .xlsx: never whole in memory."""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.db import read_scope
from app.models.audit import AuditChainHead, AuditEntry, AuditSeal
from app.services.access import Principal
from app.services.documents import sheets
from app.services.errors import Invalid
from app.services.platform import audit, audit_roots
from app.services.platform.audit_chain import HASHED, canonical_bytes, canonical_time, day_bounds
from app.services.platform.audit_verify import anchor

ExportFormat = Literal["jsonl", "csv", "xlsx"]
MEDIA_TYPES: dict[str, str] = {
    "jsonl": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "xlsx": sheets.MEDIA_TYPE,
}
FORMAT_VERSION = 1
BATCH = 1000
# CSV and .xlsx columns: the hashed fields, the entry's hash, and the header and root records as their JSON
COLUMNS = ("kind", *HASHED, "entry_hash", "record")
_SHEET_COLUMNS = tuple((name, 14 if name not in ("before", "after", "record") else 40) for name in COLUMNS)


@dataclass(frozen=True)
class ExportPlan:
    """What an export holds: whose entries, which stretch of the chain (whole seals), in which format."""

    county_id: int | None  # None: every county and the entries without one (admin)
    first_seq: int
    last_seq: int
    since: date | None
    until: date | None
    format: str
    generated_at: datetime

    @property
    def filename(self) -> str:
        scope = f"county-{self.county_id}" if self.county_id is not None else "all"
        days = f"{self.since or 'start'}_{self.until or 'now'}"
        return f"audit-{scope}-{days}.{self.format}"

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]


def plan(session: Session, *, principal: Principal, since: date | None, until: date | None, fmt: str) -> ExportPlan:
    """What the export holds, recorded in the audit trail: the caller's county's entries when the caller is bound
    to a county (an office), else all (whom the API's AuditAdministrator guard lets through decides who exports
    at all), of the stretch of the chain the UTC days since..until cover, widened to whole daily roots so each
    root in the file can be recomputed."""
    county_id = principal.county_id
    if fmt not in MEDIA_TYPES:
        raise Invalid("导出格式须为 jsonl、csv 或 xlsx", code="invalid_format")
    if since and until and until < since:
        raise Invalid("结束日期早于开始日期", code="invalid_date_range")
    first_seq, last_seq = span(session, since=since, until=until)
    export = ExportPlan(county_id, first_seq, last_seq, since, until, fmt, datetime.now(UTC))
    after = {"format": fmt, "since": since, "until": until, "first_seq": first_seq, "last_seq": last_seq}
    audit.record(
        session,
        principal=principal,
        action="audit.export",
        object_type="audit",
        object_id=county_id or "all",
        county_id=county_id,
        after=jsonable(after),
    )
    return export


def jsonable(data: dict[str, Any]) -> dict[str, Any]:
    """data with dates as ISO text."""
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in data.items()}


def span(session: Session, *, since: date | None, until: date | None) -> tuple[int, int]:
    """The seq range of the entries written on the UTC days since..until (either open), widened to the seals
    that hold its ends; (n, n - 1) when empty."""
    lo_query, hi_query = select(func.min(AuditEntry.seq)), select(func.max(AuditEntry.seq))
    if since is not None:
        lo_query = lo_query.where(col(AuditEntry.at) >= day_bounds(since, since)[0])
        hi_query = hi_query.where(col(AuditEntry.at) >= day_bounds(since, since)[0])
    if until is not None:
        lo_query = lo_query.where(col(AuditEntry.at) < day_bounds(until, until)[1])
        hi_query = hi_query.where(col(AuditEntry.at) < day_bounds(until, until)[1])
    lo, hi = session.exec(lo_query).one(), session.exec(hi_query).one()
    if lo is None or hi is None:
        return 1, 0
    start = anchor(session)[0] + 1
    holding_lo = _seal_holding(session, lo)
    holding_hi = _seal_holding(session, hi)
    lo = max(start, holding_lo.first_seq) if holding_lo else lo
    hi = holding_hi.last_seq if holding_hi else hi
    return lo, hi


def _seal_holding(session: Session, seq: int) -> AuditSeal | None:
    return session.exec(
        select(AuditSeal).where(col(AuditSeal.first_seq) <= seq, col(AuditSeal.last_seq) >= seq).limit(1)
    ).first()


def entry_record(entry: AuditEntry) -> dict[str, Any]:
    """An entry as the export holds it: its hashed fields exactly as hashed, and its hash."""
    data: dict[str, Any] = {"kind": "entry", **{name: getattr(entry, name) for name in HASHED}}
    data["at"] = canonical_time(entry.at)
    data["entry_hash"] = entry.entry_hash
    return data


def root_record(seal: AuditSeal) -> dict[str, Any]:
    """A daily root as the export holds it: what its digest covers, the digest, the time-stamp token."""
    return {
        "kind": "root",
        **audit_roots.body(seal),
        "digest": seal.digest,
        "tsa_token": base64.b64encode(seal.tsa_token).decode() if seal.tsa_token else None,
        "stamped_at": canonical_time(seal.stamped_at) if seal.stamped_at else None,
    }


def records(session: Session, export: ExportPlan) -> Iterator[dict[str, Any]]:
    """The header, the entries in seq order (read BATCH at a time), then the roots that cover them."""
    head = session.get(AuditChainHead, 1)
    yield {
        "kind": "header",
        "format": "shifan-audit-export",
        "version": FORMAT_VERSION,
        "county_id": export.county_id,
        "all_counties": export.county_id is None,
        "since": export.since.isoformat() if export.since else None,
        "until": export.until.isoformat() if export.until else None,
        "first_seq": export.first_seq,
        "last_seq": export.last_seq,
        "head_seq": head.seq if head else 0,
        "generated_at": canonical_time(export.generated_at),
    }
    at = export.first_seq
    while at <= export.last_seq:
        query = select(AuditEntry).where(col(AuditEntry.seq) >= at, col(AuditEntry.seq) <= export.last_seq)
        if export.county_id is not None:
            query = query.where(AuditEntry.county_id == export.county_id)
        rows = session.exec(query.order_by(col(AuditEntry.seq)).limit(BATCH)).all()
        if not rows:
            break
        for row in rows:
            yield entry_record(row)
        at = rows[-1].seq + 1
        session.expunge_all()
    seals = session.exec(
        select(AuditSeal)
        .where(col(AuditSeal.last_seq) >= export.first_seq - 1, col(AuditSeal.first_seq) <= export.last_seq)
        .order_by(col(AuditSeal.last_seq))
    ).all()
    for seal in seals:
        yield root_record(seal)


def stream(export: ExportPlan) -> Iterator[bytes]:
    """The export's bytes as they are written, read in a session of its own (the request's has ended)."""
    with read_scope() as session:
        yield from write(records(session, export), export.format)


def write(items: Iterator[dict[str, Any]], fmt: str) -> Iterator[bytes]:
    """records in fmt, chunk by chunk."""
    if fmt == "jsonl":
        batch: list[bytes] = []
        for item in items:
            batch.append(canonical_bytes(item) + b"\n")
            if len(batch) >= BATCH:
                yield b"".join(batch)
                batch.clear()
        yield b"".join(batch)
    elif fmt == "csv":
        yield "\ufeff".encode()  # so Excel and WPS read the file as UTF-8
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        for n, item in enumerate(items, start=1):
            writer.writerow(_cells(item))
            if n % BATCH == 0:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode()
    else:
        sheet = sheets.StreamedSheet("审计记录", "审计记录导出（哈希链与每日根）", _SHEET_COLUMNS)
        yield from sheet.stream(_cells(item) for item in items)


def _cells(item: dict[str, Any]) -> list[Any]:
    """One CSV or sheet row: an entry's fields (before and after as canonical JSON), or a record's JSON."""
    if item["kind"] != "entry":
        return [item["kind"], *[""] * (len(COLUMNS) - 2), canonical_bytes(item).decode()]
    cells: list[Any] = ["entry"]
    for name in (*HASHED, "entry_hash"):
        value = item[name]
        if name in ("before", "after"):
            value = "" if value is None else canonical_bytes(value).decode()
        cells.append("" if value is None else value)
    return [*cells, ""]
