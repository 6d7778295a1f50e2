"""Daily roots of the audit chain (seals): once a day the entries written since the previous seal are summed up
per county, linked to the previous seal and time-stamped by an RFC 3161 authority, so that a chain cut short
or rewritten after a seal no longer matches a token nobody inside the system can make again.

A seal's county root: SHA-256 hex of the canonical JSON {county_id, entries: [[seq, entry_hash], ...]} over that
county's entries with seq from first_seq to last_seq (county_id null: entries without a county). The seal's
digest: SHA-256 hex of the canonical JSON {first_seq, last_seq, last_entry_hash, prev_digest, roots: [[county_id,
root, entries], ...] (by county id, null last), sealed_at} — the canonical form of audit_chain. The first seal's
prev_digest is 64 zeros. The time-stamp token covers the digest's 32 bytes (SHA-256 message imprint)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.db import session_scope
from app.models.audit import AuditChainHead, AuditEntry, AuditSeal
from app.services.platform import timestamp
from app.services.platform.audit_chain import GENESIS, canonical_bytes, canonical_time
from app.settings import get_settings

# A stamp made longer than this after (or before) the moment the seal states is not the seal's own.
STAMP_SKEW = timedelta(hours=1)
STALE_AFTER = timedelta(hours=48)


class RootBuilder:
    """County roots computed as entries come, in seq order, without keeping the entries."""

    def __init__(self) -> None:
        self._hashers: dict[int | None, Any] = {}
        self._counts: dict[int | None, int] = {}

    def add(self, county_id: int | None, seq: int, entry_hash: str) -> None:
        """One more entry of county_id (entries must come in ascending seq)."""
        h = self._hashers.get(county_id)
        if h is None:
            h = self._hashers[county_id] = hashlib.sha256(f'{{"county_id":{json.dumps(county_id)},"entries":['.encode())
            self._counts[county_id] = 0
        else:
            h.update(b",")
        h.update(f'[{seq},"{entry_hash}"]'.encode())
        self._counts[county_id] += 1

    def roots(self) -> list[list[Any]]:
        """[[county_id, root, entries], ...] by county id, entries without a county last."""
        out = []
        for county_id in sorted(self._hashers, key=lambda c: (c is None, c or 0)):
            h = self._hashers[county_id].copy()
            h.update(b"]}")
            out.append([county_id, h.hexdigest(), self._counts[county_id]])
        return out


def body(seal: AuditSeal) -> dict[str, Any]:
    """What a seal's digest covers."""
    return {
        "first_seq": seal.first_seq,
        "last_seq": seal.last_seq,
        "last_entry_hash": seal.last_entry_hash,
        "prev_digest": seal.prev_digest,
        "roots": seal.roots,
        "sealed_at": canonical_time(seal.sealed_at),
    }


def digest_of(seal: AuditSeal) -> str:
    """The seal's digest, recomputed."""
    return hashlib.sha256(canonical_bytes(body(seal))).hexdigest()


def tsa_certificate() -> bytes | None:
    """The time-stamp authority's signing certificate (PEM file SHIFAN_TSA_CERT), if configured."""
    path = get_settings().tsa_cert
    return Path(path).read_bytes() if path else None


def latest(session: Session) -> AuditSeal | None:
    """The newest seal, if any."""
    return session.exec(select(AuditSeal).order_by(col(AuditSeal.last_seq).desc()).limit(1)).first()


def prepare(session: Session, *, now: datetime, batch: int = 5000) -> AuditSeal | None:
    """The next seal over the entries since the newest one up to the chain's head (None: nothing new);
    not stored, not stamped."""
    last = latest(session)
    head = session.get(AuditChainHead, 1)
    start = last.last_seq + 1 if last else 1
    if head is None or head.seq < start:
        return None
    builder, at, last_hash = RootBuilder(), start, head.entry_hash
    while at <= head.seq:
        rows = session.exec(
            select(AuditEntry.seq, AuditEntry.county_id, AuditEntry.entry_hash)
            .where(col(AuditEntry.seq) >= at, col(AuditEntry.seq) <= head.seq)
            .order_by(col(AuditEntry.seq))
            .limit(batch)
        ).all()
        if not rows:
            break
        for seq, county_id, entry_hash in rows:
            builder.add(county_id, seq, entry_hash)
            last_hash = entry_hash
        at = rows[-1][0] + 1
    seal = AuditSeal(
        sealed_at=now,
        first_seq=start,
        last_seq=head.seq,
        last_entry_hash=last_hash,
        prev_digest=last.digest if last else GENESIS,
        roots=builder.roots(),
        digest="",
    )
    seal.digest = digest_of(seal)
    return seal


def stamp(seal: AuditSeal, *, url: str, timeout: float, cert_pem: bytes | None) -> None:
    """Have the authority at url stamp the seal's digest (TimestampError when it does not)."""
    seal.tsa_token = timestamp.request_token(url, seal.digest, timeout=timeout)
    seal.stamped_at = timestamp.check_token(seal.tsa_token, seal.digest, cert_pem)


def store(session: Session, seal: AuditSeal) -> bool:
    """Keep the seal; False when another sealer stored one from the same previous seal first (nothing is kept)."""
    session.add(seal)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return False
    return True


def sealed_today(session: Session, *, now: datetime) -> bool:
    """Whether a seal was made on now's UTC day (the worker seals once a day)."""
    last = latest(session)
    return last is not None and last.sealed_at.astimezone(UTC).date() == now.astimezone(UTC).date()


def _name(seal: AuditSeal) -> str:
    return f"截至第 {seal.last_seq} 条的日根（{canonical_time(seal.sealed_at)[:10]} 封存）"


class SealCheck:
    """The seals checked while verify walks the chain: each seal's own digest, its link to the previous one and
    its time stamp; then, as the entries pass in seq order, its county roots and last entry; at the end, no
    seal may reach past the chain's last entry (a cut tail)."""

    def __init__(self, seals: list[AuditSeal], *, start_seq: int, cert_pem: bytes | None) -> None:
        self.seals = sorted(seals, key=lambda s: s.last_seq)
        self.start_seq = start_seq  # entries before it were archived and pruned
        self.cert_pem = cert_pem
        self.warnings: list[str] = []
        self._i = 0
        self._builder = RootBuilder()

    def stamped(self) -> int:
        """How many seals carry a time-stamp token."""
        return sum(1 for s in self.seals if s.tsa_token)

    def static(self) -> tuple[int, str] | None:
        """(seq, reason) of the first seal that does not hold up on its own, if any."""
        prev, stamping = GENESIS, False
        for seal in self.seals:
            if seal.prev_digest != prev:
                return seal.last_seq, f"{_name(seal)}与前一个日根的链接不符（日根被删除或改动）"
            if digest_of(seal) != seal.digest:
                return seal.last_seq, f"{_name(seal)}的内容与其摘要不符（日根被改动）"
            if seal.tsa_token:
                stamping = True
                try:
                    when = timestamp.check_token(seal.tsa_token, seal.digest, self.cert_pem)
                except timestamp.TimestampError as exc:
                    return seal.last_seq, f"{_name(seal)}的时间戳无效：{exc}"
                if abs(when - seal.sealed_at) > STAMP_SKEW or seal.stamped_at != when:
                    return seal.last_seq, f"{_name(seal)}的时间戳时间（{when.isoformat()}）与封存时间不符"
            elif stamping:
                return seal.last_seq, f"{_name(seal)}没有时间戳，而此前的日根都有（日根被重做）"
            prev = seal.digest
        if self.stamped() and self.cert_pem is None:
            self.warnings.append("未设置 SHIFAN_TSA_CERT：时间戳只核对了摘要，未核验签名")
        self._skip_archived()
        return None

    def _skip_archived(self) -> None:
        while self._i < len(self.seals) and self.seals[self._i].last_seq < self.start_seq:
            self._i += 1

    def feed(self, seq: int, county_id: int | None, entry_hash: str) -> str | None:
        """The next entry of the chain; the reason when it closes a seal that no longer matches."""
        if self._i >= len(self.seals):
            return None
        seal = self.seals[self._i]
        self._builder.add(county_id, seq, entry_hash)
        if seq < seal.last_seq:
            return None
        self._i += 1
        builder, self._builder = self._builder, RootBuilder()
        if entry_hash != seal.last_entry_hash:
            return f"{_name(seal)}所记的末条哈希与第 {seq} 条不符（记录被改动或替换）"
        if seal.first_seq >= self.start_seq and builder.roots() != seal.roots:
            return f"{_name(seal)}与重新计算的各县根不符（其间的记录被改动、删除或替换）"
        return None

    def end(self, last_seq: int) -> tuple[int, str] | None:
        """After the last entry: (seq, reason) when a seal reaches past it."""
        beyond = [s for s in self.seals if s.last_seq > last_seq]
        if beyond:
            seal = beyond[-1]
            return last_seq + 1, (
                f"记录链止于第 {last_seq} 条，而{_name(seal)}已封存至第 {seal.last_seq} 条（末尾记录被截去）"
            )
        return None

    def stale(self, now: datetime) -> None:
        """Warn when the newest seal is over two days old (sealing stopped, or the newest seals were removed)."""
        if self.seals and now - self.seals[-1].sealed_at > STALE_AFTER:
            newest = canonical_time(self.seals[-1].sealed_at)
            self.warnings.append(f"最近的日根封存于 {newest}，已超过两天：请检查每日封存是否运行")


def seal(*, now: datetime) -> AuditSeal | None:
    """Make, stamp (when SHIFAN_TSA_URL is set) and keep the next seal; None when nothing new was written.
    The authority is asked outside any transaction, so no writer waits on it; when it does not answer, nothing
    is kept (TimestampError) and the next run seals the same entries and more."""
    settings = get_settings()
    with session_scope() as session:
        made = prepare(session, now=now)
    if made is None:
        return None
    if settings.tsa_url:
        stamp(made, url=settings.tsa_url, timeout=settings.tsa_timeout_seconds, cert_pem=tsa_certificate())
    with session_scope() as session:
        return made if store(session, made) else None
