"""Evidence: where a submission goes, who may read or change it, versions and withdrawal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from app.models import (
    Assignment,
    Campaign,
    Evidence,
    EvidenceText,
    EvidenceVersion,
    MaterialRequest,
    MaterialRequestItem,
    Review,
)
from app.models.evidence import (
    EvidenceDetail,
    EvidenceKind,
    EvidencePublic,
    EvidenceStatus,
    JobFailure,
    PreviewState,
    ReviewDecision,
    ReviewPublic,
    TextStatus,
    VersionDatesUpdate,
    VersionPublic,
    VersionState,
)
from app.services import access
from app.services.access import Principal
from app.services.campaign import assignments, campaigns, places
from app.services.errors import Conflict, Invalid, NotFound
from app.services.media import dating
from app.services.platform import audit
from app.services.review import locks, reuse, reviews
from app.services.review.reviews import Action
from app.services.submission.filetypes import PREVIEWABLE, download_name

_DATE_FIELDS = ("document_date", "period_start", "period_end")


@dataclass(frozen=True)
class Where:
    """What a submission names: an assignment (optionally one of the material requests covering its
    item), or an existing piece of evidence for a new version."""

    assignment_id: int | None = None
    material_request_id: int | None = None
    evidence_id: int | None = None


@dataclass(frozen=True)
class Target:
    """Where a submission lands, once checked: the unit and campaign it belongs to."""

    campaign_id: int
    county_id: int
    unit_id: int
    assignment_id: int | None
    material_request_id: int | None
    evidence_id: int | None


@dataclass(frozen=True)
class Content:
    """What one version holds: a stored file, a web address or a statement."""

    kind: EvidenceKind
    object_key: str | None = None
    filename: str | None = None
    content_type: str | None = None
    extension: str | None = None
    size: int | None = None
    sha256: str | None = None
    page_count: int | None = None
    url: str | None = None
    text: str | None = None
    taken_at: datetime | None = None
    taken_latitude: float | None = None
    taken_longitude: float | None = None
    document_date: date | None = None
    period_start: date | None = None
    period_end: date | None = None

    def default_title(self) -> str:
        """A title when the unit gave none: the file name, the address, or the statement's start."""
        return (self.filename or self.url or (self.text or "").strip().splitlines()[0][:60] or "情况说明")[:200]


def readable(principal: Principal) -> tuple[Any, ...]:
    """The conditions on Evidence joined to its Campaign under which the caller may read it (every read of evidence,
    the detail's rows read on the driver too: evidence_rows)."""
    # looked up in access at each call: a rule replaced at run time (a test's monkeypatch) reaches both paths
    return access.campaign_scope(principal), access.unit_scope(principal, col(Evidence.unit_id))


def _visible(principal: Principal):  # noqa: ANN202 - a SQLModel select
    return select(Evidence).join(Campaign, col(Campaign.id) == Evidence.campaign_id).where(*readable(principal))


def get_visible(session: Session, *, evidence_id: int, principal: Principal) -> Evidence:
    """The evidence if the caller may read it; another unit's or county's is not found."""
    evidence = session.exec(_visible(principal).where(Evidence.id == evidence_id)).first()
    if evidence is None:
        raise NotFound("未找到该资料", code="evidence_not_found")
    return evidence


def get_version(session: Session, *, evidence_id: int, number: int, principal: Principal) -> EvidenceVersion:
    """One version of evidence the caller may read."""
    get_visible(session, evidence_id=evidence_id, principal=principal)
    version = session.exec(
        select(EvidenceVersion).where(EvidenceVersion.evidence_id == evidence_id, EvidenceVersion.number == number)
    ).first()
    if version is None:
        raise NotFound("未找到该资料版本", code="version_not_found")
    return version


def _material_for(session: Session, *, material_request_id: int, assignment: Assignment, campaign: Campaign) -> None:
    request = session.get(MaterialRequest, material_request_id)
    covers = session.exec(
        select(MaterialRequestItem).where(
            MaterialRequestItem.material_request_id == material_request_id,
            MaterialRequestItem.item_id == assignment.item_id,
        )
    ).first()
    if request is None or request.framework_id != campaign.framework_id or covers is None:
        raise Invalid("所选资料报送要求不涵盖该指标", code="material_not_for_item")


def resolve(session: Session, *, where: Where, principal: Principal, today: date) -> Target:
    """Check that the caller may submit to where now (role, unit, lock, state) and say where it lands."""
    if where.evidence_id is not None:
        evidence = get_visible(session, evidence_id=where.evidence_id, principal=principal)
        reviews.require_actor(principal, Action.submit)
        reviews.check(evidence.status, Action.submit)
        campaign = session.get(Campaign, evidence.campaign_id)
        assert campaign is not None
        locks.check_open(session, campaign=campaign, unit_id=evidence.unit_id, today=today)
        return Target(
            campaign_id=campaign.id,  # type: ignore[arg-type]
            county_id=campaign.county_id,
            unit_id=evidence.unit_id,
            assignment_id=evidence.assignment_id,
            material_request_id=evidence.material_request_id,
            evidence_id=evidence.id,
        )
    assert where.assignment_id is not None
    assignment = assignments.get_row(session, assignment_id=where.assignment_id, principal=principal)
    reviews.require_actor(principal, Action.submit)
    campaign = session.get(Campaign, assignment.campaign_id)
    assert campaign is not None
    if where.material_request_id is not None:
        _material_for(session, material_request_id=where.material_request_id, assignment=assignment, campaign=campaign)
    locks.check_open(session, campaign=campaign, unit_id=assignment.unit_id, today=today)
    material = where.material_request_id
    return Target(
        campaign_id=campaign.id,  # type: ignore[arg-type]
        county_id=campaign.county_id,
        unit_id=assignment.unit_id,
        assignment_id=None if material else assignment.id,
        material_request_id=material,
        evidence_id=None,
    )


def submit(
    session: Session, *, where: Where, content: Content, title: str | None, principal: Principal, today: date
) -> Evidence:
    """Record new evidence, or a new version of existing evidence, after checking where again."""
    target = resolve(session, where=where, principal=principal, today=today)
    now = datetime.now(UTC)
    if target.evidence_id is None:
        evidence = Evidence(
            campaign_id=target.campaign_id,
            unit_id=target.unit_id,
            assignment_id=target.assignment_id,
            material_request_id=target.material_request_id,
            title=(title or content.default_title())[:200],
            status=EvidenceStatus.submitted,
            current_version=1,
            created_by=principal.user_id,
        )
        session.add(evidence)
        session.flush()
        before = None
    else:
        # Row lock: two resubmissions at once must not both become version n+1.
        evidence = session.exec(select(Evidence).where(Evidence.id == target.evidence_id).with_for_update()).one()
        before = audit.snapshot(evidence, "status", "current_version")
        top = session.exec(
            select(func.max(EvidenceVersion.number)).where(EvidenceVersion.evidence_id == evidence.id)
        ).one()
        evidence.current_version = (top or 0) + 1
        evidence.status = reviews.check(evidence.status, Action.submit)  # type: ignore[assignment]
        evidence.updated_at = now
        if title:
            evidence.title = title[:200]
    version = EvidenceVersion(
        evidence_id=evidence.id,  # type: ignore[arg-type]
        number=evidence.current_version,
        created_by=principal.user_id,
        resubmitted_unchanged=before is not None and _same_as_returned(session, evidence.id, content),
        preview=PreviewState.pending
        if content.object_key is not None and content.extension in PREVIEWABLE
        else PreviewState.none,
        **content.__dict__,
    )
    session.add_all([evidence, version])
    session.flush()
    audit.record(
        session,
        principal=principal,
        action="evidence.submit",
        object_type="evidence",
        object_id=evidence.id,  # type: ignore[arg-type]
        county_id=target.county_id,
        campaign_id=target.campaign_id,
        before=before,
        after={
            **audit.snapshot(evidence, "status", "current_version", "title"),  # type: ignore[dict-item]
            "version": audit.snapshot(
                version, "number", "kind", "filename", "size", "sha256", "url", "object_key", "resubmitted_unchanged"
            ),
        },
    )
    reviews.refresh_for(session, evidence)
    return evidence


def _same_as_returned(session: Session, evidence_id: int | None, content: Content) -> bool:
    """Whether content equals (same SHA-256, address or statement) a version of this evidence that was returned."""
    returned = (
        select(EvidenceVersion.id)
        .join(Review, col(Review.version_id) == EvidenceVersion.id)
        .where(EvidenceVersion.evidence_id == evidence_id, Review.decision == ReviewDecision.return_)
    )
    if content.kind == EvidenceKind.file:
        same = returned.where(EvidenceVersion.sha256 == content.sha256)
    elif content.kind == EvidenceKind.url:
        same = returned.where(EvidenceVersion.kind == content.kind, EvidenceVersion.url == content.url)
    else:
        same = returned.where(EvidenceVersion.kind == content.kind, EvidenceVersion.text == content.text)
    return session.exec(same.limit(1)).first() is not None


def withdraw(session: Session, *, evidence_id: int, number: int, principal: Principal, today: date) -> Evidence:
    """Withdraw the current version while it waits for review or after the office returned it; it stays readable
    and in the audit trail."""
    evidence = get_visible(session, evidence_id=evidence_id, principal=principal)
    reviews.require_actor(principal, Action.withdraw)
    campaign = session.get(Campaign, evidence.campaign_id)
    assert campaign is not None
    locks.check_open(session, campaign=campaign, unit_id=evidence.unit_id, today=today)
    # The table allows withdrawing only while the evidence waits for review or was returned: never an approved
    # version (the office reopens it first).
    reviews.check(evidence.status, Action.withdraw)
    if number != evidence.current_version:
        raise Conflict("只能撤回当前最新版本", code="not_current_version")
    versions = session.exec(
        select(EvidenceVersion).where(EvidenceVersion.evidence_id == evidence_id).order_by(EvidenceVersion.number)
    ).all()
    # The current version is not always the newest: after the newest was withdrawn, the one below it is
    # current again, and withdrawing that must withdraw it (not touch the newest, already withdrawn, again).
    current = next(v for v in versions if v.number == number)
    before = audit.snapshot(evidence, "status", "current_version")
    current.state = VersionState.withdrawn
    current.withdrawn_at = datetime.now(UTC)
    below = [v for v in versions if v.number < number and v.state == VersionState.active]
    if below:
        evidence.current_version = below[-1].number
        evidence.status = _status_of(session, below[-1])
    else:
        evidence.status = EvidenceStatus.withdrawn
    evidence.updated_at = current.withdrawn_at
    session.add_all([current, evidence])
    session.flush()
    audit.record(
        session,
        principal=principal,
        action="evidence.withdraw",
        object_type="evidence",
        object_id=evidence_id,
        county_id=campaign.county_id,
        campaign_id=campaign.id,
        before=before,
        after={**audit.snapshot(evidence, "status", "current_version"), "withdrawn_version": number},  # type: ignore[dict-item]
    )
    reviews.refresh_for(session, evidence)
    return evidence


def set_dates(
    session: Session, *, evidence_id: int, number: int, data: VersionDatesUpdate, principal: Principal, today: date
) -> Evidence:
    """The unit enters, confirms or changes a version's document date and period (while it may change evidence)."""
    found = get_visible(session, evidence_id=evidence_id, principal=principal)
    reviews.require_actor(principal, Action.submit)
    campaign = session.get(Campaign, found.campaign_id)
    assert campaign is not None
    locks.check_open(session, campaign=campaign, unit_id=found.unit_id, today=today)
    version = get_version(session, evidence_id=evidence_id, number=number, principal=principal)
    if version.state != VersionState.active:
        raise Conflict("该版本已撤回，不能修改日期", code="version_withdrawn")
    before = audit.snapshot(version, *_DATE_FIELDS)
    version.document_date, version.period_start, version.period_end = (
        data.document_date,
        data.period_start,
        data.period_end,
    )
    session.add(version)
    session.flush()
    audit.record(
        session,
        principal=principal,
        action="evidence.dates",
        object_type="evidence",
        object_id=evidence_id,
        county_id=campaign.county_id,
        campaign_id=campaign.id,
        before={"version": number, **before},
        after={"version": number, **audit.snapshot(version, *_DATE_FIELDS)},
    )
    return found


def _status_of(session: Session, version: EvidenceVersion) -> EvidenceStatus:
    """The state a version was left in: its last review's outcome, or waiting if never reviewed."""
    last = session.exec(
        select(Review.status_after).where(Review.version_id == version.id).order_by(col(Review.id).desc())
    ).first()
    return EvidenceStatus(last) if last else EvidenceStatus.submitted


def _version_public(row: Any, principal: Principal | None) -> VersionPublic:
    """A version as its reader may see it, from a row of _with_text_status."""
    v, text_status, text_error, suggested, suggested_from, start, end, unit_id = row
    name = download_name(v.filename, v.extension) if v.kind == EvidenceKind.file else None
    status = TextStatus(text_status) if text_status else TextStatus.pending  # no row yet: the worker has not read it
    failures = {
        "preview_failure": JobFailure.of(v.preview_error) if v.preview == PreviewState.failed else None,
        "text_failure": JobFailure.of(text_error) if status == TextStatus.failed else None,
    }
    dates = {
        "suggested_document_date": suggested,
        "suggested_from": suggested_from,
        "outside_period": dating.outside_period(v, suggested=suggested, start=start, end=end),
        "photo": dating.photo_of(v, unit_id=unit_id, principal=principal),
    }
    carried = v.origin_version_id is not None  # 沿用
    return VersionPublic.model_validate(
        v, update={"download_name": name, "text_status": status, "carried": carried, **failures, **dates}
    )


def _with_text_status(*where: Any):  # noqa: ANN202 - a SQLModel select
    """Versions with how their words were read for search, the date suggested from their file and their
    campaign's assessment period (outer and inner joins: no extra statement)."""
    return (
        select(
            EvidenceVersion,
            EvidenceText.status,
            EvidenceText.error,
            EvidenceText.suggested_date,
            EvidenceText.suggested_from,
            Campaign.assessment_start,
            Campaign.assessment_end,
            Evidence.unit_id,
        )
        .outerjoin(EvidenceText, col(EvidenceText.version_id) == EvidenceVersion.id)
        .join(Evidence, col(Evidence.id) == EvidenceVersion.evidence_id)
        .join(Campaign, col(Campaign.id) == Evidence.campaign_id)
        .where(*where)
    )


_PLACE = {"unit_name", "item_label", "items"}


def _place(place: places.Place) -> dict[str, Any]:
    unit_name, item_label, items = place
    return {"unit_name": unit_name, "item_label": item_label, "items": items}


def public_list(session: Session, rows: list[Evidence], principal: Principal | None = None) -> list[EvidencePublic]:
    """Evidence with its current version, unit name and items, in five statements whatever the number of rows
    (a photo's EXIF only for a principal shown it)."""
    if not rows:
        return []
    where = places.of_evidence(session, rows)
    pairs = [and_(EvidenceVersion.evidence_id == e.id, EvidenceVersion.number == e.current_version) for e in rows]
    found = session.exec(_with_text_status(or_(*pairs))).all()
    current = {row[0].evidence_id: row for row in found}
    return [
        EvidencePublic.model_validate(
            e,
            update={
                "current": _version_public(current[e.id], principal) if e.id in current else None,
                **_place(where[e.id]),
            },
        )
        for e in rows
    ]


def detail(session: Session, evidence: Evidence, *, principal: Principal | None = None) -> EvidenceDetail:
    """Evidence with every version and every review, and (for those shown it) where its files were reused."""
    rows = session.exec(
        _with_text_status(EvidenceVersion.evidence_id == evidence.id).order_by(EvidenceVersion.number)
    ).all()
    versions = [row[0] for row in rows]
    number_of = {v.id: v.number for v in versions}
    decisions = session.exec(select(Review).where(Review.evidence_id == evidence.id).order_by(Review.id)).all()
    shown = [_version_public(row, principal) for row in rows]
    current = next((p for p in shown if p.number == evidence.current_version), None)  # as public_list finds it
    return EvidenceDetail(
        **EvidencePublic.model_validate(evidence, update={"current": None}).model_dump(exclude=_PLACE | {"current"}),
        **_place(places.of_evidence(session, [evidence])[evidence.id]),  # type: ignore[index]
        current=current,
        versions=shown,
        # a review of a version committed after the versions were read (each statement sees the commits before
        # it) waits for the next read, with its version
        reviews=[
            ReviewPublic.model_validate(r, update={"version": number_of[r.version_id]})
            for r in decisions
            if r.version_id in number_of
        ],
        reused_in=reuse.reused_in(session, evidence=evidence, versions=list(versions), principal=principal),
    )


def get_detail(session: Session, *, evidence_id: int, principal: Principal) -> EvidenceDetail:
    """Evidence the caller may read, with every version and review."""
    return detail(session, get_visible(session, evidence_id=evidence_id, principal=principal), principal=principal)


def list_for_assignment(session: Session, *, assignment_id: int, principal: Principal) -> list[EvidencePublic]:
    """Every piece of evidence that counts for the assignment, its own and its material requests'."""
    assignment = assignments.get_row(session, assignment_id=assignment_id, principal=principal)
    covering = select(MaterialRequestItem.material_request_id).where(MaterialRequestItem.item_id == assignment.item_id)
    rows = session.exec(
        select(Evidence)
        .where(
            or_(
                Evidence.assignment_id == assignment.id,
                and_(
                    Evidence.campaign_id == assignment.campaign_id,
                    Evidence.unit_id == assignment.unit_id,
                    col(Evidence.material_request_id).in_(covering),
                ),
            )
        )
        .order_by(Evidence.id)
    ).all()
    return public_list(session, list(rows), principal)


def list_for_campaign(
    session: Session,
    *,
    campaign_id: int,
    principal: Principal,
    status: EvidenceStatus | None,
    unit_id: int | None,
    limit: int,
    offset: int,
) -> tuple[list[EvidencePublic], int]:
    """A page of a campaign's evidence (the office's review queue when status=submitted)."""
    campaigns.get_visible(session, campaign_id=campaign_id, principal=principal)
    query = _visible(principal).where(Evidence.campaign_id == campaign_id)
    if status is not None:
        query = query.where(Evidence.status == status)
    if unit_id is not None:
        query = query.where(Evidence.unit_id == unit_id)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(Evidence.updated_at, Evidence.id).limit(limit).offset(offset)).all()
    return public_list(session, list(rows), principal), total
