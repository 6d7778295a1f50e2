"""GraphQL through HTTP with real tokens: the region overview and its scope per role, the same totals
as the REST score report, a statement count that does not grow with counties, the limits, masked
errors, pagination, the change feed and GraphiQL served without a CDN."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from app.api.graphql.limits import MAX_DEPTH
from tests.conftest import pin_today
from tests.evidence_kit import PICKER
from tests.graphql_kit import OVERVIEW, codes, gql

API = "/api/v1"
STATIC = Path(__file__).resolve().parents[1] / "app" / "static" / "graphiql"


def _counties(body: dict) -> dict[str, dict]:
    return {e["node"]["name"]: e["node"] for e in body["data"]["counties"]["edges"]}


def _released_round(client, world, campaign_id: int, who: str = "lc-office") -> dict | None:
    rounds = client.get(f"{API}/campaigns/{campaign_id}/rounds", headers=world.auth(who)).json()["items"]
    released = [r for r in rounds if r["released_at"]]
    return max(released, key=lambda r: r["number"]) if released else None


def _score_and_release(client, world, campaign_key: str, office: str) -> dict:
    """A released office round scoring every standard item of the campaign 1 point, a bonus and no veto."""
    campaign_id = world.ids[campaign_key]
    campaign = client.get(f"{API}/campaigns/{campaign_id}", headers=world.auth(office)).json()
    items = client.get(
        f"{API}/frameworks/{campaign['framework_id']}/items", params={"limit": 500}, headers=world.auth(office)
    ).json()["items"]
    r = client.post(f"{API}/campaigns/{campaign_id}/rounds", json={"name": "GraphQL 对照"}, headers=world.auth(office))
    assert r.status_code == 201, r.text
    round_id = r.json()["id"]
    scores = []
    for it in items:
        if it["section"] == "veto":
            scores.append({"item_id": it["id"], "vetoed": False})
        elif it["section"] == "bonus":
            scores.append({"item_id": it["id"], "points": 1.0 if it["number"] == 1 else 0.0})
        else:
            scores.append({"item_id": it["id"], "points": 0.5 if it["number"] % 3 == 0 else 1.0})
    r = client.post(f"{API}/rounds/{round_id}/scores", json={"scores": scores}, headers=world.auth(office))
    assert r.status_code == 201, r.text
    assert client.post(f"{API}/rounds/{round_id}/release", headers=world.auth(office)).status_code == 200
    return client.get(f"{API}/rounds/{round_id}/report", headers=world.auth(office)).json()


def test_province_overview_has_every_county_of_its_region_with_rest_totals(client, world) -> None:
    report = _score_and_release(client, world, "lc_campaign", "lc-office")
    body = gql(client, world.auth("sx-province"), OVERVIEW, {"first": 50})
    assert "errors" not in body, body
    counties = _counties(body)
    # every county of 山西 that has a campaign the province can see over REST, and only 山西's counties
    rest = client.get(f"{API}/campaigns", headers=world.auth("sx-province")).json()["items"]
    assert {c["county_id"] for c in rest} <= {n["id"] for n in counties.values()}
    regions = client.get(f"{API}/regions", params={"limit": 500}, headers=world.auth("sx-province")).json()["items"]
    assert {n["id"] for n in counties.values()} == {r["id"] for r in regions if r["level"] == "county"}
    assert {"陵川县", "阳城县", "高平市"} <= set(counties)
    assert body["data"]["counties"]["totalCount"] == len(counties)
    lingchuan = counties["陵川县"]["campaigns"][0]
    latest = _released_round(client, world, world.ids["lc_campaign"])
    assert latest is not None and lingchuan["score"]["roundId"] == latest["id"] == report["round_id"]
    assert lingchuan["score"]["total"] == report["total"]
    assert lingchuan["score"]["bonusPoints"] == report["bonus"]["points"]
    assert lingchuan["score"]["vetoed"] is report["veto"]["failed"] is False
    assert [(s["title"], s["points"], s["max"]) for s in lingchuan["score"]["level1"]] == [
        (s["title"], s["points"], s["max"]) for s in report["level1"]
    ]
    # the progress figures are the REST progress report's campaign row
    rest_progress = client.get(
        f"{API}/campaigns/{world.ids['lc_campaign']}/progress",
        params={"by": "campaign"},
        headers=world.auth("lc-office"),
    ).json()["groups"]["campaign"][0]
    got = lingchuan["progress"]
    assert (got["total"], got["overdue"], got["approvedPct"]) == (
        rest_progress["total"],
        rest_progress["overdue"],
        rest_progress["approved_pct"],
    )
    # the lights, summed from the tally and corrected for returns, are the REST count from every assignment
    lights = client.get(f"{API}/campaigns/{world.ids['lc_campaign']}/lights", headers=world.auth("lc-office")).json()
    assert lingchuan["lights"] == {k: lights[k] for k in ("blue", "yellow", "red")} and lights["red"] > 0
    # a province elsewhere sees none of them
    other = gql(client, world.auth("yn-province"), OVERVIEW)
    assert other["data"]["counties"]["totalCount"] == 0 and other["data"]["counties"]["edges"] == []


def test_office_sees_its_county_and_not_the_neighbours(client, world) -> None:
    body = gql(client, world.auth("gp-office"), OVERVIEW)
    assert list(_counties(body)) == ["高平市"]
    hidden = gql(
        client,
        world.auth("gp-office"),
        "query($id: Int!) { campaign(id: $id) { name } }",
        {"id": world.ids["lc_campaign"]},
    )
    assert hidden["data"] is None and codes(hidden) == ["campaign_not_found"]
    assert hidden["errors"][0]["extensions"]["status"] == 404 and "未找到" in hidden["errors"][0]["message"]


def test_evaluators_see_only_engaged_campaigns(client, world) -> None:
    engaged = _counties(gql(client, world.auth("evaluator"), OVERVIEW))
    assert list(engaged) == ["陵川县"]
    assert gql(client, world.auth("idle-evaluator"), OVERVIEW)["data"]["counties"]["totalCount"] == 0


def test_liaison_sees_its_unit_only_and_no_county_score(client, world) -> None:
    query = """query($id: Int!) { campaign(id: $id) {
        progress { total }
        items(first: 100) { edges { node { key assignments { unitId unitName status } } } }
        score { total }
    } }"""
    body = gql(client, world.auth("lc-sfj"), query, {"id": world.ids["lc_campaign"]})
    campaign = body["data"]["campaign"]
    units = {a["unitId"] for e in campaign["items"]["edges"] for a in e["node"]["assignments"]}
    assert units == {world.ids["lc_sfj"]}
    mine = client.get(
        f"{API}/campaigns/{world.ids['lc_campaign']}/assignments", params={"limit": 1}, headers=world.auth("lc-sfj")
    )
    assert campaign["progress"]["total"] == mine.json()["total"] > 0  # its unit's assignments only, as over REST
    assert campaign["score"] is None and codes(body) == ["report_not_for_units"]
    office = gql(client, world.auth("lc-office"), query, {"id": world.ids["lc_campaign"]})
    assert (
        len({a["unitId"] for e in office["data"]["campaign"]["items"]["edges"] for a in e["node"]["assignments"]}) > 1
    )


def test_overdue_assignments_across_the_region_match_rest(client, app, world) -> None:
    pin_today(app, date(2023, 3, 1))
    query = "query($after: String) { overdueAssignments(first: 100, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { id status overdue } } }"
    first = gql(client, world.auth("sx-province"), query)["data"]["overdueAssignments"]
    auth = world.auth("sx-province")
    expected = sum(
        client.get(
            f"{API}/campaigns/{c['id']}/assignments", params={"overdue": "true", "limit": 1}, headers=auth
        ).json()["total"]
        for c in client.get(f"{API}/campaigns", headers=auth).json()["items"]
    )
    assert first["totalCount"] == expected > 100
    assert {n["overdue"] for n in first["nodes"]} == {True}
    assert {n["status"] for n in first["nodes"]} <= {"NOT_STARTED", "RETURNED"}  # GraphQL enum values: UPPER_CASE
    second = gql(client, world.auth("sx-province"), query, {"after": first["pageInfo"]["endCursor"]})
    page2 = second["data"]["overdueAssignments"]
    assert not {n["id"] for n in first["nodes"]} & {n["id"] for n in page2["nodes"]}
    mine = gql(client, world.auth("gp-sfj"), query)["data"]["overdueAssignments"]
    assert mine["totalCount"] < first["totalCount"]


def test_pages_walk_the_counties_once_each(client, world) -> None:
    query = "query($after: String) { counties(first: 1, after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { name } } }"
    seen, after = [], None
    while True:
        page = gql(client, world.auth("sx-province"), query, {"after": after})["data"]["counties"]
        seen += [n["name"] for n in page["nodes"]]
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == page["totalCount"] >= 3


def test_limits_refuse_abusive_queries_with_clear_codes(client, world) -> None:
    auth = world.auth("sx-province")
    too_big = gql(client, auth, "{ counties(first: 500) { totalCount } }")
    assert codes(too_big) == ["page_too_large"] and "100" in too_big["errors"][0]["message"]
    bad_cursor = gql(client, auth, '{ counties(after: "not-a-cursor") { totalCount } }')
    assert codes(bad_cursor) == ["cursor_invalid"]
    # depth: county → campaigns → county → … eleven levels down
    deep = "{ counties { nodes { campaigns { county { campaigns { county { campaigns { county { campaigns { county { name } } } } } } } } } } }"
    refused = gql(client, auth, deep)
    assert refused.get("data") is None and codes(refused) == ["query_too_deep"]
    assert str(MAX_DEPTH) in refused["errors"][0]["message"]
    # cost: 100 counties × 100 items × 100 assignments' evidence is refused before anything runs
    costly = """query { counties(first: 100) { nodes { campaigns {
        items(first: 100) { nodes { assignments { evidence { id title status } } } }
        assignments(first: 100) { nodes { id status unitName } } } } } }"""
    refused = gql(client, auth, costly)
    assert refused.get("data") is None and codes(refused) == ["query_too_costly"]
    # a variable counts at its worst case unless the client gives its value
    by_var = "query($n: Int) { counties(first: $n) { nodes { campaigns { assignments(first: $n) { nodes { id status unitName dueOn itemKey } } items(first: $n) { nodes { id key text } } } } } }"
    assert codes(gql(client, auth, by_var)) == ["query_too_costly"]
    assert "errors" not in gql(client, auth, by_var, {"n": 5})
    two = gql(
        client,
        world.auth("lc-office"),
        "mutation { a: reviewEvidence(evidenceId: 1, version: 1, decision: APPROVE) { id } b: reviewEvidence(evidenceId: 2, version: 1, decision: APPROVE) { id } }",
    )
    assert codes(two) == ["mutation_count"]


def test_introspection_and_data_need_a_token(client, world) -> None:
    # the schema is described to a logged-in caller only (tests/test_graphql_introspection.py)
    refused = gql(client, None, "{ __schema { queryType { name } types { name } } }")
    assert refused["data"] is None and codes(refused) == ["not_authenticated"]
    schema = gql(client, world.auth("lc-sfj"), "{ __schema { queryType { name } types { name } } }")
    assert schema["data"]["__schema"]["queryType"]["name"] == "Query"
    anonymous = gql(client, None, "{ counties { totalCount } }")
    assert anonymous["data"] is None and codes(anonymous) == ["not_authenticated"]
    forged = gql(client, {"Authorization": "Bearer not.a.token"}, "{ viewer { username } }")
    assert codes(forged) and codes(forged)[0].startswith("token")


def test_unexpected_errors_are_masked(client, world, monkeypatch) -> None:
    from app.services.accounts import regions

    def broken(*args, **kwargs):
        raise RuntimeError("password=hunter2 at 10.0.0.5")

    monkeypatch.setattr(regions, "counties_visible", broken)
    body = gql(client, world.auth("sx-province"), "{ counties { totalCount } }")
    assert codes(body) == ["internal_error"]
    assert "hunter2" not in json.dumps(body, ensure_ascii=False) and "服务器内部错误" in body["errors"][0]["message"]


def test_a_database_away_is_database_unavailable_not_internal_error(client, world, monkeypatch) -> None:
    # Found by the soak (bench/soak): during a PostgreSQL restart the province's overview answered
    # internal_error; REST answers 503 database_unavailable, and GraphQL now says the same.
    import sqlalchemy as sa

    from app.services.accounts import regions

    def refused(*args, **kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setattr(regions, "counties_visible", refused)
    body = gql(client, world.auth("sx-province"), "{ counties { totalCount } }")
    assert codes(body) == ["database_unavailable"]
    assert body["errors"][0]["extensions"]["status"] == 503 and "数据库暂时不可用" in body["errors"][0]["message"]


def test_review_mutation_goes_through_the_review_rules(client, app, world, session) -> None:
    # a statement submitted by the 县司法局 liaison on one of its assignments, before the deadline
    pin_today(app, date(2023, 2, 10))
    target = PICKER.assignment(session, world.ids["lc_sfj"])
    r = client.post(
        f"{API}/assignments/{target.id}/evidence",
        json={"kind": "statement", "text": "本单位已按要求完成", "title": "GraphQL 审核"},
        headers=world.auth("lc-sfj"),
    )
    assert r.status_code == 201, r.text
    evidence_id = r.json()["id"]
    review = "mutation($id: Int!, $v: Int!, $d: ReviewDecision!, $c: String!) { reviewEvidence(evidenceId: $id, version: $v, decision: $d, comment: $c) { id status reviews { decision comment } } }"
    refused = gql(client, world.auth("lc-sfj"), review, {"id": evidence_id, "v": 1, "d": "APPROVE", "c": ""})
    rest = client.post(
        f"{API}/evidence/{evidence_id}/reviews",
        json={"decision": "approve", "version": 1},
        headers=world.auth("lc-sfj"),
    )
    assert codes(refused) == [rest.json()["code"]] == ["forbidden"]  # the same refusal as REST
    assert refused["errors"][0]["extensions"]["status"] == rest.status_code == 403
    missing = gql(client, world.auth("lc-office"), review, {"id": evidence_id, "v": 1, "d": "RETURN", "c": " "})
    assert codes(missing) == ["comment_required"]
    no_such = gql(client, world.auth("lc-office"), review, {"id": evidence_id, "v": 2, "d": "APPROVE", "c": ""})
    assert codes(no_such) == ["version_not_found"]  # there is no version 2: not "updated to version 1"
    other_county = gql(client, world.auth("gp-office"), review, {"id": evidence_id, "v": 1, "d": "APPROVE", "c": ""})
    never = gql(client, world.auth("gp-office"), review, {"id": 987654321, "v": 1, "d": "APPROVE", "c": ""})
    assert codes(other_county) == codes(never) == ["evidence_not_found"]  # another county's answers as missing
    done = gql(client, world.auth("lc-office"), review, {"id": evidence_id, "v": 1, "d": "RETURN", "c": "请补充签字页"})
    assert "errors" not in done, done
    assert done["data"]["reviewEvidence"]["status"] == "RETURNED"
    assert done["data"]["reviewEvidence"]["reviews"] == [{"decision": "RETURN", "comment": "请补充签字页"}]
    rest = client.get(f"{API}/evidence/{evidence_id}", headers=world.auth("lc-office")).json()
    assert rest["status"] == "returned" and len(rest["reviews"]) == 1


def test_record_scores_is_all_or_nothing(client, world) -> None:
    r = client.post(
        f"{API}/campaigns/{world.ids['gp_campaign']}/rounds", json={"name": "GQL"}, headers=world.auth("gp-office")
    )
    round_id = r.json()["id"]
    items = gql(
        client,
        world.auth("gp-office"),
        "query($id: Int!) { campaign(id: $id) { items(first: 3) { nodes { id key section } } } }",
        {"id": world.ids["gp_campaign"]},
    )["data"]["campaign"]["items"]["nodes"]
    record = (
        "mutation($r: Int!, $s: [ScoreInput!]!) { recordScores(roundId: $r, scores: $s) { itemKey points current } }"
    )
    broken = [{"itemId": items[0]["id"], "points": 1.0}, {"itemId": items[1]["id"], "points": 99.0}]
    refused = gql(client, world.auth("gp-office"), record, {"r": round_id, "s": broken})
    assert codes(refused) == ["score_invalid"]
    assert any("不能超过分值" in e["msg"] for e in refused["errors"][0]["extensions"]["errors"])
    assert client.get(f"{API}/rounds/{round_id}/scores", headers=world.auth("gp-office")).json()["items"] == []
    negative = gql(
        client, world.auth("gp-office"), record, {"r": round_id, "s": [{"itemId": items[0]["id"], "points": -1}]}
    )
    assert codes(negative) == ["validation_failed"]
    ok = gql(client, world.auth("gp-office"), record, {"r": round_id, "s": broken[:1]})
    assert ok["data"]["recordScores"] == [{"itemKey": items[0]["key"], "points": 1.0, "current": True}]
    liaison = gql(client, world.auth("gp-sfj"), record, {"r": round_id, "s": broken[:1]})
    assert codes(liaison) == ["not_a_scorer"]  # the round is its county's, but a liaison does not score


def test_changes_since_a_moment_for_syncing_systems(client, world) -> None:
    since = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    r = client.post(
        f"{API}/campaigns/{world.ids['gp_campaign']}/rounds", json={"name": "变更同步"}, headers=world.auth("gp-office")
    )
    assert r.status_code == 201
    query = "query($since: DateTime!) { changes(since: $since, first: 100) { totalCount nodes { action objectType objectId countyId campaignId } } }"
    province = gql(client, world.auth("sx-province"), query, {"since": since})["data"]["changes"]
    assert {"action": "round.create", "objectType": "round", "objectId": str(r.json()["id"]),
            "countyId": world.ids["gp_county"], "campaignId": world.ids["gp_campaign"]} in province["nodes"]  # fmt: skip
    assert gql(client, world.auth("yn-province"), query, {"since": since})["data"]["changes"]["totalCount"] == 0
    neighbour = gql(client, world.auth("lc-office"), query, {"since": since})["data"]["changes"]["nodes"]
    assert all(n["countyId"] == world.ids["lc_county"] for n in neighbour)
    assert codes(gql(client, world.auth("lc-sfj"), query, {"since": since})) == ["forbidden"]


def test_graphiql_is_served_without_any_cdn(client) -> None:
    page = client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    html = page.text
    assert "https://" not in html and "http://" not in html
    sources = json.loads((STATIC / "SOURCES.json").read_text(encoding="utf-8"))["files"]
    for name, source in sources.items():
        assert f"/static/graphiql/{name}" in html
        served = client.get(f"/static/graphiql/{name}")
        assert served.status_code == 200
        digest = base64.b64encode(hashlib.sha384(served.content).digest()).decode()
        assert digest == source["sha384"], f"{name} is not {source['package']}'s file"


def test_overview_statements_do_not_grow_with_counties(client, world, session) -> None:
    from sqlmodel import select

    from app.models import Campaign
    from tests.graphql_kit import add_province, add_scored_county
    from tests.test_query_counts import counting

    framework_id = session.exec(select(Campaign.framework_id).where(Campaign.id == world.ids["lc_campaign"])).one()
    _, city_id, username = add_province(session, "计数省")
    add_scored_county(session, city_id=city_id, name="计数县0", framework_id=framework_id, unit_names=["县司法局"])
    session.commit()
    token = client.post(f"{API}/auth/token", data={"username": username, "password": "shifan-demo"}).json()
    auth = {"Authorization": f"Bearer {token['access_token']}"}

    def run() -> tuple[int, dict]:
        with counting() as seen:
            body = gql(client, auth, OVERVIEW, {"first": 50})
        assert "errors" not in body, body
        return len(seen), _counties(body)

    one, counties = run()
    assert list(counties) == ["计数县0"] and counties["计数县0"]["campaigns"][0]["score"]["total"] > 0
    for n in range(1, 10):  # more counties, with more units each, hence more assignments and scores
        names = ["县司法局", "县公安局", "县财政局", "县人力资源和社会保障局"][: 1 + n % 4]
        add_scored_county(session, city_id=city_id, name=f"计数县{n}", framework_id=framework_id, unit_names=names)
    session.commit()
    ten, counties = run()
    assert len(counties) == 10 and all(c["campaigns"][0]["score"]["total"] > 0 for c in counties.values())
    assert len({c["campaigns"][0]["progress"]["total"] for c in counties.values()}) > 1
    assert ten == one, f"{one} statements for 1 county, {ten} for 10"


def test_evidence_download_link_is_short_lived_and_scoped(client, app, world, session, rgw_api_store) -> None:
    import httpx

    from tests.evidence_kit import pdf, upload

    pin_today(app, date(2023, 2, 10))
    target = PICKER.assignment(session, world.ids["lc_sfj"])
    content = pdf("GraphQL download")
    r = upload(client, world.auth("lc-sfj"), target.id, content, "制度文件.pdf", title="下载测试")
    assert r.status_code == 201, r.text
    evidence_id = r.json()["id"]
    query = "query($id: Int!) { evidence(id: $id) { title status current { filename size sha256 } downloadLink { url expiresAt } } }"
    body = gql(client, world.auth("lc-office"), query, {"id": evidence_id})
    assert "errors" not in body, body
    found = body["data"]["evidence"]
    assert found["current"]["filename"] == "制度文件.pdf" and found["current"]["size"] == len(content)
    fetched = httpx.get(found["downloadLink"]["url"])  # signed by Ceph RGW, no token needed
    assert fetched.status_code == 200 and fetched.content == content
    assert hashlib.sha256(content).hexdigest() == found["current"]["sha256"]
    expires = datetime.fromisoformat(found["downloadLink"]["expiresAt"])
    assert timedelta(0) < expires - datetime.now(UTC) <= timedelta(minutes=10)
    for who in ("gp-office", "lc-gaj"):  # another county, another unit: not found, as over REST
        hidden = gql(client, world.auth(who), query, {"id": evidence_id})
        rest = client.get(f"{API}/evidence/{evidence_id}", headers=world.auth(who))
        assert codes(hidden) == [rest.json()["code"]] == ["evidence_not_found"]


def test_a_mutation_that_fails_after_writing_leaves_nothing(client, world, monkeypatch) -> None:
    from app.services.assessment import scoring
    from app.services.errors import Conflict

    r = client.post(
        f"{API}/campaigns/{world.ids['gp_campaign']}/rounds", json={"name": "回滚"}, headers=world.auth("gp-office")
    )
    round_id = r.json()["id"]
    framework_id = client.get(f"{API}/campaigns/{world.ids['gp_campaign']}", headers=world.auth("gp-office")).json()[
        "framework_id"
    ]
    item_id = client.get(
        f"{API}/frameworks/{framework_id}/items", params={"limit": 1}, headers=world.auth("gp-office")
    ).json()["items"][0]["id"]
    original = scoring.record

    def record_then_fail(session, **kwargs):
        original(session, **kwargs)  # rows flushed, audit written …
        raise Conflict("模拟：写入后失败", code="simulated_failure")

    monkeypatch.setattr(scoring, "record", record_then_fail)
    record = "mutation($r: Int!, $s: [ScoreInput!]!) { recordScores(roundId: $r, scores: $s) { id } }"
    body = gql(client, world.auth("gp-office"), record, {"r": round_id, "s": [{"itemId": item_id, "points": 1.0}]})
    assert codes(body) == ["simulated_failure"]
    assert client.get(f"{API}/rounds/{round_id}/scores", headers=world.auth("gp-office")).json()["items"] == []
    audit = client.get(
        f"{API}/audit", params={"action": "score.record", "object_id": str(round_id)}, headers=world.auth("gp-office")
    )
    assert audit.json()["total"] == 0


def test_campaign_fields_agree_with_rest(client, app, world) -> None:
    """The rest of a campaign's graph — deadlines, rounds with scores and summary, the framework tree, units and
    groups, evidence and rectification connections, viewer, regionId — each equal to what REST says."""
    pin_today(app, date(2023, 3, 1))
    office = world.auth("lc-office")
    cid = world.ids["lc_campaign"]
    report = _score_and_release(client, world, "lc_campaign", "lc-office")
    query = """query($id: Int!, $county: Int!) {
      viewer { username role countyId }
      campaign(id: $id) {
        deadlines(within: 3) { totals { overdue dueSoon returned } byUnit { id key overdue } }
        rounds { id released: releasedAt summary { total vetoed } scores(itemId: null) { itemKey points current } }
        framework { code sections { code kind } headings { level title } items(first: 5) { totalCount nodes { key } } }
        county { name units { name } unitGroups { name memberIds } }
        evidence(first: 3, status: APPROVED) { totalCount nodes { id status } }
        rectifications(first: 3) { totalCount }
        assignments(first: 2, overdue: true) { totalCount }
      }
      counties(regionId: $county) { totalCount nodes { id } }
    }"""
    body = gql(client, office, query, {"id": cid, "county": world.ids["lc_county"]})
    assert "errors" not in body, body
    data, c = body["data"], body["data"]["campaign"]
    assert data["viewer"] == {"username": "lc-office", "role": "OFFICE", "countyId": world.ids["lc_county"]}
    board = client.get(f"{API}/campaigns/{cid}/deadlines", params={"within": 3}, headers=office).json()
    assert c["deadlines"]["totals"] == {
        "overdue": board["totals"]["overdue"],
        "dueSoon": board["totals"]["due_soon"],
        "returned": board["totals"]["returned"],
    }
    assert [(r["id"], r["key"], r["overdue"]) for r in c["deadlines"]["byUnit"]] == [
        (r["id"], str(r["id"]), r["overdue"]) for r in board["by_unit"]
    ]
    released = next(r for r in c["rounds"] if r["id"] == report["round_id"])
    assert released["summary"]["total"] == report["total"] and released["summary"]["vetoed"] is False
    rest_scores = client.get(f"{API}/rounds/{report['round_id']}/scores", params={"limit": 500}, headers=office).json()[
        "items"
    ]
    assert sorted((s["itemKey"], s["points"]) for s in released["scores"]) == sorted(
        (s["item_key"], s["points"]) for s in rest_scores
    )
    fw = client.get(f"{API}/campaigns/{cid}", headers=office).json()["framework_id"]
    assert c["framework"]["code"] == "lingchuan-2021"
    assert [s["code"] for s in c["framework"]["sections"]] == [
        s["code"] for s in client.get(f"{API}/frameworks/{fw}/sections", headers=office).json()["items"]
    ]
    assert (
        len(c["framework"]["headings"]) == client.get(f"{API}/frameworks/{fw}/headings", headers=office).json()["total"]
    )
    assert (
        c["framework"]["items"]["totalCount"]
        == client.get(f"{API}/frameworks/{fw}/items", params={"limit": 1}, headers=office).json()["total"]
    )
    units = client.get(f"{API}/counties/{world.ids['lc_county']}/units", params={"limit": 500}, headers=office).json()[
        "items"
    ]
    assert sorted(u["name"] for u in c["county"]["units"]) == sorted(u["name"] for u in units)
    groups = client.get(
        f"{API}/counties/{world.ids['lc_county']}/unit-groups", params={"limit": 500}, headers=office
    ).json()["items"]
    assert sorted((g["name"], sorted(g["memberIds"])) for g in c["county"]["unitGroups"]) == sorted(
        (g["name"], sorted(g["member_ids"])) for g in groups
    )
    approved = client.get(
        f"{API}/campaigns/{cid}/evidence", params={"status": "approved", "limit": 1}, headers=office
    ).json()["total"]
    assert c["evidence"]["totalCount"] == approved and all(e["status"] == "APPROVED" for e in c["evidence"]["nodes"])
    assert (
        c["rectifications"]["totalCount"]
        == client.get(f"{API}/campaigns/{cid}/rectifications", headers=office).json()["total"]
    )
    overdue = client.get(
        f"{API}/campaigns/{cid}/assignments", params={"overdue": "true", "limit": 1}, headers=office
    ).json()["total"]
    assert c["assignments"]["totalCount"] == overdue
    assert [n["id"] for n in data["counties"]["nodes"]] == [world.ids["lc_county"]]
