"""Search a campaign's evidence by words, scoped exactly as evidence reads are (a liaison finds only its
unit's, another county's campaign is not found), newest version first, each hit with a snippet."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func, literal_column, text
from sqlmodel import Session, col, select

from app.models import Assignment, Campaign, Evidence, EvidenceText, EvidenceVersion, Item, Unit
from app.models.evidence import TEXT_STATUS_LABELS, TextStatus, VersionState
from app.models.search import FTS_TABLE, TSV_COLUMN, SearchHit
from app.services.access import Principal, campaign_scope, unit_scope
from app.services.campaign import campaigns
from app.services.errors import Invalid
from app.services.search import words

MAX_QUERY_CHARS = 100
MAX_TERMS = 10
SNIPPET_BEFORE = 30
SNIPPET_CHARS = 120


def terms_of(q: str) -> list[str]:
    """The words to find, or Invalid when the search says nothing."""
    q = (q or "").strip()
    if len(q) > MAX_QUERY_CHARS:
        raise Invalid(f"检索词不能超过 {MAX_QUERY_CHARS} 个字", code="search_query_too_long")
    terms = words.for_query(q)[:MAX_TERMS]
    if not terms:
        raise Invalid("请输入检索词（汉字、字母或数字）", code="search_query_empty")
    return terms


def _matches(session: Session, terms: list[str]) -> Any:  # noqa: ANN401 - a SQL condition
    if session.get_bind().dialect.name == "postgresql":
        vector = literal_column(f"evidencetext.{TSV_COLUMN}")  # stored, GIN-indexed (migration 0008c)
        return vector.op("@@")(func.plainto_tsquery(literal_column("'simple'::regconfig"), " ".join(terms)))
    phrase = " AND ".join('"' + t.replace('"', '""') + '"' for t in terms)
    found = text(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :phrase").bindparams(phrase=phrase)
    return col(EvidenceText.version_id).in_(found.columns(rowid=EvidenceText.version_id.type))  # type: ignore[attr-defined]


@contextmanager
def _index_first(session: Session) -> Iterator[None]:
    """On PostgreSQL, keep the planner off a sequential scan for the search's own queries.

    A common word matches a large share of a campaign's versions, and the planner then prefers reading
    the whole table; but each row's tsvector is TOASTed, so that scan is several times slower than the GIN
    bitmap, which needs no recheck for AND-ed words (counting 19,000 hits of 50,000: 163 ms against 46 ms
    in bench/search.py's data). Restored afterwards."""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    before = session.execute(text("SELECT current_setting('enable_seqscan')")).scalar()
    session.execute(text("SELECT set_config('enable_seqscan', 'off', true)"))  # true: this transaction only
    try:
        yield
    finally:
        session.execute(text("SELECT set_config('enable_seqscan', :before, true)").bindparams(before=before))


def search(
    session: Session, *, campaign_id: int, q: str, principal: Principal, limit: int, offset: int
) -> tuple[list[SearchHit], int]:
    """A page of the campaign's evidence versions whose words hold every word of q."""
    campaigns.get_visible(session, campaign_id=campaign_id, principal=principal)
    terms = terms_of(q)
    query = (
        select(EvidenceText, EvidenceVersion, Evidence, Unit.name, Assignment.item_id, Item.number)
        .join(EvidenceVersion, col(EvidenceVersion.id) == EvidenceText.version_id)
        .join(Evidence, col(Evidence.id) == EvidenceVersion.evidence_id)
        .join(Campaign, col(Campaign.id) == Evidence.campaign_id)
        .join(Unit, col(Unit.id) == Evidence.unit_id)
        .outerjoin(Assignment, col(Assignment.id) == Evidence.assignment_id)
        .outerjoin(Item, col(Item.id) == Assignment.item_id)
        .where(
            EvidenceText.campaign_id == campaign_id,
            Evidence.campaign_id == campaign_id,
            EvidenceVersion.state == VersionState.active,
            campaign_scope(principal),
            unit_scope(principal, col(Evidence.unit_id)),
            _matches(session, terms),
        )
    )
    with _index_first(session):
        total = session.exec(select(func.count()).select_from(query.subquery())).one()
        rows = session.exec(query.order_by(col(EvidenceText.version_id).desc()).limit(limit).offset(offset)).all()
    return [_hit(*row, terms=terms) for row in rows], total


def _hit(
    t: EvidenceText, v: EvidenceVersion, e: Evidence, unit_name: str, item_id: int | None, item_number: int | None,
    *, terms: list[str],
) -> SearchHit:  # fmt: skip
    status = TextStatus(t.status)
    return SearchHit(
        evidence_id=e.id,  # type: ignore[arg-type]
        evidence_title=e.title,
        evidence_status=e.status,
        version=v.number,
        kind=v.kind,
        filename=v.filename,
        unit_id=e.unit_id,
        unit_name=unit_name,
        assignment_id=e.assignment_id,
        item_id=item_id,
        item_number=item_number,
        material_request_id=e.material_request_id,
        text_status=status,
        text_status_label=TEXT_STATUS_LABELS[status],
        snippet=snippet(t.plain, terms),
    )


def snippet(plain: str, terms: list[str]) -> str:
    """The passage around the first match, HTML-escaped, each term wrapped in <mark>: …<mark>行政复议</mark>决定书…"""
    pattern = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)), re.IGNORECASE)
    first = pattern.search(plain)
    start = max(0, first.start() - SNIPPET_BEFORE) if first else 0
    end = min(len(plain), start + SNIPPET_CHARS)
    window = plain[start:end].replace("\n", " ")
    out: list[str] = []
    pos = 0
    for m in pattern.finditer(window):
        out += [html.escape(window[pos : m.start()]), "<mark>", html.escape(m.group()), "</mark>"]
        pos = m.end()
    out.append(html.escape(window[pos:]))
    marked = "".join(out).replace("</mark><mark>", "")  # 合法性 and 审核, side by side, read as one passage
    return ("…" if start > 0 else "") + marked + ("…" if end < len(plain) else "")
