"""The date a version speaks for (成文日期/发生日期), its place against the campaign's assessment period, and who
is shown a photo's capture time and place.

The worker suggests a date from the file (search.dates); the unit enters one at upload or confirms or changes it
later (submission.evidence.set_dates). Evidence outside the assessment period is flagged to the readers, never
refused: a summary written in January may rightly speak for the year before, and an evaluator judges that."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from app.models import Campaign, Evidence, EvidenceText, EvidenceVersion
from app.models.evidence import PhotoPublic
from app.models.user import Role
from app.services.access import Principal

_READERS = (Role.office, Role.evaluator)  # besides the unit that sent the photo


def outside_period(
    version: EvidenceVersion, *, suggested: date | None, start: date | None, end: date | None
) -> bool | None:
    """Whether the version's period, else its document date (else the suggested one), falls outside [start, end];
    None while the campaign has no assessment period or the version no date."""
    if start is None or end is None:
        return None
    if version.period_start is not None and version.period_end is not None:
        return version.period_end < start or version.period_start > end
    when = version.document_date or suggested
    return None if when is None else not start <= when <= end


def shows_photo(principal: Principal | None, unit_id: int) -> bool:
    """Whether the caller is shown where and when a unit's photo was taken: the office, the evaluators and the
    unit itself. A position can say where a person lives or works: no one else needs it."""
    if principal is None:
        return False
    if principal.role == Role.liaison:
        return principal.unit_id == unit_id
    return principal.role in _READERS


def photo_of(version: EvidenceVersion, *, unit_id: int, principal: Principal | None) -> PhotoPublic | None:
    """The version's EXIF facts (unit_id: the unit that sent it) for a caller shown them; None otherwise or when
    the file had none."""
    if version.taken_at is None and version.taken_latitude is None:
        return None
    if not shows_photo(principal, unit_id):
        return None
    return PhotoPublic(taken_at=version.taken_at, latitude=version.taken_latitude, longitude=version.taken_longitude)


def outside_evidence(session: Session, *, campaign: Campaign) -> set[int]:
    """The campaign's evidence whose current version falls outside its assessment period (one statement; none
    while the campaign has no period)."""
    start, end = campaign.assessment_start, campaign.assessment_end
    if start is None or end is None:
        return set()
    rows = session.exec(
        select(Evidence.id, EvidenceVersion, EvidenceText.suggested_date)
        .join(
            EvidenceVersion,
            (col(EvidenceVersion.evidence_id) == Evidence.id)
            & (col(EvidenceVersion.number) == Evidence.current_version),
        )
        .outerjoin(EvidenceText, col(EvidenceText.version_id) == EvidenceVersion.id)
        .where(Evidence.campaign_id == campaign.id)
    ).all()
    return {
        evidence_id  # type: ignore[misc]
        for evidence_id, version, suggested in rows
        if outside_period(version, suggested=suggested, start=start, end=end)
    }
