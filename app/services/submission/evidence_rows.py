"""Evidence detail as plain data for the busiest read of one piece of evidence (issue 28): the same conditions as
evidence.get_detail (evidence.readable for the evidence, reuse.uses_statement for where its files were reused,
places for its items), compiled once per caller scope and run on the driver, the answer a dict shaped like
EvidenceDetail for the API to write straight to JSON. On PostgreSQL it is one statement (versions, reviews, items
and reuse folded in as JSON lists); SQLite runs the same selects one after another. GraphQL and the routes that
change evidence keep the general path; tests/test_hot_reads_evidence.py holds the two to the same answers.

Adding a field to VersionPublic: its column in _VERSION and its line in _version()."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

import orjson
from sqlalchemy import Text, bindparam, cast, func
from sqlalchemy.orm import aliased
from sqlalchemy.sql import sqltypes
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, col, select

from app.db import prepared
from app.models import Campaign, Evidence, EvidenceText, EvidenceVersion, Review, Unit
from app.models.evidence import EvidenceKind, JobFailure, PreviewState, TextStatus
from app.services import access
from app.services.access import Principal
from app.services.campaign import places
from app.services.errors import NotFound
from app.services.media import dating
from app.services.review import reuse
from app.services.submission import evidence
from app.services.submission.filetypes import download_name

_ID = bindparam("evidence_id")

_HEAD = (
    Evidence.id, Evidence.campaign_id, Evidence.unit_id, Evidence.assignment_id, Evidence.material_request_id,
    Evidence.title, Evidence.status, Evidence.current_version, Evidence.created_at, Evidence.updated_at,
    Campaign.assessment_start, Campaign.assessment_end, col(Unit.name).label("unit_name"),
)  # fmt: skip

_VERSION = (
    EvidenceVersion.number, EvidenceVersion.kind, EvidenceVersion.filename, EvidenceVersion.extension,
    EvidenceVersion.content_type, EvidenceVersion.size, EvidenceVersion.sha256, EvidenceVersion.page_count,
    EvidenceVersion.resubmitted_unchanged, EvidenceVersion.url, EvidenceVersion.text, EvidenceVersion.state,
    EvidenceVersion.created_by, EvidenceVersion.created_at, EvidenceVersion.withdrawn_at, EvidenceVersion.preview,
    EvidenceVersion.preview_error, EvidenceVersion.origin_version_id, EvidenceVersion.origin_campaign_id,
    EvidenceVersion.taken_at, EvidenceVersion.taken_latitude, EvidenceVersion.taken_longitude,
    EvidenceVersion.document_date, EvidenceVersion.period_start, EvidenceVersion.period_end,
    col(EvidenceText.status).label("text_state"), col(EvidenceText.error).label("text_error"),
    EvidenceText.suggested_date, EvidenceText.suggested_from,
)  # fmt: skip


def _head(principal: Principal) -> Any:
    """The evidence if the caller may read it (evidence.get_visible's conditions), with its unit's name and its
    campaign's assessment period."""
    return (
        select(*_HEAD)
        .select_from(Evidence)
        .join(Campaign, col(Campaign.id) == Evidence.campaign_id)
        .outerjoin(Unit, col(Unit.id) == Evidence.unit_id)
        .where(Evidence.id == _ID, *evidence.readable(principal))
    )


def _versions() -> Any:
    return (
        select(*_VERSION)
        .outerjoin(EvidenceText, col(EvidenceText.version_id) == EvidenceVersion.id)
        .where(EvidenceVersion.evidence_id == _ID)
        .order_by(EvidenceVersion.number)
    )


def _reviews() -> Any:
    # a review of this evidence with the number of the version it judged (of this evidence, as detail() keeps it)
    judged = (col(EvidenceVersion.id) == Review.version_id) & (col(EvidenceVersion.evidence_id) == Review.evidence_id)
    return (
        select(
            Review.id,
            col(EvidenceVersion.number).label("version"),
            Review.decision,
            Review.comment,
            Review.status_after,
            Review.reviewer_id,
            Review.created_at,
        )  # fmt: skip
        .join(EvidenceVersion, judged)
        .where(Review.evidence_id == _ID)
        .order_by(Review.id)
    )


def _reuse(principal: Principal) -> Any:
    """reuse.reused_in's statement: the other evidence holding the bytes of any of this evidence's file versions."""
    mine, own, its_campaign = aliased(EvidenceVersion), aliased(Evidence), aliased(Campaign)
    shas = select(mine.sha256).where(mine.evidence_id == _ID, mine.kind == EvidenceKind.file, mine.sha256 != "")
    county = select(its_campaign.county_id).join(own, own.campaign_id == its_campaign.id).where(own.id == _ID)
    statement = reuse.uses_statement(principal, sha256_in=shas, county_id=county.scalar_subquery())
    return statement.where(Evidence.id != _ID)


# The lists of the answer: name → (statement, the columns a PostgreSQL JSON list is ordered by)
def _lists(principal: Principal) -> dict[str, tuple[Callable[[], Any], tuple[str, ...]]]:
    found: dict[str, tuple[Callable[[], Any], tuple[str, ...]]] = {
        "versions": (_versions, ("number",)),
        "reviews": (_reviews, ("id",)),
        "assignment_items": (lambda: places.items_statement(_ID, by="assignment"), ()),
        "request_items": (lambda: places.items_statement(_ID, by="request"), ("position", "number")),
    }
    if principal.role in reuse.SEES_REUSE:
        found["reuse"] = (lambda: _reuse(principal), ("sha256", "evidence_id", "version"))
    return found


def _folded(principal: Principal) -> Any:
    """PostgreSQL: the head with every list as a column of JSON text (one round trip)."""
    from sqlalchemy.dialects.postgresql import aggregate_order_by

    columns = []
    for name, (build, order) in _lists(principal).items():
        rows = build().subquery()
        listed = func.json_build_array(*rows.c)
        if order:
            listed = aggregate_order_by(listed, *(rows.c[key] for key in order))
        columns.append(select(cast(func.json_agg(listed), Text)).select_from(rows).scalar_subquery().label(name))
    return _head(principal).add_columns(*columns)


def _decoder(type_: Any) -> Callable[[Any], Any] | None:
    """How a value of type_ read back from PostgreSQL's JSON becomes what the driver hands over for the column."""
    impl = type_.impl if isinstance(type_, TypeDecorator) else type_
    if isinstance(impl, sqltypes.DateTime):
        if isinstance(type_, TypeDecorator):  # UTCDateTime: a zone on every backend
            return lambda v: type_.process_result_value(datetime.fromisoformat(v), None)
        return datetime.fromisoformat
    if isinstance(impl, sqltypes.Date):
        return date.fromisoformat
    if isinstance(impl, sqltypes.Float):
        return float  # JSON writes 2.0 as 2
    return None


_DECODERS: dict[str, list[tuple[int, Callable[[Any], Any]]]] = {}


def _from_json(name: str, build: Callable[[], Any], text: str | None) -> list[tuple[Any, ...]]:
    if text is None:  # no rows
        return []
    decoders = _DECODERS.get(name)
    if decoders is None:
        types = [c.type for c in build().selected_columns]
        decoders = _DECODERS[name] = [(i, d) for i, t in enumerate(types) if (d := _decoder(t)) is not None]
    rows = orjson.loads(text)
    for row in rows:
        for i, decode in decoders:
            if row[i] is not None:
                row[i] = decode(row[i])
    return rows


def detail(session: Session, *, evidence_id: int, principal: Principal) -> dict[str, Any]:
    """Evidence the caller may read with every version and review, as evidence.get_detail answers it (the same
    fields, values and refusals), as plain data."""
    key = ("evidence_detail", access.scope_key(principal))
    values = {"evidence_id": evidence_id}
    lists = _lists(principal)
    if session.get_bind().dialect.name == "postgresql":
        rows = prepared(session, (*key, "folded"), lambda: _folded(principal)).run(session, values)
        if not rows:
            raise NotFound("未找到该资料", code="evidence_not_found")
        head, texts = rows[0][: len(_HEAD)], rows[0][len(_HEAD) :]
        named = zip(lists.items(), texts, strict=True)
        found = {name: _from_json(name, build, text) for (name, (build, _)), text in named}
        return _answer(head, found, principal)
    rows = prepared(session, (*key, "head"), lambda: _head(principal)).run(session, values)
    if not rows:
        raise NotFound("未找到该资料", code="evidence_not_found")
    head = rows[0]
    skip = "request_items" if head[3] is not None else "assignment_items"  # it counts for one or the other
    found = {
        name: prepared(session, (*key, name), build).run(session, values)
        for name, (build, _) in lists.items()
        if name != skip
    }
    return _answer(head, found, principal)


_VERSION_KEYS = tuple(c.key for c in _VERSION)


def _answer(head: Sequence[Any], found: dict[str, list[Any]], principal: Principal) -> dict[str, Any]:
    (id_, campaign_id, unit_id, assignment_id, material_request_id, title, status, current_version,
     created_at, updated_at, start, end, unit_name) = head  # fmt: skip
    versions = [_version(row, start=start, end=end, unit_id=unit_id, principal=principal) for row in found["versions"]]
    numbers = {v["number"] for v in versions}
    keys = ("id", "version", "decision", "comment", "status_after", "reviewer_id", "created_at")
    reviews = [dict(zip(keys, row, strict=True)) for row in found["reviews"] if row[1] in numbers]
    items = found.get("assignment_items", []) if assignment_id is not None else found.get("request_items", [])
    label, shown_items = places.label_and_items(items)
    reused = None
    if "reuse" in found:
        reuse_keys = ("evidence_id", "title", "version", "sha256", "campaign_id", "campaign_name", "unit_id",
                      "unit_name", "assignment_id", "item_id", "item_key", "material_request_id")  # fmt: skip
        reused = [dict(zip(reuse_keys, row, strict=True)) for row in found["reuse"]]
    return {
        "id": id_,
        "campaign_id": campaign_id,
        "unit_id": unit_id,
        "assignment_id": assignment_id,
        "material_request_id": material_request_id,
        "title": title,
        "status": status,
        "current_version": current_version,
        "created_at": created_at,
        "updated_at": updated_at,
        "current": next((v for v in versions if v["number"] == current_version), None),
        "unit_name": unit_name or "",
        "item_label": label,
        "items": shown_items,
        "versions": versions,
        "reviews": reviews,
        "reused_in": reused,
    }


def _version(
    row: Sequence[Any], *, start: date | None, end: date | None, unit_id: int, principal: Principal
) -> dict[str, Any]:
    """A version as evidence._version_public shows it to this reader."""
    v = SimpleNamespace(**dict(zip(_VERSION_KEYS, row, strict=True)))
    text_status = v.text_state or TextStatus.pending.value  # no row yet: the worker has not read it
    photo = dating.photo_of(v, unit_id=unit_id, principal=principal)  # type: ignore[arg-type]
    preview_failure = JobFailure.of(v.preview_error) if v.preview == PreviewState.failed else None
    text_failure = JobFailure.of(v.text_error) if text_status == TextStatus.failed else None
    return {
        "number": v.number,
        "kind": v.kind,
        "filename": v.filename,
        "download_name": download_name(v.filename, v.extension) if v.kind == EvidenceKind.file else None,
        "content_type": v.content_type,
        "size": v.size,
        "sha256": v.sha256,
        "page_count": v.page_count,
        "resubmitted_unchanged": v.resubmitted_unchanged,
        "text_status": text_status,
        "url": v.url,
        "text": v.text,
        "state": v.state,
        "created_by": v.created_by,
        "created_at": v.created_at,
        "withdrawn_at": v.withdrawn_at,
        "preview": v.preview,
        "preview_failure": preview_failure.model_dump() if preview_failure else None,
        "text_failure": text_failure.model_dump() if text_failure else None,
        "carried": v.origin_version_id is not None,  # 沿用
        "origin_version_id": v.origin_version_id,
        "origin_campaign_id": v.origin_campaign_id,
        "photo": photo.model_dump() if photo else None,
        "document_date": v.document_date,
        "period_start": v.period_start,
        "period_end": v.period_end,
        "suggested_document_date": v.suggested_date,
        "suggested_from": v.suggested_from,
        "outside_period": dating.outside_period(v, suggested=v.suggested_date, start=start, end=end),  # type: ignore[arg-type]
    }
