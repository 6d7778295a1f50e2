"""Evidence: web addresses and statements, lists, search, detail, withdrawal and the office's reviews."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app.api.deps import CurrentPrincipal, PageDep, ReadDep, SessionDep, Today
from app.api.location import CREATED, created_at
from app.models.common import Page
from app.models.evidence import (
    EvidenceCreate,
    EvidenceDetail,
    EvidencePublic,
    EvidenceStatus,
    LinkOrStatement,
    ReusedFile,
    ReviewCreate,
    VersionDates,
    VersionDatesUpdate,
)
from app.models.search import SearchHit
from app.services.review import reuse, reviews
from app.services.search import query as search
from app.services.submission import evidence, evidence_rows
from app.services.submission.evidence import Content, Where

router = APIRouter(tags=["evidence"])


def _content(data: LinkOrStatement, dates: VersionDates | None = None) -> Content:
    url, text = str(data.url) if data.url else None, (data.text or "").strip() or None
    return Content(kind=data.kind, url=url, text=text, **(dates or VersionDates()).model_dump())


@router.post(
    "/assignments/{assignment_id}/evidence",
    response_model=EvidenceDetail,
    status_code=status.HTTP_201_CREATED,
    responses=CREATED,
)
def submit_link_or_statement(
    assignment_id: int,
    data: EvidenceCreate,
    session: SessionDep,
    who: CurrentPrincipal,
    today: Today,
    request: Request,
    response: Response,
) -> EvidenceDetail:
    """Submit a web address or a written statement for the assignment (or a material request covering it)."""
    where = Where(assignment_id=assignment_id, material_request_id=data.material_request_id)
    content = _content(data, VersionDates.model_validate(data, from_attributes=True))
    row = evidence.submit(session, where=where, content=content, title=data.title, principal=who, today=today)
    created_at(request, response, "read_evidence", evidence_id=row.id)
    return evidence.detail(session, row, principal=who)


@router.get("/assignments/{assignment_id}/evidence", response_model=Page[EvidencePublic])
def list_assignment_evidence(
    assignment_id: int, session: SessionDep, who: CurrentPrincipal, page: PageDep
) -> Page[EvidencePublic]:
    """Every piece of evidence that counts for the assignment, including its material requests'."""
    return page.of_all(evidence.list_for_assignment(session, assignment_id=assignment_id, principal=who))


@router.get("/campaigns/{campaign_id}/evidence", response_model=Page[EvidencePublic])
def list_campaign_evidence(
    campaign_id: int,
    session: SessionDep,
    who: CurrentPrincipal,
    page: PageDep,
    status: EvidenceStatus | None = None,
    unit_id: int | None = None,
) -> Page[EvidencePublic]:
    """A campaign's evidence, oldest change first (status=submitted is the office's review queue)."""
    items, total = evidence.list_for_campaign(
        session,
        campaign_id=campaign_id,
        principal=who,
        status=status,
        unit_id=unit_id,
        limit=page.limit,
        offset=page.offset,
    )
    return page.of(items, total)


@router.get("/campaigns/{campaign_id}/evidence/reused", response_model=Page[ReusedFile])
def list_reused_evidence(
    campaign_id: int, session: SessionDep, who: CurrentPrincipal, page: PageDep
) -> Page[ReusedFile]:
    """The campaign's files handed in as more than one piece of evidence in the county (other units, items or
    campaigns): for the office, evaluators and the province; never blocked."""
    return page.of_all(reuse.reused_in_campaign(session, campaign_id=campaign_id, principal=who))


@router.get("/campaigns/{campaign_id}/evidence/search", response_model=Page[SearchHit])
def search_evidence(
    campaign_id: int,
    q: Annotated[str, Query(max_length=100, description="检索词（按中文分词，须全部出现），如“行政复议”")],
    session: SessionDep,
    who: CurrentPrincipal,
    page: PageDep,
) -> Page[SearchHit]:
    """The campaign's evidence whose title, statement, address or file text holds every word of q, newest first."""
    hits, total = search.search(
        session, campaign_id=campaign_id, q=q, principal=who, limit=page.limit, offset=page.offset
    )
    return page.of(hits, total)


@router.get("/evidence/{evidence_id}", response_model=EvidenceDetail)
async def read_evidence(evidence_id: int, read: ReadDep) -> Response:
    """One piece of evidence with every version and review."""
    # EvidenceDetail's fields as plain data, read on the driver (evidence_rows; GraphQL keeps evidence.get_detail)
    return await read(lambda session, who: evidence_rows.detail(session, evidence_id=evidence_id, principal=who))


@router.post("/evidence/{evidence_id}/versions", response_model=EvidenceDetail, status_code=status.HTTP_201_CREATED)
def resubmit_link_or_statement(
    evidence_id: int, data: LinkOrStatement, session: SessionDep, who: CurrentPrincipal, today: Today
) -> EvidenceDetail:
    """A new version as a web address or statement (after 退回补充, or to correct an unreviewed one)."""
    row = evidence.submit(
        session, where=Where(evidence_id=evidence_id), content=_content(data), title=None, principal=who, today=today
    )
    return evidence.detail(session, row, principal=who)


@router.patch("/evidence/{evidence_id}/versions/{number}", response_model=EvidenceDetail)
def set_version_dates(
    evidence_id: int, number: int, data: VersionDatesUpdate, session: SessionDep, who: CurrentPrincipal, today: Today
) -> EvidenceDetail:
    """Enter, confirm (e.g. the suggested_document_date) or change a version's document date and period."""
    row = evidence.set_dates(session, evidence_id=evidence_id, number=number, data=data, principal=who, today=today)
    return evidence.detail(session, row, principal=who)


@router.post("/evidence/{evidence_id}/versions/{number}/withdraw", response_model=EvidenceDetail)
def withdraw_version(
    evidence_id: int, number: int, session: SessionDep, who: CurrentPrincipal, today: Today
) -> EvidenceDetail:
    """Withdraw the current version while it waits for review or after it was returned; it stays on record."""
    row = evidence.withdraw(session, evidence_id=evidence_id, number=number, principal=who, today=today)
    return evidence.detail(session, row, principal=who)


@router.post("/evidence/{evidence_id}/reviews", response_model=EvidenceDetail, status_code=status.HTTP_201_CREATED)
def review_evidence(evidence_id: int, data: ReviewCreate, session: SessionDep, who: CurrentPrincipal) -> EvidenceDetail:
    """The office approves, returns (退回补充, comment required) or reopens the named current version."""
    row = reviews.review(session, evidence_id=evidence_id, data=data, principal=who)
    return evidence.detail(session, row, principal=who)
