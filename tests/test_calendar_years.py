"""Working days after the built-in calendar ends: holiday notices loaded as data (REST and CLI), weekends
only and `provisional` for a year nobody loaded, lists and boards across the year end, and a worker that
never exits on a data error."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pytest

from app import cli
from tests.conftest import pin_today

API = "/api/v1"
DATA = Path(__file__).resolve().parents[1] / "data" / "calendar"

# 2031: no notice exists and the library stops at 2026 (a year the shared world never uses).
NOTICE_2031 = {
    "title": "国务院办公厅关于2031年部分节假日安排的通知（测试）",
    "document_number": "测试〔2030〕1号",
    "festivals": [
        {"name": "元旦", "holiday_from": "2031-01-01", "holiday_to": "2031-01-03", "make_up_workdays": ["2031-01-05"]},
    ],
}


def _due(client, headers, start: str, days: int) -> dict:
    r = client.get(f"{API}/calendar/due", params={"from_date": start, "days": days}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_an_admin_loads_a_year_and_it_wins(client, world) -> None:
    admin, office = world.auth("sysadmin"), world.auth("lc-office")
    # Before: 2031 is counted as weekends only, and the answer says so.
    before = _due(client, office, "2030-12-31", 3)
    assert before["due_on"] == "2031-01-03" and before["provisional"] is True
    r = client.put(f"{API}/calendar/years/2031", json=NOTICE_2031, headers=admin)
    assert r.status_code == 200, r.text
    assert (r.json()["holidays"], r.json()["make_up_workdays"]) == (3, 1)
    # After: 1–3 January off, Sunday 5 January worked; inside 2031 the answer is no longer provisional.
    inside = _due(client, office, "2031-01-01", 1)
    assert inside["due_on"] == "2031-01-05" and inside["provisional"] is False
    assert _due(client, office, "2031-01-05", 1)["due_on"] == "2031-01-06"
    # Across the year end it still depends on 2030, which nobody loaded.
    assert _due(client, office, "2030-12-31", 3)["provisional"] is True
    listed = client.get(f"{API}/calendar/years", headers=office).json()
    mine = next(y for y in listed["items"] if y["year"] == 2031)
    assert mine["festivals"] == [
        {"name": "元旦", "holiday_from": "2031-01-01", "holiday_to": "2031-01-03", "make_up_workdays": ["2031-01-05"]}
    ]
    assert mine["document_number"] == "测试〔2030〕1号" and mine["loaded_by"] is not None
    # Loading the year again replaces it whole (a corrected notice), and the trail keeps both.
    corrected = {**NOTICE_2031, "title": "更正", "festivals": [{**NOTICE_2031["festivals"][0], "make_up_workdays": []}]}
    again = client.put(f"{API}/calendar/years/2031", json=corrected, headers=admin)
    assert again.status_code == 200 and again.json()["make_up_workdays"] == 0
    assert _due(client, office, "2031-01-01", 1)["due_on"] == "2031-01-06"  # Sunday 5 January no longer worked
    listed = client.get(f"{API}/calendar/years", headers=office).json()["items"]
    assert [y["title"] for y in listed if y["year"] == 2031] == ["更正"]
    trail = client.get(f"{API}/audit", params={"action": "calendar.year.load"}, headers=world.auth("auditadmin")).json()
    mine = [e for e in trail["items"] if e["object_id"] == "2031"]
    assert len(mine) == 2 and any(e["before"] and e["before"]["make_up_workdays"] == 1 for e in mine)


def test_a_loaded_year_wins_over_the_library(client, world) -> None:
    admin, office = world.auth("sysadmin"), world.auth("lc-office")
    # The library knows 2010: Friday 26 February + 1 working day is Monday 1 March.
    assert _due(client, office, "2010-02-26", 1) == {**_due(client, office, "2010-02-26", 1), "due_on": "2010-03-01"}
    notice = {
        "title": "2010 测试",
        "festivals": [{"name": "测试", "holiday_from": "2010-03-01", "holiday_to": "2010-03-01"}],
    }
    assert client.put(f"{API}/calendar/years/2010", json=notice, headers=admin).status_code == 200
    answer = _due(client, office, "2010-02-26", 1)
    assert answer["due_on"] == "2010-03-02" and answer["provisional"] is False


def test_loading_refuses_other_roles_and_wrong_notices(client, world) -> None:
    url = f"{API}/calendar/years/2032"
    body = {**NOTICE_2031, "festivals": [{**NOTICE_2031["festivals"][0]}]}
    body["festivals"][0] = {"name": "元旦", "holiday_from": "2032-01-01", "holiday_to": "2032-01-02"}
    for who in ("lc-office", "lc-sfj", "sx-province", "evaluator"):
        r = client.put(url, json=body, headers=world.auth(who))
        assert r.status_code == 403 and r.json()["code"] == "admin_only"
    assert client.put(url, json=body).status_code == 401
    admin = world.auth("sysadmin")
    weekday = {**body, "festivals": [{**body["festivals"][0], "make_up_workdays": ["2032-01-07"]}]}  # a Wednesday
    r = client.put(url, json=weekday, headers=admin)
    assert r.status_code == 422 and r.json()["code"] == "calendar_year_invalid"
    assert "不是周六或周日" in r.json()["errors"][0]["msg"]
    elsewhere = {**body, "festivals": [{"name": "春节", "holiday_from": "2034-02-01", "holiday_to": "2034-02-03"}]}
    assert client.put(url, json=elsewhere, headers=admin).json()["code"] == "calendar_year_invalid"
    twice = {**body, "festivals": [body["festivals"][0], body["festivals"][0]]}
    assert client.put(url, json=twice, headers=admin).status_code == 422
    backwards = {**body, "festivals": [{"name": "元旦", "holiday_from": "2032-01-02", "holiday_to": "2032-01-01"}]}
    assert client.put(url, json=backwards, headers=admin).status_code == 422
    assert client.put(f"{API}/calendar/years/1999", json=body, headers=admin).status_code == 422
    years = [y["year"] for y in client.get(f"{API}/calendar/years", headers=admin).json()["items"]]
    assert 2032 not in years  # nothing half-loaded


def test_the_shipped_2026_notice_matches_the_library(client, world, capsys) -> None:
    from chinese_calendar.constants import holidays, workdays

    cli.main(["calendar", "load", str(DATA / "2026.json")])
    assert "2026 年节假日安排已载入" in capsys.readouterr().out
    mine = next(
        y
        for y in client.get(f"{API}/calendar/years", headers=world.auth("sysadmin")).json()["items"]
        if y["year"] == 2026
    )
    days_off = {d for d in holidays if d.year == 2026}
    worked = {d for d in workdays if d.year == 2026}
    assert (mine["holidays"], mine["make_up_workdays"]) == (len(days_off), len(worked)) == (33, 6)
    office = world.auth("lc-office")
    assert _due(client, office, "2026-09-30", 1)["due_on"] == "2026-10-08"  # 国庆 as the notice says
    assert _due(client, office, "2026-10-09", 1)["due_on"] == "2026-10-10"  # Saturday 10 October worked
    assert not list(DATA.glob("2027*.json"))  # no 2027 file: that notice could not be verified


def test_lists_and_boards_cross_the_year_end(client, app, world) -> None:
    pin_today(app, date(2026, 12, 28))
    office, liaison = world.auth("lc-office"), world.auth("lc-sfj")
    cid = world.ids["lc_campaign"]
    board = client.get(f"{API}/campaigns/{cid}/deadlines", params={"within": 30}, headers=office)
    assert board.status_code == 200 and board.json()["provisional"] is True
    assert board.json()["due_soon_until"] == "2027-02-08"  # 30 weekdays: 2027 counted as weekends only
    todo = client.get(f"{API}/me/assignments", params={"due_within_workdays": 30}, headers=liaison)
    assert todo.status_code == 200 and todo.json()["provisional"] is True
    listed = client.get(f"{API}/campaigns/{cid}/assignments", params={"due_within_workdays": 30}, headers=office)
    assert listed.status_code == 200 and listed.json()["provisional"] is True
    due = _due(client, office, "2026-12-28", 10)
    assert due["due_on"] == "2027-01-11" and due["provisional"] is True
    ready = client.get("/readyz").json()
    assert ready["status"] == "ok" and ready["calendar"] == "provisional" and "2027" in ready["warnings"][0]
    # Inside the known years nothing is provisional.
    pin_today(app, date(2023, 3, 1))
    assert client.get(f"{API}/campaigns/{cid}/deadlines", headers=office).json()["provisional"] is False
    assert (
        client.get(f"{API}/me/assignments", params={"due_within_workdays": 3}, headers=liaison).json()["provisional"]
        is False
    )
    assert client.get("/readyz").json()["calendar"] == "ok"
    gql = client.post(
        "/graphql",
        json={"query": f"{{ campaign(id: {cid}) {{ deadlines(within: 3) {{ provisional dueSoonUntil }} }} }}"},
        headers=office,
    ).json()
    assert gql["data"]["campaign"]["deadlines"] == {"provisional": False, "dueSoonUntil": "2023-03-06"}


class _Recorder:
    """Stands in for events.emit: fails on the first reminder, records the others (nothing is written, so the
    shared world's reminder keys stay untouched)."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.data: list[dict] = []

    def __call__(self, session, *, kind, county_id, campaign_id, data, dedupe_key=None):  # noqa: ANN001, ANN204
        if not self.keys:
            self.keys.append(f"FAILED {dedupe_key}")
            raise ValueError("broken reminder data")
        self.keys.append(dedupe_key)
        self.data.append(data)
        return object()


def test_one_bad_reminder_is_skipped_not_the_scan(monkeypatch, world, caplog) -> None:
    from app.db import session_scope
    from app.services.notifications import events

    recorder = _Recorder()
    monkeypatch.setattr(events, "emit", recorder)
    caplog.set_level(logging.ERROR, logger="shifan.worker")
    with session_scope() as s:
        created = events.scan_deadlines(s, today=date(2023, 3, 1), within_workdays=3)
    assert len(recorder.keys) > 2 and created == len(recorder.keys) - 1
    assert "skipped" in caplog.text and recorder.keys[0].removeprefix("FAILED ") in caplog.text


def test_the_worker_never_exits_on_a_data_error(monkeypatch, world, capsys) -> None:
    from app.services.notifications import delivery, events
    from app.services.supervision import escalation

    recorder = _Recorder()
    batches: list[int] = []
    scans: list[date] = []
    monkeypatch.setattr(events, "emit", recorder)
    # the 督办 scan runs in the same lane (tests/test_supervision_*.py prove what it does): here only that the lane
    # calls it — run for real on 2026-12-28 it would card every open task of the shared world's unfrozen campaigns
    monkeypatch.setattr(escalation, "scan", lambda session, *, today, **_: scans.append(today) or 0)
    monkeypatch.setattr(delivery, "run_once", lambda client, **_: batches.append(1) or {"claimed": 0})
    # Late December 2026: the old worker died here (2027 was out of the calendar's range).
    cli.main(["worker", "--once", "--today", "2026-12-28"])
    out = capsys.readouterr().out
    assert "2027 年节假日安排尚未载入" in out and "reminders:" in out and batches == [1]
    assert scans == [date(2026, 12, 28)]
    assert len(recorder.keys) > 1  # every other reminder still went out

    def broken(*_: object, **__: object) -> int:
        raise RuntimeError("unexpected row")

    monkeypatch.setattr(events, "scan_deadlines", broken)
    cli.main(["worker", "--once", "--today", "2026-12-28"])
    out = capsys.readouterr().out
    assert "reminders: batch failed" in out and batches == [1, 1]  # the deliveries went on


@pytest.mark.parametrize("name", ["2026.json"])
def test_shipped_notices_parse(name: str) -> None:
    from app.services.calendar import holidays

    doc = holidays.parse_file(DATA / name)
    assert doc.year == int(name[:4]) and doc.source_url


def test_working_days_cost_one_statement_whatever_the_horizon(client, app, world) -> None:
    """The calendar is read once per request (one statement for every loaded year), never once per day."""
    from tests.test_query_counts import counting

    pin_today(app, date(2026, 12, 1))
    office = world.auth("lc-office")
    url = f"{API}/campaigns/{world.ids['lc_campaign']}/deadlines"
    seen = {}
    for within in (1, 60):
        with counting() as statements:
            assert client.get(url, params={"within": within}, headers=office).status_code == 200
        seen[within] = len(statements)
        assert sum("calendar_day" in s for s in statements) == 1
    assert seen[1] == seen[60]
    with counting() as statements:
        r = client.get(f"{API}/me/assignments", params={"due_within_workdays": 60}, headers=world.auth("lc-sfj"))
    # a read-only request may take the calendar its process keeps (app/kept.py): no statement at all
    assert r.status_code == 200 and sum("calendar_day" in s for s in statements) <= 1


def test_a_date_past_the_end_of_time_is_refused_not_a_crash(client, world) -> None:
    for unit in ("workdays", "calendar"):
        r = client.get(
            f"{API}/calendar/due",
            params={"from_date": "9999-12-20", "days": 30, "unit": unit},
            headers=world.auth("lc-office"),
        )
        assert r.status_code == 422 and r.json()["code"] == "date_out_of_range", unit
