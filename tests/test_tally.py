"""The assignment tally (kept by triggers) against a full recount from the assignments, after real operations
through HTTP, and the region overview's progress (read from the tally) against the progress report (counted
from the assignments)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, select

from app.db import get_engine
from app.models import Assignment, AssignmentTally
from app.services.campaign import tally
from tests.conftest import pin_today
from tests.evidence_kit import PICKER, Picker
from tests.graphql_kit import OVERVIEW, gql

API = "/api/v1"
_FIELDS = ("total", "notStarted", "submitted", "returned", "approved", "overdue")
_REST = ("total", "not_started", "submitted", "returned", "approved", "overdue")


def _stored() -> list[tuple]:
    with Session(get_engine()) as s:
        rows = s.exec(select(AssignmentTally).order_by(*AssignmentTally.__table__.primary_key.columns)).all()
        return [(r.campaign_id, r.unit_id, r.status, r.due_on, r.n) for r in rows]


def _recounted() -> list[tuple]:
    with Session(get_engine()) as s:
        return tally.recount(s)


def _check(client, world, label: str) -> None:
    """The stored tally is the recount, and the overview shows what the progress report counts."""
    assert _stored() == _recounted(), label
    body = gql(client, world.auth("sx-province"), OVERVIEW, {"first": 50})
    assert "errors" not in body, body
    campaigns = [c for e in body["data"]["counties"]["edges"] for c in e["node"]["campaigns"]]
    assert campaigns, label
    for c in campaigns:
        url = f"{API}/campaigns/{c['id']}/progress"
        rest = client.get(url, params={"by": "campaign"}, headers=world.auth("sx-province"))
        assert rest.status_code == 200, rest.text
        [row] = rest.json()["groups"]["campaign"] or [None]
        fast = c["progress"]
        if row is None:
            assert fast is None or fast["total"] == 0, label
            continue
        assert [fast[k] for k in _FIELDS] == [row[k] for k in _REST], (label, c["id"])


def test_tally_follows_every_change_through_http(client, app, world, session) -> None:
    office, liaison = world.auth("lc-office"), world.auth("lc-sfj")
    campaign = world.ids["lc_campaign"]
    pin_today(app, date(2023, 2, 1))
    _check(client, world, "start")

    a, b = PICKER.assignment(session, world.ids["lc_sfj"]), PICKER.assignment(session, world.ids["lc_sfj"])
    link = {"kind": "url", "url": "https://example.gov.cn/zhidu"}
    ev = client.post(f"{API}/assignments/{a.id}/evidence", json=link, headers=liaison)
    assert ev.status_code == 201, ev.text
    ev_b = client.post(f"{API}/assignments/{b.id}/evidence", json=link, headers=liaison).json()
    _check(client, world, "submitted")
    reviews = f"{API}/evidence/{ev.json()['id']}/reviews"
    r = client.post(reviews, json={"decision": "return", "version": 1, "comment": "缺少文号"}, headers=office)
    assert r.status_code == 201, r.text
    _check(client, world, "returned")
    again = client.post(f"{API}/evidence/{ev.json()['id']}/versions", json=link, headers=liaison)
    assert again.status_code == 201, again.text
    assert client.post(reviews, json={"decision": "approve", "version": 2}, headers=office).status_code == 201
    _check(client, world, "approved")
    r = client.post(reviews, json={"decision": "reopen", "version": 2, "comment": "文号有误"}, headers=office)
    assert r.status_code == 201, r.text
    withdrawn = client.post(f"{API}/evidence/{ev_b['id']}/versions/1/withdraw", headers=liaison)
    assert withdrawn.status_code == 200, withdrawn.text
    _check(client, world, "reopened and withdrawn")

    # Due dates: an override, a count of working days, back to the phase's end; overdue as the days pass.
    url = f"{API}/assignments/{a.id}"
    assert client.patch(url, json={"due_on": "2023-01-15"}, headers=office).status_code == 200
    _check(client, world, "overdue by override")
    assert client.patch(url, json={"due_in": {"days": 3}}, headers=office).status_code == 200
    assert client.patch(url, json={"due_on": None}, headers=office).status_code == 200
    for day in (date(2023, 2, 28), date(2023, 3, 1), date(2023, 6, 1)):
        pin_today(app, day)
        _check(client, world, f"as of {day}")

    # After the deadline, a late window lets the unit submit again.
    pin_today(app, date(2023, 3, 2))
    window = {"unit_id": world.ids["lc_sfj"], "until": "2023-03-10", "reason": "补交材料"}
    # (b's campaign: the world's, or another of the unit's when the suite has used up the world's items)
    late_url = f"{API}/campaigns/{b.campaign_id}/late-windows"
    assert client.post(late_url, json=window, headers=office).status_code == 201
    late = client.post(f"{API}/evidence/{ev_b['id']}/versions", json=link, headers=liaison)
    assert late.status_code == 201, late.text
    _check(client, world, "late submission")

    # An assignment the office adds by hand, then (no route does this yet) moved to another unit and deleted.
    # (in the world's campaign, or in b's when the suite has given 县司法局 every item of the world's)
    for target in dict.fromkeys((campaign, b.campaign_id)):
        picker = Picker(target)
        free_for_sfj = set(picker._free_items(session, world.ids["lc_sfj"]))
        free = [i for i in picker._free_items(session, world.ids["lc_gaj"]) if i in free_for_sfj]
        if free:
            break
    assert free, "an item neither unit has, so the move below always runs"
    made = client.post(
        f"{API}/campaigns/{target}/assignments",
        json={"item_id": free[0], "unit_id": world.ids["lc_gaj"]},
        headers=office,
    )
    assert made.status_code == 201, made.text
    _check(client, world, "added")
    with Session(get_engine()) as s:
        s.execute(sa.update(Assignment).where(Assignment.id == made.json()["id"]).values(unit_id=world.ids["lc_sfj"]))
        s.commit()
        _check(client, world, "reassigned")
        s.execute(sa.delete(Assignment).where(Assignment.id == made.json()["id"]))
        s.commit()
    _check(client, world, "deleted")


def test_rebuild_gives_the_same_tally(world) -> None:
    before = _stored()
    with Session(get_engine()) as s:
        s.execute(sa.update(AssignmentTally).values(n=AssignmentTally.n + 5))  # damage it
        tally.rebuild(s)
        s.commit()
    assert _stored() == before == _recounted()
