"""Working days, the deadline board and progress counts, through HTTP."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

from tests.conftest import pin_today

STATUSES = ("not_started", "submitted", "returned", "approved")  # the workflow; overdue is a separate flag


def _all_rows(client, world, who: str) -> list[dict]:
    """Every assignment the caller sees, through the list endpoint (an independent path to the counts)."""
    url = f"/api/v1/campaigns/{world.ids['lc_campaign']}/assignments"
    rows, offset = [], 0
    while True:
        page = client.get(url, params={"limit": 500, "offset": offset}, headers=world.auth(who)).json()
        rows += page["items"]
        offset += 500
        if offset >= page["total"]:
            return rows


def test_working_days_follow_chinas_calendar(client, world) -> None:
    h = world.auth("lc-office")
    # 2023-01-20 is a Friday before 春节 (21–27 off); 28 and 29 January are 调休 make-up workdays.
    r = client.get("/api/v1/calendar/due", params={"from_date": "2023-01-20", "days": 5}, headers=h).json()
    assert r["due_on"] == "2023-02-01" and r["calendar_covers"] == [2004, 2026]
    cal = client.get(
        "/api/v1/calendar/due", params={"from_date": "2023-01-20", "days": 5, "unit": "calendar"}, headers=h
    ).json()
    assert cal["due_on"] == "2023-01-25"
    # 国庆 2026: 1–7 October off, Saturday 10 October worked.
    r = client.get("/api/v1/calendar/due", params={"from_date": "2026-09-30", "days": 1}, headers=h).json()
    assert r["due_on"] == "2026-10-08"
    r = client.get("/api/v1/calendar/due", params={"from_date": "2026-10-09", "days": 1}, headers=h).json()
    assert r["due_on"] == "2026-10-10"


def test_outside_the_calendar_is_weekends_only_and_says_so(client, world) -> None:
    # (Was a 422 calendar_out_of_range until issue 14: lists and boards failed at every year end.)
    h = world.auth("lc-office")
    r = client.get("/api/v1/calendar/due", params={"from_date": "2026-12-28", "days": 10}, headers=h)
    assert r.status_code == 200 and r.json()["due_on"] == "2027-01-11" and r.json()["provisional"] is True
    # Calendar days need no calendar.
    r = client.get(
        "/api/v1/calendar/due", params={"from_date": "2026-12-28", "days": 10, "unit": "calendar"}, headers=h
    )
    assert r.status_code == 200 and r.json()["due_on"] == "2027-01-07" and r.json()["provisional"] is False
    assert client.get("/api/v1/calendar/due", params={"days": 1}).status_code == 401


def test_due_date_in_working_days(client, app, world) -> None:
    h = world.auth("lc-office")
    row = client.get(
        f"/api/v1/campaigns/{world.ids['lc_campaign']}/assignments",
        params={"unit_id": world.ids["lc_gaj"], "limit": 1, "offset": 3},
        headers=h,
    ).json()["items"][0]
    pin_today(app, date(2023, 1, 20))
    url = f"/api/v1/assignments/{row['id']}"
    r = client.patch(url, json={"due_in": {"days": 5}}, headers=h)
    assert r.status_code == 200 and r.json()["due_on"] == "2023-02-01" and r.json()["due_overridden"]
    both = client.patch(url, json={"due_on": "2023-03-01", "due_in": {"days": 5}}, headers=h)
    assert both.status_code == 422
    assert client.get(url, headers=h).json()["due_on"] == "2023-02-01"  # nothing half-changed
    # A year nobody has published counts weekends only (2030-01-02 is a Wednesday).
    far = client.patch(url, json={"due_in": {"days": 5, "from_date": "2030-01-02"}}, headers=h)
    assert far.status_code == 200 and far.json()["due_on"] == "2030-01-09"
    assert client.patch(url, json={"due_in": {"days": 5}}, headers=world.auth("lc-gaj")).status_code == 403
    client.patch(url, json={"due_on": None}, headers=h)


def test_office_lists_overdue_by_unit_on_1_march(client, app, world) -> None:
    pin_today(app, date(2023, 3, 1))
    h = world.auth("lc-office")
    board = client.get(f"/api/v1/campaigns/{world.ids['lc_campaign']}/deadlines", headers=h).json()
    rows = _all_rows(client, world, "lc-office")
    overdue = Counter(r["unit_name"] for r in rows if r["overdue"])
    assert board["as_of"] == "2023-03-01" and board["due_soon_until"] == "2023-03-06"
    assert {r["label"]: r["overdue"] for r in board["by_unit"] if r["overdue"]} == dict(overdue)
    assert board["totals"]["overdue"] == sum(overdue.values()) > 100
    assert sum(r["overdue"] for r in board["by_level1"]) == board["totals"]["overdue"]
    # Returned work counts as waiting whether or not it is also overdue (the list keeps its status too).
    assert board["totals"]["returned"] == sum(1 for r in rows if r["status"] == "returned")
    # The rows behind one unit's count, from the list.
    gaj = next(r for r in board["by_unit"] if r["id"] == world.ids["lc_gaj"])
    listed = client.get(
        f"/api/v1/campaigns/{world.ids['lc_campaign']}/assignments",
        params={"unit_id": world.ids["lc_gaj"], "overdue": "true", "limit": 1},
        headers=h,
    ).json()
    assert listed["total"] == gaj["overdue"]


def test_due_soon_counts_working_days(client, app, world) -> None:
    h = world.auth("lc-office")
    url = f"/api/v1/campaigns/{world.ids['lc_campaign']}"
    # Friday 24 Feb 2023: three working days ahead reach Wednesday 1 March, so 28 Feb is due soon.
    pin_today(app, date(2023, 2, 24))
    board = client.get(f"{url}/deadlines", params={"within": 3}, headers=h).json()
    assert board["due_soon_until"] == "2023-03-01"
    open_rows = [r for r in _all_rows(client, world, "lc-office") if r["status"] in ("not_started", "returned")]
    soon = [r for r in open_rows if "2023-02-24" <= r["due_on"] <= "2023-03-01"]
    assert board["totals"]["due_soon"] == len(soon) > 0 and board["totals"]["overdue"] == 0
    listed = client.get(f"{url}/assignments", params={"due_within_workdays": 3, "limit": 1}, headers=h).json()
    assert listed["total"] == len(soon)
    # On 20 Feb only one working day ahead (21 Feb): nothing due at the end of February yet.
    pin_today(app, date(2023, 2, 20))
    early = client.get(f"{url}/deadlines", params={"within": 1}, headers=h).json()
    assert early["due_soon_until"] == "2023-02-21"
    assert early["totals"]["due_soon"] == len([r for r in open_rows if r["due_on"] <= "2023-02-21"])


def test_liaison_board_is_its_own_unit(client, app, world) -> None:
    pin_today(app, date(2023, 3, 1))
    board = client.get(f"/api/v1/campaigns/{world.ids['lc_campaign']}/deadlines", headers=world.auth("lc-gaj")).json()
    assert [r["id"] for r in board["by_unit"]] == [world.ids["lc_gaj"]]
    assert board["totals"]["id"] == world.ids["lc_campaign"]
    other = client.get(f"/api/v1/campaigns/{world.ids['gp_campaign']}/deadlines", headers=world.auth("lc-gaj"))
    assert other.status_code == 404
    assert (
        client.get(
            f"/api/v1/campaigns/{world.ids['lc_campaign']}/deadlines", headers=world.auth("yn-province")
        ).status_code
        == 404
    )


def test_progress_counts_match_the_list(client, app, world) -> None:
    pin_today(app, date(2023, 3, 1))
    h = world.auth("lc-office")
    report = client.get(f"/api/v1/campaigns/{world.ids['lc_campaign']}/progress", headers=h).json()
    rows = _all_rows(client, world, "lc-office")
    whole = report["groups"]["campaign"][0]
    assert whole["total"] == len(rows)
    assert {s: whole[s] for s in STATUSES} == {s: sum(1 for r in rows if r["status"] == s) for s in STATUSES}
    assert sum(whole[s] for s in STATUSES) == whole["total"]
    assert whole["overdue"] == sum(1 for r in rows if r["overdue"]) > 0  # counted besides the status
    done = sum(1 for r in rows if r["status"] in ("submitted", "approved"))
    assert whole["submitted_pct"] == round(100 * done / len(rows), 1)
    for grouping in ("section", "level1", "level2", "unit"):
        assert sum(g["total"] for g in report["groups"][grouping]) == len(rows), grouping
    by_unit = Counter(r["unit_name"] for r in rows)
    assert {g["label"]: g["total"] for g in report["groups"]["unit"]} == dict(by_unit)
    sections = [g["code"] for g in report["groups"]["section"]]
    assert sections == ["indicator", "bonus"]  # 否决项 name no unit: nothing to assign
    # every group carries its id as an integer (a section's too), never as a string
    for grouping, groups in report["groups"].items():
        assert all(isinstance(g["id"], int) or (g["id"] is None and grouping.startswith("level")) for g in groups)
        assert all((g["code"] is not None) == (grouping == "section") for g in groups)
    assert [g["id"] for g in report["groups"]["campaign"]] == [world.ids["lc_campaign"]]
    only = client.get(
        f"/api/v1/campaigns/{world.ids['lc_campaign']}/progress", params={"by": "level1"}, headers=h
    ).json()
    assert list(only["groups"]) == ["level1"] and len(only["groups"]["level1"]) >= 9


def test_progress_for_liaison_and_province(client, app, world) -> None:
    pin_today(app, date(2023, 3, 1))
    url = f"/api/v1/campaigns/{world.ids['lc_campaign']}/progress"
    mine = client.get(url, params={"by": "unit"}, headers=world.auth("lc-sfj")).json()
    assert [g["id"] for g in mine["groups"]["unit"]] == [world.ids["lc_sfj"]]
    province = client.get(url, params={"by": "campaign"}, headers=world.auth("sx-province"))
    assert province.status_code == 200 and province.json()["groups"]["campaign"][0]["total"] > 1000
    assert client.get(url, headers=world.auth("yn-province")).status_code == 404
    assert client.get(url, params={"by": "town"}, headers=world.auth("lc-office")).status_code == 422


def test_unit_deadline_calendar_feed(client, world) -> None:
    from icalendar import Calendar

    unit = world.ids["lc_sfj"]
    link = client.get(f"/api/v1/calendar/units/{unit}/link", headers=world.auth("lc-sfj"))
    assert link.status_code == 200
    url = link.json()["url"]
    token = url.split("token=", 1)[1]
    feed = client.get(url)  # no bearer: calendar apps cannot send one
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    assert all(len(line.encode()) <= 75 for line in feed.text.split("\r\n"))
    cal = Calendar.from_ical(feed.content)
    events = [c for c in cal.walk("VEVENT")]
    mine = client.get("/api/v1/me/assignments", params={"limit": 500}, headers=world.auth("lc-sfj")).json()["items"]
    assert len(events) == sum(1 for a in mine if a["status"] != "approved") > 10
    first = events[0]
    assert str(first["SUMMARY"]).startswith("【截止】") and first["DTSTART"].dt.isoformat() == mine[0]["due_on"]
    # The status as a liaison reads it, in Chinese, late ones marked (the 2023 world is long past due today;
    # other tests may have submitted some of these items meanwhile).
    states = [re.search("当前状态：(未报送|已报送|退回补充)(（已逾期）)?$", str(e["DESCRIPTION"])) for e in events]
    assert all(states) and any(m.group(2) for m in states if m and m.group(1) != "已报送")
    assert "not_started" not in feed.text and "returned" not in feed.text
    # The feed token is not an API token, works for its unit only, and a liaison cannot subscribe to another unit.
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    other = client.get(f"/api/v1/calendar/units/{world.ids['lc_gaj']}/deadlines.ics", params={"token": token})
    assert other.status_code == 401 and other.json()["code"] == "feed_token_invalid"
    assert (
        client.get(f"/api/v1/calendar/units/{world.ids['lc_gaj']}/link", headers=world.auth("lc-sfj")).status_code
        == 404
    )
    assert client.get(f"/api/v1/calendar/units/{unit}/link", headers=world.auth("gp-office")).status_code == 404
    assert client.get(f"/api/v1/calendar/units/{unit}/link", headers=world.auth("lc-office")).status_code == 200
    province = client.get(f"/api/v1/calendar/units/{unit}/link", headers=world.auth("sx-province"))
    assert province.status_code == 403 and province.json()["code"] == "feed_not_allowed"
    assert client.get(f"/api/v1/calendar/units/{unit}/deadlines.ics", params={"token": "x.y.z"}).status_code == 401


def test_calendar_uids_are_unique_across_deployments(client, world, monkeypatch) -> None:
    """Event UIDs carry where the deployment is reached (SHIFAN_PUBLIC_URL's host and path), so two counties'
    servers never hand a calendar app the same UID; without the setting, a per-deployment id kept in ./var."""
    from icalendar import Calendar

    from app.settings import get_settings

    unit = world.ids["lc_sfj"]
    url = client.get(f"/api/v1/calendar/units/{unit}/link", headers=world.auth("lc-sfj")).json()["url"]

    def uids() -> list[str]:
        return [str(e["UID"]) for e in Calendar.from_ical(client.get(url).content).walk("VEVENT")]

    unset = uids()
    assert len(set(unset)) == len(unset) > 10 and unset == uids()  # stable between fetches
    assert all(re.fullmatch(r"assignment-\d+@[0-9a-f]{16}\.shifan\.invalid", u) for u in unset), unset[0]
    monkeypatch.setenv("SHIFAN_PUBLIC_URL", "https://fzzf.example.gov.cn/lingchuan/")
    get_settings.cache_clear()
    try:
        named = uids()
    finally:
        monkeypatch.delenv("SHIFAN_PUBLIC_URL")
        get_settings.cache_clear()
    assert [u.split("@")[0] for u in named] == [u.split("@")[0] for u in unset]
    assert all(u.endswith("@fzzf.example.gov.cn/lingchuan") for u in named)
