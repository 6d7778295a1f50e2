"""The scoring configuration in force for a campaign, its checks against the framework, and changes."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError
from sqlmodel import Session, col, select

from app.models import Campaign, Framework, FrameworkSection, Heading, Item, ScoringRound
from app.models.framework import SectionKind
from app.models.scoring_config import ScoringConfig, ScoringConfigPublic
from app.services.access import Principal
from app.services.campaign import campaigns
from app.services.errors import Conflict, Invalid, invalid_from
from app.services.indicators.document import scoring_problems
from app.services.platform import audit, concurrency


@dataclass(frozen=True)
class Scheme:
    """A campaign's configuration with the framework facts scoring needs."""

    config: ScoringConfig
    source: str
    item_kinds: dict[int, SectionKind]  # item id → the kind of its section

    def max_of(self, item: Item) -> float:
        """An item's maximum points (bonus items default to bonus_max)."""
        override = self.config.items.get(item.key)
        if override and override.max is not None:
            return override.max
        return self.config.bonus_max if self.item_kinds[item.id] == SectionKind.bonus else self.config.default_max  # type: ignore[index]

    def weight_of(self, item: Item) -> float:
        """An item's weight in its subtotals."""
        override = self.config.items.get(item.key)
        return override.weight if override else 1.0


def in_force(campaign: Campaign, framework: Framework | None) -> tuple[ScoringConfig, str]:
    """The configuration in force: the campaign's own, else its framework's default, else the built-in one."""
    if campaign.scoring is not None:
        return ScoringConfig.model_validate(campaign.scoring), "campaign"
    if framework is not None and framework.scoring is not None:
        return ScoringConfig.model_validate(framework.scoring), "framework"
    return ScoringConfig(), "default"


def effective(session: Session, *, campaign: Campaign) -> tuple[ScoringConfig, str]:
    """The configuration in force for campaign (its framework read only when the campaign has none)."""
    framework = session.get(Framework, campaign.framework_id) if campaign.scoring is None else None
    return in_force(campaign, framework)


def _items(session: Session, framework_id: int) -> list[tuple[int, str, SectionKind]]:
    """(id, key, section kind) of every item of a framework."""
    rows = session.exec(
        select(Item.id, Item.key, FrameworkSection.kind)
        .join(FrameworkSection, col(FrameworkSection.id) == Item.section_id)
        .where(Item.framework_id == framework_id)
    ).all()
    return [(i, key, SectionKind(kind)) for i, key, kind in rows]


def scheme(session: Session, *, campaign: Campaign, item_kinds: dict[int, SectionKind] | None = None) -> Scheme:
    """The configuration in force with the kind of every item (pass item_kinds when already loaded)."""
    config, source = effective(session, campaign=campaign)
    if item_kinds is None:
        item_kinds = {i: kind for i, _, kind in _items(session, campaign.framework_id)}
    return Scheme(config=config, source=source, item_kinds=item_kinds)


def read(session: Session, *, campaign_id: int, principal: Principal) -> ScoringConfigPublic:
    """The configuration in force for a campaign the caller may see."""
    campaign = campaigns.get_visible(session, campaign_id=campaign_id, principal=principal)
    config, source = effective(session, campaign=campaign)
    return ScoringConfigPublic(source=source, config=config)


def etag_of(found: ScoringConfigPublic) -> str:
    """The ETag of the configuration in force."""
    return concurrency.etag(found.model_dump(mode="json"))


def replace(
    session: Session, *, campaign_id: int, raw: dict, principal: Principal, if_match: str | None = None
) -> ScoringConfigPublic:
    """Set the campaign's own configuration (office), checked against its framework; not after a release;
    with if_match, only if the configuration is still the one the caller read (412 otherwise)."""
    campaigns.get_managed(session, campaign_id=campaign_id, principal=principal)
    campaign = session.exec(
        select(Campaign).where(Campaign.id == campaign_id).with_for_update().execution_options(populate_existing=True)
    ).one()
    concurrency.check(if_match, etag_of(read(session, campaign_id=campaign_id, principal=principal)))
    try:
        config = ScoringConfig.model_validate(raw)
    except ValidationError as exc:
        raise invalid_from(exc, "评分配置格式不正确", code="scoring_invalid", in_body=True) from exc
    released = session.exec(
        select(ScoringRound.id).where(
            ScoringRound.campaign_id == campaign_id, col(ScoringRound.released_at).is_not(None)
        )
    ).first()
    if released is not None:
        raise Conflict("已有评分轮次发布，不能再修改评分配置", code="scoring_locked")
    titles = session.exec(
        select(Heading.title).where(Heading.framework_id == campaign.framework_id, Heading.level == 1)
    ).all()
    sections = session.exec(select(FrameworkSection.name).where(FrameworkSection.framework_id == campaign.framework_id))
    errors = scoring_problems(
        config,
        item_kinds={key: kind for _, key, kind in _items(session, campaign.framework_id)},
        level1_titles={*titles, *sections.all()},
        at=(),
    )
    if errors:
        raise Invalid("评分配置与指标体系不符，未作修改", code="scoring_invalid", errors=errors, in_body=True)
    before = {"scoring": campaign.scoring}
    campaign.scoring = config.model_dump(mode="json")
    session.add(campaign)
    session.flush()
    audit.record(
        session,
        principal=principal,
        action="campaign.scoring",
        object_type="campaign",
        object_id=campaign_id,
        county_id=campaign.county_id,
        campaign_id=campaign_id,
        before=before,
        after={"scoring": campaign.scoring},
    )
    return ScoringConfigPublic(source="campaign", config=config)
