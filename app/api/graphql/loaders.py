"""DataLoaders, new for every request: each turns the loads of one resolver level into one service call,
so a region overview costs the same number of statements for one county or fifty."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from strawberry.dataloader import DataLoader

from app.api.graphql.types._base import from_obj
from app.api.graphql.types.assignments import AssignmentType
from app.api.graphql.types.campaigns import CampaignType
from app.api.graphql.types.frameworks import FrameworkType
from app.api.graphql.types.regions import RegionType
from app.api.graphql.types.scoring import ScoreSummaryType
from app.models.evidence import EvidenceDetail
from app.models.progress import ProgressRow
from app.models.supervision import Light
from app.services.accounts import regions
from app.services.assessment import score_report
from app.services.campaign import assignments, campaigns, progress
from app.services.errors import DomainError
from app.services.indicators import frameworks
from app.services.submission import evidence
from app.services.supervision import counts

if TYPE_CHECKING:
    from app.api.graphql.context import Context


class Loaders:
    """The request's loaders; keys are ids (the score summary's: (campaign id, source))."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.region = DataLoader(load_fn=self._regions)
        self.framework = DataLoader(load_fn=self._frameworks)
        self.campaigns_by_county = DataLoader(load_fn=self._campaigns_by_county)
        self.progress = DataLoader(load_fn=self._progress)
        self.lights = DataLoader(load_fn=self._lights)
        self.score = DataLoader(load_fn=self._scores)
        self.assignments_by_item = DataLoader(load_fn=self._assignments_by_item)
        self.evidence_detail = DataLoader(load_fn=self._evidence_detail)

    async def _regions(self, ids: list[int]) -> list[RegionType | None]:
        found = await self.ctx.fetch(regions.by_ids, region_ids=ids)
        return [from_obj(RegionType, found[i]) if i in found else None for i in ids]

    async def _frameworks(self, ids: list[int]) -> list[FrameworkType | None]:
        found = await self.ctx.fetch(frameworks.public_by_ids, framework_ids=ids)
        return [FrameworkType.of(found[i]) if i in found else None for i in ids]

    async def _campaigns_by_county(self, county_ids: list[int]) -> list[list[CampaignType]]:
        def run(session: Any, **kw: Any) -> list[Any]:
            return campaigns.public_list(session, campaigns.list_visible(session, **kw))

        rows = await self.ctx.call(run, county_ids=county_ids)
        by_county: dict[int, list[CampaignType]] = defaultdict(list)
        for c in rows:
            by_county[c.county_id].append(CampaignType.of(c))
        return [by_county[c] for c in county_ids]

    async def _progress(self, campaign_ids: list[int]) -> list[ProgressRow | None]:
        found = await self.ctx.call(progress.by_campaign, campaign_ids=campaign_ids, today=self.ctx.today)
        return [found.get(c) for c in campaign_ids]

    async def _lights(self, campaign_ids: list[int]) -> list[dict[Light, int] | None]:
        found = await self.ctx.call(counts.by_campaign, campaign_ids=campaign_ids, today=self.ctx.today)
        return [found.get(c) for c in campaign_ids]

    async def _scores(self, keys: list[tuple[int, str]]) -> list[ScoreSummaryType | None | DomainError]:
        by_source: dict[str, list[int]] = defaultdict(list)
        for campaign_id, source in keys:
            by_source[source].append(campaign_id)
        found: dict[tuple[int, str], ScoreSummaryType | DomainError] = {}
        for source, ids in by_source.items():
            try:
                reports = await self.ctx.call(score_report.latest_summaries, campaign_ids=ids, source=source)
            except DomainError as exc:  # e.g. a liaison: the same refusal REST gives, on each field
                found.update({(c, source): exc for c in ids})
                continue
            found.update({(c, source): ScoreSummaryType.of(r) for c, r in reports.items()})
        return [found.get(k) for k in keys]

    async def _assignments_by_item(self, keys: list[tuple[int, int]]) -> list[list[AssignmentType]]:
        found = await self.ctx.call(assignments.for_items, keys=keys, today=self.ctx.today)
        return [[from_obj(AssignmentType, a) for a in found[k]] for k in keys]

    async def _evidence_detail(self, ids: list[int]) -> list[EvidenceDetail | DomainError]:
        out: list[EvidenceDetail | DomainError] = []
        for i in ids:  # one piece at a time: details are read for one evidence page, not a region
            try:
                out.append(await self.ctx.call(evidence.get_detail, evidence_id=i))
            except DomainError as exc:
                out.append(exc)
        return out
