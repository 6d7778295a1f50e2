"""Warning lights (issue 25, point 1): each rule on China's working-day calendar across the 2023 National Day
holiday, returns counted, the campaign's own rules, the ?light= filter on the ledger and the to-do list, counts per
unit and per campaign (REST and GraphQL), the .xlsx ledger and the .ics feed, rectification items, and refusals."""

from __future__ import annotations

import io
from datetime import date

import pytest
from icalendar import Calendar
from openpyxl import load_workbook

from tests.conftest import pin_today
from tests.graphql_kit import gql
from tests.supervision_kit import API, District, build, return_times, set_due

# 2023: 中秋·国庆 9/29 (Fri) – 10/6 off, Saturday 10/7 and Sunday 10/8 worked.
TODAY = date(2023, 10, 9)  # Monday


@pytest.fixture(scope="module")
def district(app, world):
    yield from build(app, world, "亮灯县")


@pytest.fixture(scope="module")
def lit(app, district: District) -> dict[str, int]:
    """Six of the 县司法局's assignments put where each rule bites, one of the 县公安局's returned twice."""
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        pin_today(app, TODAY)
        a, b, c, d, e, f, *_ = district.assignments(district.sfj)
        g = district.assignments(district.gaj)[0]
        # 9/25 → today: 9/26, 9/27, 9/28, 10/7, 10/8, 10/9 are worked: 6 working days late (> 5): red
        set_due(client, district, a, date(2023, 9, 25))
        # 9/27 → today: 9/28, 10/7, 10/8, 10/9: 4 working days late (12 calendar days): yellow
        set_due(client, district, b, date(2023, 9, 27))
        set_due(client, district, c, date(2023, 10, 11))  # 2 working days ahead: blue
        set_due(client, district, d, date(2023, 10, 13))  # 4 working days ahead: none
        return_times(client, district, "sfj", e, 2)  # returned twice, due 11/30: yellow
        return_times(client, district, "sfj", f, 3)  # three times: red
        return_times(client, district, "gaj", g, 2)
        client.app.dependency_overrides.clear()
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f, "g": g}


def _lights(client, district: District, who: str = "office", **params) -> dict[int, str]:
    r = client.get(
        f"{API}/campaigns/{district.campaign_id}/assignments",
        params={"limit": 500, **params},
        headers=district.auth(who),
    )
    assert r.status_code == 200, r.text
    return {row["id"]: row["light"] for row in r.json()["items"]}


def test_each_rule_on_the_working_day_calendar(client, app, district, lit) -> None:
    pin_today(app, TODAY)
    found = _lights(client, district)
    assert [found[lit[k]] for k in "abcdef"] == ["red", "yellow", "blue", "none", "yellow", "red"]
    assert found[lit["g"]] == "yellow"
    # one assignment alone says the same
    one = client.get(f"{API}/assignments/{lit['b']}", headers=district.auth("sfj")).json()
    assert one["light"] == "yellow" and one["overdue"] is True
    # before the holiday: 9/25 is 2 working days late (yellow), 10/7 — a worked Saturday — 2 working days ahead
    pin_today(app, date(2023, 9, 27))
    before = _lights(client, district)
    assert before[lit["a"]] == "yellow" and before[lit["b"]] == "blue"
    # the day after a due date that falls on a holiday-free Friday is late, not yet red
    pin_today(app, date(2023, 10, 16))  # 10/13 due: 10/16 only: yellow; 10/11 due: 10/12, 10/13, 10/16: yellow
    later = _lights(client, district)
    assert later[lit["c"]] == "yellow" and later[lit["d"]] == "yellow" and later[lit["b"]] == "red"


def test_the_filter_the_to_do_list_and_counts(client, app, district, lit) -> None:
    pin_today(app, TODAY)
    red = _lights(client, district, light="red")
    assert set(red) == {lit["a"], lit["f"]} and set(red.values()) == {"red"}
    assert set(_lights(client, district, light="blue")) == {lit["c"]}
    mine = client.get(f"{API}/me/assignments", params={"light": "yellow", "limit": 500}, headers=district.auth("sfj"))
    assert {row["id"] for row in mine.json()["items"]} == {lit["b"], lit["e"]}
    # per unit (the office's board) and a liaison's own
    board = client.get(f"{API}/campaigns/{district.campaign_id}/lights", headers=district.auth("office")).json()
    units = {u["unit_id"]: u for u in board["units"]}
    assert (units[district.sfj]["red"], units[district.sfj]["yellow"], units[district.sfj]["blue"]) == (2, 2, 1)
    assert (units[district.gaj]["yellow"], board["red"], board["yellow"], board["blue"]) == (1, 2, 3, 1)
    own = client.get(f"{API}/campaigns/{district.campaign_id}/lights", headers=district.auth("gaj")).json()
    assert [u["unit_id"] for u in own["units"]] == [district.gaj] and own["red"] == 0
    # per campaign in GraphQL, read from the tally and corrected for returns: the same figures
    body = gql(client, district.auth("office"), "query($id: Int!) { campaign(id: $id) { lights { blue yellow red } "
               "assignments(first: 100) { edges { node { id light } } } } }", {"id": district.campaign_id})  # fmt: skip
    assert "errors" not in body, body
    assert body["data"]["campaign"]["lights"] == {"blue": 1, "yellow": 3, "red": 2}
    nodes = {n["node"]["id"]: n["node"]["light"] for n in body["data"]["campaign"]["assignments"]["edges"]}
    assert nodes[lit["a"]] == "RED" and nodes[lit["c"]] == "BLUE"


def test_the_region_overview_counts_lights_per_county(client, app, world, district, lit) -> None:
    pin_today(app, TODAY)
    query = "{ counties(first: 100) { edges { node { id campaigns { id lights { blue yellow red } } } } } }"
    body = gql(client, world.auth("sx-province"), query)
    assert "errors" not in body, body
    mine = next(n["node"] for n in body["data"]["counties"]["edges"] if n["node"]["id"] == district.county_id)
    assert mine["campaigns"] == [{"id": district.campaign_id, "lights": {"blue": 1, "yellow": 3, "red": 2}}]
    other = gql(client, world.auth("yn-province"), query)["data"]["counties"]["edges"]
    assert all(n["node"]["id"] != district.county_id for n in other)


def test_the_campaigns_own_rules(client, app, world, district, lit) -> None:
    pin_today(app, TODAY)
    url = f"{API}/campaigns/{district.campaign_id}/supervision-rules"
    assert client.get(url, headers=district.auth("office")).json()["yellow_overdue_workdays"] == 5
    loose = {"yellow_overdue_workdays": 10, "yellow_returns": 3, "red_returns": 4, "blue_within_workdays": 5}
    for who, headers, code in (
        ("liaison", district.auth("sfj"), 403),
        ("another county", world.auth("gp-office"), 404),
        ("province", world.auth("sx-province"), 403),
    ):
        r = client.put(url, json=loose, headers=headers)
        assert r.status_code == code and r.headers["content-type"] == "application/problem+json", (who, r.text)
    bad = client.put(url, json={"yellow_returns": 3, "red_returns": 2}, headers=district.auth("office"))
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert client.put(url, json=loose, headers=district.auth("office")).status_code == 200
    try:
        found = _lights(client, district)
        # 6 working days late is yellow now, two returns light nothing, three are yellow, 10/13 is blue
        assert [found[lit[k]] for k in "abcdef"] == ["yellow", "yellow", "blue", "blue", "none", "yellow"]
    finally:
        assert client.put(url, json={}, headers=district.auth("office")).status_code == 200
    assert _lights(client, district)[lit["a"]] == "red"


def test_the_ledger_and_the_feed_show_the_light(client, app, district, lit) -> None:
    pin_today(app, TODAY)
    r = client.get(f"{API}/campaigns/{district.campaign_id}/ledger.xlsx", headers=district.auth("office"))
    assert r.status_code == 200
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(min_row=2, values_only=True))
    header, body = rows[0], rows[1:]
    shown = [dict(zip(header, row, strict=False))["预警"] or "" for row in body]
    assert sorted(s for s in shown if s) == ["红灯", "红灯", "蓝灯", "黄灯", "黄灯", "黄灯"]
    link = client.get(f"{API}/calendar/units/{district.sfj}/link", headers=district.auth("sfj")).json()["url"]
    feed = client.get(link)
    assert feed.status_code == 200
    events = list(Calendar.from_ical(feed.content).walk("VEVENT"))
    lamps = sorted(str(e["SUMMARY"]).rsplit("【", 1)[1] for e in events if str(e["SUMMARY"]).endswith("灯】"))
    assert lamps == ["红灯】", "红灯】", "蓝灯】", "黄灯】", "黄灯】"]
    assert any("预警：红灯" in str(e["DESCRIPTION"]) for e in events)


def test_rectification_items_light_by_their_due_date(client, app, district) -> None:
    pin_today(app, TODAY)
    made = client.post(
        f"{API}/campaigns/{district.campaign_id}/rectifications",
        json={"unit_id": district.gaj, "due_on": "2023-09-27", "problem": "执法公示不全"},
        headers=district.auth("office"),
    )
    assert made.status_code == 201, made.text
    listed = client.get(f"{API}/campaigns/{district.campaign_id}/rectifications", headers=district.auth("gaj")).json()
    assert [(r["id"], r["light"]) for r in listed["items"]] == [(made.json()["id"], "yellow")]
    pin_today(app, date(2023, 10, 11))
    one = client.get(f"{API}/rectifications/{made.json()['id']}", headers=district.auth("gaj")).json()
    assert one["light"] == "red"
    board = client.get(f"{API}/campaigns/{district.campaign_id}/lights", headers=district.auth("gaj")).json()
    assert board["units"][0]["red"] >= 1


def test_refusals_and_broken_input(client, app, world, district) -> None:
    pin_today(app, TODAY)
    url = f"{API}/campaigns/{district.campaign_id}"
    assert (
        client.get(f"{url}/assignments", params={"light": "purple"}, headers=district.auth("office")).status_code == 422
    )
    assert client.get(f"{url}/lights", headers=world.auth("gp-office")).status_code == 404
    assert client.get(f"{url}/lights", headers=world.auth("idle-evaluator")).status_code == 404
    assert client.get(f"{url}/supervision-rules", headers=world.auth("lc-sfj")).status_code == 404
