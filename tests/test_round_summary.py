"""The office's figures stored when a round is released (ScoringRound.summary) against a full rollup of the
scores, and the region overview that reads them against the overview that rolls the scores up."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.db import get_engine
from app.models import Campaign, Item, ScoringRound
from app.services.assessment import score_report
from tests.graphql_kit import OVERVIEW, add_province, add_scored_county, gql

API = "/api/v1"
LEVEL2 = """
query Level2($first: Int) {
  counties(first: $first) { edges { node { name campaigns { score { level2 { key title points max } } } } } }
}
"""


def _scores(body: dict) -> dict[str, dict]:
    assert "errors" not in body, body
    return {e["node"]["name"]: e["node"]["campaigns"][0]["score"] for e in body["data"]["counties"]["edges"]}


def test_release_stores_the_figures_a_full_rollup_gives(client, world, session) -> None:
    framework_id = session.exec(select(Campaign.framework_id).where(Campaign.id == world.ids["lc_campaign"])).one()
    _, city_id, username = add_province(session, "汇总省")
    for n in range(3):
        add_scored_county(
            session, city_id=city_id, name=f"汇总县{n}", framework_id=framework_id, unit_names=["县司法局"]
        )
    campaign_id = add_scored_county(
        session, city_id=city_id, name="汇总县3", framework_id=framework_id, unit_names=["县公安局"]
    )
    session.commit()
    token = client.post(f"{API}/auth/token", data={"username": username, "password": "shifan-demo"}).json()
    province, admin = {"Authorization": f"Bearer {token['access_token']}"}, world.auth("sysadmin")

    # A second round through HTTP: scored, checked unreleased, released.
    r = client.post(f"{API}/campaigns/{campaign_id}/rounds", json={"name": "复审"}, headers=admin)
    assert r.status_code == 201, r.text
    round_id = r.json()["id"]
    items = session.exec(
        select(Item.id).where(Item.framework_id == framework_id, col(Item.key).startswith("indicator-"))
    ).all()
    batch = {
        "scores": [{"item_id": i, "points": 0.5} for i in items[:7]] + [{"item_id": items[7], "not_applicable": True}]
    }
    assert client.post(f"{API}/rounds/{round_id}/scores", json=batch, headers=admin).status_code == 201
    with Session(get_engine()) as s:
        assert s.get(ScoringRound, round_id).summary is None  # type: ignore[union-attr]
    assert client.post(f"{API}/rounds/{round_id}/release", headers=admin).status_code == 200

    with Session(get_engine()) as s:
        released = s.exec(select(ScoringRound).where(col(ScoringRound.released_at).is_not(None))).all()
        assert released and all(r.summary is not None for r in released)
        for r in released:  # the stored figures are a full rollup of the scores as they stand
            assert r.summary == score_report.frozen_summary(s, row=r), r.id
    stored = _scores(gql(client, province, OVERVIEW, {"first": 50}))
    assert stored["汇总县3"]["roundId"] == round_id
    report = client.get(f"{API}/rounds/{round_id}/report", headers=province).json()
    assert stored["汇总县3"]["total"] == report["total"] and stored["汇总县3"]["percent"] == report["percent"]
    level2 = gql(client, province, LEVEL2, {"first": 10})
    assert "errors" not in level2, level2
    by_county = {e["node"]["name"]: e["node"]["campaigns"][0]["score"] for e in level2["data"]["counties"]["edges"]}
    expected = [{k: s[k] for k in ("key", "title", "points", "max")} for s in report["level2"]]
    assert expected and by_county["汇总县3"]["level2"] == expected

    # A round released before the summary existed is rolled up when read: the same figures.
    with Session(get_engine()) as s:
        s.execute(
            sa.update(ScoringRound)
            .where(col(ScoringRound.campaign_id).in_(_campaigns(s, city_id)))
            .values(summary=None)
        )
        s.commit()
    assert _scores(gql(client, province, OVERVIEW, {"first": 50})) == stored
    with Session(get_engine()) as s:
        for r in s.exec(select(ScoringRound).where(col(ScoringRound.campaign_id).in_(_campaigns(s, city_id)))).all():
            r.summary = score_report.frozen_summary(s, row=r)
            s.add(r)
        s.commit()


def _campaigns(s: Session, city_id: int) -> list[int]:
    from app.models import Region

    counties = select(Region.id).where(Region.parent_id == city_id)
    return list(s.exec(select(Campaign.id).where(col(Campaign.county_id).in_(counties))).all())
