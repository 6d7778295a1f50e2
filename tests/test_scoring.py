"""Scoring on the 陵川 demo campaign, through HTTP: the office's preliminary round, two evaluators
scoring blind until release, a veto that fails the county, quantified items judged from reported
figures, and the score sheet opened by a real spreadsheet program."""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import date

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from tests.conftest import pin_today
from tests.graphql_kit import gql
from tests.office_kit import libreoffice_rows

API = "/api/v1"


def _items(client, world) -> list[dict]:
    campaign = client.get(f"{API}/campaigns/{world.ids['lc_campaign']}", headers=world.auth("lc-office")).json()
    return client.get(
        f"{API}/frameworks/{campaign['framework_id']}/items", params={"limit": 500}, headers=world.auth("lc-office")
    ).json()["items"]


def _round(client, world, name: str, campaign: str = "lc_campaign", who: str = "lc-office") -> dict:
    r = client.post(f"{API}/campaigns/{world.ids[campaign]}/rounds", json={"name": name}, headers=world.auth(who))
    assert r.status_code == 201, r.text
    return r.json()


def _office_scores(items: list[dict]) -> list[dict]:
    """Full points on odd numbers, half on even, indicator-3 not applicable; veto-2 occurred; bonus-1 1 point."""
    out = []
    for it in items:
        if it["section"] == "indicator":
            if it["key"] == "indicator-3":
                out.append({"item_id": it["id"], "not_applicable": True, "comment": "本县无此项工作"})
            else:
                out.append({"item_id": it["id"], "points": 1.0 if it["number"] % 2 else 0.5})
        elif it["section"] == "bonus":
            out.append({"item_id": it["id"], "points": 1.0 if it["number"] == 1 else 0.0})
        else:
            occurred = it["key"] == "veto-2"
            out.append(
                {"item_id": it["id"], "vetoed": occurred, "finding": "申报材料数据与台账不符" if occurred else ""}
            )
    return out


def test_office_scores_a_round_and_a_veto_fails_the_county(client, world) -> None:
    h = world.auth("lc-office")
    items = _items(client, world)
    rnd = _round(client, world, "县级初审")
    r = client.post(f"{API}/rounds/{rnd['id']}/scores", json={"scores": _office_scores(items)}, headers=h)
    assert r.status_code == 201, r.text
    report = client.get(f"{API}/rounds/{rnd['id']}/report", headers=h).json()

    # The expected figures, computed here from the items (default config: 1 point each, rescale).
    by_level1 = defaultdict(list)
    for it in items:
        if it["section"] == "indicator":
            by_level1[it["level1_id"]].append(it)
    expected = {}
    for level1_id, group in by_level1.items():
        scored = [it for it in group if it["key"] != "indicator-3"]
        raw = sum(1.0 if it["number"] % 2 else 0.5 for it in scored)
        expected[level1_id] = round(raw * len(group) / len(scored), 2)
    got = {int(s["key"][1:]): s["points"] for s in report["level1"]}
    assert got == expected
    assert report["base_max"] == 100.0 and report["base_points"] == round(sum(expected.values()), 2)
    assert report["bonus"] == {"raw": 1.0, "cap": 2.0, "points": 1.0}
    # High points, yet one 否决项 occurred: the county fails, and the total that counts says so.
    assert report["computed_total"] == round(report["base_points"] + 1.0, 2) > 75
    assert report["total"] == 0 and report["vetoed"] is True
    assert report["veto"]["failed"] and report["verdict"] == "vetoed"
    assert [h["key"] for h in report["veto"]["hits"]] == ["veto-2"] and report["veto"]["hits"][0]["text"]
    # GraphQL's summary follows the same rule.
    query = """query($id: Int!) {
      campaign(id: $id) { rounds { id summary { total computedTotal vetoed vetoHits { key } } } }
    }"""
    body = gql(client, h, query, {"id": world.ids["lc_campaign"]})
    summary = next(r["summary"] for r in body["data"]["campaign"]["rounds"] if r["id"] == rnd["id"])
    assert summary == {
        "total": 0.0, "computedTotal": report["computed_total"], "vetoed": True, "vetoHits": [{"key": "veto-2"}]
    }  # fmt: skip
    assert report["unscored"] == 0 and report["source"] == "office" and report["config_source"] == "framework"
    na = next(i for i in report["items"] if i["key"] == "indicator-3")
    assert na["not_applicable"] and na["points"] is None
    assert sum(s["items"] for s in report["level1"]) == 100
    assert report["units"] and all(0 <= u["percent"] <= 100 for u in report["units"])
    # One unit's figures, recomputed from its assignments and the item rows (NA left out, no rescaling).
    rows = client.get(
        f"{API}/campaigns/{world.ids['lc_campaign']}/assignments",
        params={"unit_id": world.ids["lc_sfj"], "section": "indicator", "limit": 500},
        headers=h,
    ).json()["items"]
    scored = [i for i in report["items"] if i["item_id"] in {r["item_id"] for r in rows} and not i["not_applicable"]]
    sfj = next(u for u in report["units"] if u["unit_id"] == world.ids["lc_sfj"])
    assert sfj["items"] == len(rows) and sfj["scored"] == len(scored)
    assert sfj["points"] == round(sum(i["points"] for i in scored), 2) and sfj["max"] == len(scored)


def test_evaluators_score_blind_until_the_office_releases(client, world) -> None:
    items = _items(client, world)
    first = next(i for i in items if i["key"] == "indicator-1")
    rnd = _round(client, world, "第三方评估")
    url = f"{API}/rounds/{rnd['id']}"
    office = client.post(
        f"{url}/scores", json={"scores": [{"item_id": first["id"], "points": 1}]}, headers=world.auth("lc-office")
    )
    assert office.status_code == 201
    a = client.post(
        f"{url}/scores",
        json={"scores": [{"item_id": first["id"], "points": 0.8, "comment": "台账不全", "finding": "缺少2022年台账"}]},
        headers=world.auth("evaluator"),
    )
    b = client.post(
        f"{url}/scores", json={"scores": [{"item_id": first["id"], "points": 0.6}]}, headers=world.auth("evaluator-b")
    )
    assert a.status_code == b.status_code == 201
    # Before release each evaluator sees only its own; liaisons and the province see nothing.
    seen_a = client.get(f"{url}/scores", headers=world.auth("evaluator")).json()["items"]
    assert [s["points"] for s in seen_a] == [0.8] and seen_a[0]["scorer_kind"] == "evaluator"
    assert [s["points"] for s in client.get(f"{url}/scores", headers=world.auth("evaluator-b")).json()["items"]] == [
        0.6
    ]
    for who in ("lc-sfj", "sx-province"):
        r = client.get(f"{url}/scores", headers=world.auth(who))
        assert r.status_code == 403 and r.json()["code"] == "scores_not_released", who
    blind = client.get(f"{url}/report", params={"source": "evaluators"}, headers=world.auth("evaluator"))
    assert blind.status_code == 403
    own_key = seen_a[0]["scorer_key"]
    own = client.get(f"{url}/report", params={"source": own_key}, headers=world.auth("evaluator"))
    assert own.status_code == 200 and own.json()["items"][0]["points"] == 0.8
    assert client.get(f"{url}/scores", headers=world.auth("lc-office")).json()["total"] == 3
    # An evaluator corrects its score: a new row, the old one kept as history.
    client.post(
        f"{url}/scores", json={"scores": [{"item_id": first["id"], "points": 0.9}]}, headers=world.auth("evaluator")
    )
    history = client.get(f"{url}/scores", params={"history": True}, headers=world.auth("evaluator")).json()["items"]
    assert [(s["points"], s["current"]) for s in history] == [(0.9, True), (0.8, False)]
    # Only the office releases.
    assert client.post(f"{url}/release", headers=world.auth("evaluator")).status_code == 403
    listed = client.get(f"{API}/campaigns/{world.ids['lc_campaign']}/rounds", headers=world.auth("evaluator")).json()[
        "items"
    ]
    assert [r["released_at"] for r in listed if r["id"] == rnd["id"]] == [None]
    assert (
        client.get(f"{API}/campaigns/{world.ids['lc_campaign']}/rounds", headers=world.auth("yn-province")).status_code
        == 404
    )
    released = client.post(f"{url}/release", headers=world.auth("lc-office"))
    assert released.status_code == 200 and released.json()["released_at"]
    assert client.post(f"{url}/release", headers=world.auth("lc-office")).json()["code"] == "round_released"
    after = client.get(f"{url}/scores", headers=world.auth("evaluator")).json()["items"]
    assert sorted(s["points"] for s in after) == [0.6, 0.9, 1.0]
    mean = client.get(f"{url}/report", params={"source": "evaluators"}, headers=world.auth("sx-province")).json()
    assert next(i for i in mean["items"] if i["key"] == "indicator-1")["points"] == 0.75
    # A liaison sees released scores of its own unit's items only.
    liaison = client.get(f"{url}/scores", headers=world.auth("lc-sfj"))
    assert liaison.status_code == 200
    assert client.get(f"{url}/report", headers=world.auth("lc-sfj")).status_code == 403
    # Released scores are frozen.
    late = client.post(
        f"{url}/scores", json={"scores": [{"item_id": first["id"], "points": 1}]}, headers=world.auth("evaluator-b")
    )
    assert late.status_code == 409 and late.json()["code"] == "round_released"


def test_broken_scores_are_refused_whole(client, world) -> None:
    items = {i["key"]: i for i in _items(client, world)}
    rnd = _round(client, world, "校验")
    url = f"{API}/rounds/{rnd['id']}/scores"
    h = world.auth("lc-office")
    bad = [
        {"item_id": items["indicator-1"]["id"], "points": 1},
        {"item_id": items["indicator-2"]["id"], "points": 5},  # above the maximum
        {"item_id": items["veto-1"]["id"], "points": 1},  # a veto item takes no points
        {"item_id": items["indicator-4"]["id"]},  # neither points nor not applicable
        {"item_id": items["indicator-5"]["id"], "points": 1, "vetoed": True},
        {"item_id": 10_000_000, "points": 1},
    ]
    r = client.post(url, json={"scores": bad}, headers=h)
    assert r.status_code == 422 and r.json()["code"] == "score_invalid"
    assert len(r.json()["errors"]) == 5 and "分值" in r.text
    assert client.get(f"{API}/rounds/{rnd['id']}/scores", headers=h).json()["items"] == []  # nothing half-written
    twice = [{"item_id": items["indicator-1"]["id"], "points": 1}] * 2
    assert client.post(url, json={"scores": twice}, headers=h).status_code == 422
    both = client.post(
        url, json={"scores": [{"item_id": items["indicator-1"]["id"], "points": 1, "not_applicable": True}]}, headers=h
    )
    assert both.status_code == 422
    assert client.post(url, json={"scores": []}, headers=h).status_code == 422
    for who, code in (("lc-sfj", 403), ("sx-province", 403), ("gp-office", 404), ("idle-evaluator", 404)):
        r = client.post(
            url, json={"scores": [{"item_id": items["indicator-1"]["id"], "points": 1}]}, headers=world.auth(who)
        )
        assert r.status_code == code, who
    assert client.get(f"{API}/rounds/{rnd['id']}/report", params={"source": "nobody"}, headers=h).status_code == 422


def test_scores_are_append_only_in_the_database(client, world, session) -> None:
    items = _items(client, world)
    rnd = _round(client, world, "只追加")
    client.post(
        f"{API}/rounds/{rnd['id']}/scores",
        json={"scores": [{"item_id": items[0]["id"], "points": 1}]},
        headers=world.auth("lc-office"),
    )
    for statement in ("UPDATE score SET points = 0", "DELETE FROM score"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            session.execute(sa.text(statement))
        session.rollback()


def test_quantified_item_passes_or_fails_from_reported_figures(client, app, world) -> None:
    pin_today(app, date(2023, 2, 10))
    h = world.auth("lc-sfj")
    config = client.get(f"{API}/campaigns/{world.ids['lc_campaign']}/scoring", headers=h).json()["config"]
    mine = client.get("/api/v1/me/assignments", params={"limit": 500}, headers=h).json()["items"]
    target = next(a for a in mine if a["item_key"] in config["metrics"] and len(config["metrics"][a["item_key"]]) == 1)
    spec = config["metrics"][target["item_key"]][0]
    failing = (
        spec["value"] - 1
        if spec["op"] == "ge"
        else (spec["value"] + 1 if spec["op"] == "le" else (spec.get("high") or spec["value"]) + 1)
    )
    passing = spec["value"] if spec["op"] in ("ge", "le", "eq") else spec["low"]
    url = f"{API}/assignments/{target['id']}/figures"
    first = client.post(url, json={"metric_code": spec["code"], "value": failing, "note": "2022年度"}, headers=h)
    assert first.status_code == 201 and first.json()["passes"] is False and first.json()["threshold"]
    rnd = _round(client, world, "量化")
    report = client.get(f"{API}/rounds/{rnd['id']}/report", headers=world.auth("lc-office")).json()
    row = next(i for i in report["items"] if i["key"] == target["item_key"])
    assert row["metrics_pass"] is False and row["metrics"][0]["figures"][0]["unit_name"] == "县司法局"
    assert next(u for u in report["units"] if u["unit_name"] == "县司法局")["metrics_failed"] >= 1
    fixed = client.post(url, json={"metric_code": spec["code"], "value": passing}, headers=h)
    assert fixed.json()["passes"] is True
    report = client.get(f"{API}/rounds/{rnd['id']}/report", headers=world.auth("lc-office")).json()
    assert next(i for i in report["items"] if i["key"] == target["item_key"])["metrics_pass"] is True
    assert [f["value"] for f in client.get(url, headers=h).json()["items"]] == [passing, failing]  # history kept
    # Unknown metric, wrong role, other unit, after the deadline.
    unknown = client.post(url, json={"metric_code": "nope", "value": 1}, headers=h)
    assert unknown.status_code == 422 and unknown.json()["code"] == "metric_unknown" and spec["code"] in unknown.text
    assert (
        client.post(url, json={"metric_code": spec["code"], "value": 1}, headers=world.auth("lc-office")).status_code
        == 403
    )
    assert (
        client.post(url, json={"metric_code": spec["code"], "value": 1}, headers=world.auth("lc-gaj")).status_code
        == 404
    )
    pin_today(app, date(2025, 1, 2))  # past the deadline and any late window another test granted
    closed = client.post(url, json={"metric_code": spec["code"], "value": passing}, headers=h)
    assert closed.status_code == 423 and closed.json()["code"] == "submission_closed"


def test_scoring_configuration_changes_the_rollup(client, world) -> None:
    h = world.auth("gp-office")
    url = f"{API}/campaigns/{world.ids['gp_campaign']}/scoring"
    items = {i["key"]: i for i in _items(client, world)}
    framework_id = client.get(f"{API}/campaigns/{world.ids['gp_campaign']}", headers=h).json()["framework_id"]
    headings = client.get(f"{API}/frameworks/{framework_id}/headings", params={"limit": 500}, headers=h).json()["items"]
    first_l1 = next(x for x in headings if x["level"] == 1)
    bad = client.put(url, json={"items": {"nope-1": {"max": 2}}, "level1_weights": {"不存在": 2}}, headers=h)
    assert bad.status_code == 422 and bad.json()["code"] == "scoring_invalid" and len(bad.json()["errors"]) == 2
    assert client.put(url, json={"default_max": -1}, headers=h).status_code == 422
    assert client.put(url, json={"default_max": 2}, headers=world.auth("lc-office")).status_code == 404
    assert client.put(url, json={"default_max": 2}, headers=world.auth("gp-sfj")).status_code == 403
    # A list without headings is weighted by its section's name.
    assert client.put(url, json={"level1_weights": {"三级指标": 1.5}}, headers=h).status_code == 200
    config = {
        "default_max": 2,
        "bonus_cap": 1.5,
        "not_applicable": "full",
        "items": {"indicator-1": {"max": 4, "weight": 2}},
        "level1_weights": {first_l1["title"]: 0.5},
    }
    r = client.put(url, json=config, headers=h)
    assert r.status_code == 200 and r.json()["source"] == "campaign"
    rnd = _round(client, world, "配置", campaign="gp_campaign", who="gp-office")
    scores = [
        {"item_id": items["indicator-1"]["id"], "points": 3},
        {"item_id": items["indicator-3"]["id"], "not_applicable": True},
        {"item_id": items["bonus-1"]["id"], "points": 1},
        {"item_id": items["bonus-2"]["id"], "points": 1},
    ]
    assert client.post(f"{API}/rounds/{rnd['id']}/scores", json={"scores": scores}, headers=h).status_code == 201
    report = client.get(f"{API}/rounds/{rnd['id']}/report", headers=h).json()
    item1 = next(i for i in report["items"] if i["key"] == "indicator-1")
    assert item1["max"] == 4 and item1["weight"] == 2
    l1 = next(s for s in report["level1"] if s["key"] == f"h{items['indicator-1']['level1_id']}")
    # indicator-1: 3 × 2 = 6; indicator-3 not applicable counts full (2) under "full".
    same_group = items["indicator-3"]["level1_id"] == items["indicator-1"]["level1_id"]
    assert l1["points"] == 6 + (2 if same_group else 0) and l1["weight"] == 0.5
    assert report["bonus"] == {"raw": 2.0, "cap": 1.5, "points": 1.5}
    assert report["veto"]["failed"] is False and report["verdict"] == "scored"
    assert report["vetoed"] is False and report["total"] == report["computed_total"] > 0
    client.post(f"{API}/rounds/{rnd['id']}/release", headers=h)
    locked = client.put(url, json={"default_max": 3}, headers=h)
    assert locked.status_code == 409 and locked.json()["code"] == "scoring_locked"


def test_score_sheet_opens_with_the_right_totals(client, world, tmp_path) -> None:
    h = world.auth("lc-office")
    items = _items(client, world)
    rnd = _round(client, world, "评分表")
    client.post(f"{API}/rounds/{rnd['id']}/scores", json={"scores": _office_scores(items)}, headers=h)
    report = client.get(f"{API}/rounds/{rnd['id']}/report", headers=h).json()
    r = client.get(f"{API}/rounds/{rnd['id']}/report.xlsx", headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    book = load_workbook(io.BytesIO(r.content))
    sheet = book["评分表"]
    assert sheet.freeze_panes == "A3" and sheet["A2"].value == "一级指标" and sheet["D2"].value == "指标内容"
    rows = {row[0]: row for row in sheet.iter_rows(min_row=3, values_only=True) if row[0]}
    assert rows["总分"][6] == report["total"] == 0 and rows["基本分合计"][6] == report["base_points"]
    assert "一票否决" in rows["总分"][3] and rows["计算得分"][6] == report["computed_total"] > 75
    assert "否决" in rows["结论"][3]
    for s in report["level1"]:
        assert rows[f"{s['title']} 小计"][6] == s["points"]
    units = book["按单位"]
    assert units["A2"].value == "责任单位" and units.max_row == 2 + len(report["units"])
    # A real spreadsheet program opens it and reads the same total.
    rows = libreoffice_rows(r.content, tmp_path)
    total = next(row for row in rows if row and row[0] == "总分")
    assert float(total[6]) == report["total"]
