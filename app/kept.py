"""What a server process keeps between requests (the working-day calendar, the campaigns' 督办 rules as a caller sees
them), exact across processes: every entry is keyed by the database's read generation (app.models.generation), a
stamp that triggers change in the same transaction as every write to what the entries are made from, and that
every request reads in the statement it already makes for its account (access.principal_of_claims). A write
committed by any process changes the stamp the very next request reads, and that request builds afresh. No TTL:
an entry is either exact for the stamp the request read, or never looked up again.

Only a read-only request (app.db.read_scope) uses what is kept: a transaction that writes may change what it
then reads, and its stamp was read before it wrote."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlmodel import Session, select

from app.db import ReadOnlySession
from app.models.generation import ReadGeneration

T = TypeVar("T")

_STAMP = "shifan.read_generation"
_KEPT: dict[tuple[Any, ...], Any] = {}
KEPT_MAX = 4096  # entries of every kind: a day's callers of every scope (a light book and a list total each), the
# campaigns' labels, several days and generations


def generation_column() -> Any:
    """SQL: the database's read generation, as a scalar subquery to read with another statement (no round trip)."""
    return select(ReadGeneration.value).where(ReadGeneration.id == 1).scalar_subquery().label("read_generation")


def note_generation(session: Session, value: int | None) -> None:
    """Remember the generation this request read (None: no stamp row, nothing is kept); a read-only session's, or a
    read's on the event loop (app/loop_reads.py: only reads)."""
    if (isinstance(session, ReadOnlySession) or getattr(session, "on_loop", False)) and value is not None:
        session.info[_STAMP] = value


def kept(session: Session, key: tuple[Hashable, ...], build: Callable[[], T]) -> T:
    """build()'s answer, kept in this process for the database, its read generation and key; built afresh (and not
    kept) in a request that read no generation or may write. key names everything else the answer depends on (the
    day, the caller's scope)."""
    stamp = session.info.get(_STAMP)
    if stamp is None:
        return build()
    full = (str(session.get_bind().url), stamp, *key)
    found = _KEPT.get(full, _KEPT)
    if found is _KEPT:
        # Built from statements run after the stamp was read: as new as the stamp or newer (a write committed in
        # between changed the stamp too, so a later request never asks for this key again).
        found = build()
        if len(_KEPT) >= KEPT_MAX:
            _KEPT.clear()  # simpler than an LRU; a new generation makes the old entries dead weight anyway
        _KEPT[full] = found
    return found
