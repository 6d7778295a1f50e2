"""Scoring: the configuration, rounds, blind scores, release, and the score report (JSON and .xlsx)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response, status
from pydantic import WithJsonSchema

from app.api.deps import STALE, CurrentPrincipal, IfMatch, PageDep, SessionDep
from app.api.openapi import ETAG, binary
from app.models.common import Page
from app.models.score_report import ScoreReport
from app.models.scoring import RoundCreate, RoundPublic, ScoreBatch, ScorePublic
from app.models.scoring_config import ScoringConfig, ScoringConfigPublic
from app.services.assessment import release, score_report, score_sheet, scoring, scoring_config
from app.services.documents import sheets
from app.services.submission.filetypes import content_disposition

# Read as plain JSON so the service can explain a wrong configuration in its own words (scoring_invalid),
# described as the ScoringConfig it must be.
ScoringConfigBody = Annotated[
    dict[str, Any],
    WithJsonSchema({"$ref": "#/components/schemas/ScoringConfig"}),
    Body(openapi_examples={"default": {"value": ScoringConfig().model_dump()}}),
]
router = APIRouter(tags=["scoring"])

XLSX = sheets.MEDIA_TYPE
SourceQuery = Annotated[
    str | None,
    Query(
        description="office（县级初审）、evaluators（第三方平均）或 evaluator:<用户ID>；"
        "不填时第三方评估机构看本机构的评分，其他角色看县级初审",
        max_length=40,
    ),
]


@router.get("/campaigns/{campaign_id}/scoring", response_model=ScoringConfigPublic, responses=ETAG)
def read_scoring(
    campaign_id: int, session: SessionDep, who: CurrentPrincipal, response: Response
) -> ScoringConfigPublic:
    """The scoring configuration in force (campaign's own, the framework's default, or built-in), with its ETag."""
    found = scoring_config.read(session, campaign_id=campaign_id, principal=who)
    response.headers["ETag"] = scoring_config.etag_of(found)
    return found


@router.put(
    "/campaigns/{campaign_id}/scoring",
    response_model=ScoringConfigPublic,
    responses=STALE | ETAG,
)
def replace_scoring(
    campaign_id: int,
    session: SessionDep,
    who: CurrentPrincipal,
    data: ScoringConfigBody,
    response: Response,
    if_match: IfMatch = None,
) -> ScoringConfigPublic:
    """Set the campaign's scoring configuration (office), checked against its framework; locked after a release.
    With If-Match, a configuration changed since it was read is refused with 412."""
    found = scoring_config.replace(session, campaign_id=campaign_id, raw=data, principal=who, if_match=if_match)
    response.headers["ETag"] = scoring_config.etag_of(found)
    return found


@router.get("/campaigns/{campaign_id}/rounds", response_model=Page[RoundPublic])
def list_rounds(campaign_id: int, session: SessionDep, who: CurrentPrincipal, page: PageDep) -> Page[Any]:
    """The campaign's scoring rounds."""
    return page.of_all(scoring.list_rounds(session, campaign_id=campaign_id, principal=who))


@router.post("/campaigns/{campaign_id}/rounds", response_model=RoundPublic, status_code=status.HTTP_201_CREATED)
def create_round(campaign_id: int, data: RoundCreate, session: SessionDep, who: CurrentPrincipal) -> Any:
    """Open the next scoring round (office)."""
    return scoring.create_round(session, campaign_id=campaign_id, data=data, principal=who)


@router.post("/rounds/{round_id}/release", response_model=RoundPublic)
def release_round(round_id: int, session: SessionDep, who: CurrentPrincipal) -> Any:
    """Release the round's scores to every reader and freeze them (office)."""
    return release.release(session, round_id=round_id, principal=who)


@router.post("/rounds/{round_id}/scores", response_model=list[ScorePublic], status_code=status.HTTP_201_CREATED)
def record_scores(round_id: int, data: ScoreBatch, session: SessionDep, who: CurrentPrincipal) -> list[ScorePublic]:
    """Record the caller's scores (office: 县级初审; evaluator: its own), all or nothing; corrections append."""
    return scoring.record(session, round_id=round_id, batch=data, principal=who)


@router.get("/rounds/{round_id}/scores", response_model=Page[ScorePublic])
def list_scores(
    round_id: int,
    session: SessionDep,
    who: CurrentPrincipal,
    page: PageDep,
    item_id: int | None = None,
    scorer: Annotated[str | None, Query(max_length=40)] = None,
    history: bool = False,
) -> Page[ScorePublic]:
    """Scores the caller may read (before release: the office all, an evaluator its own)."""
    return page.of_all(
        scoring.list_scores(
            session, round_id=round_id, principal=who, item_id=item_id, scorer_key=scorer, history=history
        )
    )


@router.get("/rounds/{round_id}/report", response_model=ScoreReport)
def read_report(round_id: int, session: SessionDep, who: CurrentPrincipal, source: SourceQuery = None) -> Any:
    """Total, level-1/level-2 subtotals, bonus, veto, quantified results and per-unit points of a round."""
    return score_report.build(session, round_id=round_id, principal=who, source=source)


@router.get(
    "/rounds/{round_id}/report.xlsx",
    response_class=Response,
    responses=binary(XLSX, "评分表（.xlsx）"),
)
def download_score_sheet(
    round_id: int, session: SessionDep, who: CurrentPrincipal, source: SourceQuery = None
) -> Response:
    """The score sheet (评分表) as .xlsx: items with subtotals, bonus, veto, total, and a sheet per unit."""
    report = score_report.build(session, round_id=round_id, principal=who, source=source)
    name = f"{report.county_name}评分表-{report.round_name}.xlsx"
    return Response(
        score_sheet.render(report), media_type=XLSX, headers={"Content-Disposition": content_disposition(name)}
    )
