"""Reused evidence is visible (issue 13, point 3), through HTTP and GraphQL: the same bytes handed in by
another unit, for another item or in another campaign of the county are shown to the office, evaluators
and the province (never blocked, never to a liaison), and a version equal to a returned one is flagged."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlmodel import select

from app.models import Assignment
from tests.conftest import pin_today
from tests.evidence_kit import API, PICKER, find_listed, keep_from_pickers, pdf, upload
from tests.graphql_kit import gql
from tests.world import launched_campaign


@pytest.fixture(autouse=True)
def _during_submission(app, client) -> None:
    pin_today(app, date(2023, 2, 10))


@pytest.fixture(scope="module")
def second_campaign(world, database_url) -> int:
    """A second campaign of 陵川 (the same framework); its assignments are kept from the picker."""
    from sqlmodel import Session

    from app import db
    from app.models import Campaign

    with Session(db.get_engine(), expire_on_commit=False) as s:
        framework_id = s.get(Campaign, world.ids["lc_campaign"]).framework_id
        campaign = launched_campaign(s, county_id=world.ids["lc_county"], framework_id=framework_id, name="陵川复核")
        s.commit()
        rows = s.exec(select(Assignment.id).where(Assignment.campaign_id == campaign.id)).all()
        keep_from_pickers(s, list(rows))
    return campaign.id


def _assignment(session, campaign_id: int, unit_id: int) -> int:
    return session.exec(
        select(Assignment.id).where(Assignment.campaign_id == campaign_id, Assignment.unit_id == unit_id)
    ).first()


def test_the_same_bytes_elsewhere_in_the_county_are_shown_never_blocked(
    client, world, session, second_campaign
) -> None:
    body = pdf(f"county document {uuid.uuid4().hex}")
    first = PICKER.assignment(session, world.ids["lc_sfj"])
    other_item = PICKER.assignment(session, world.ids["lc_sfj"], exclude_items={first.item_id})
    other_unit = PICKER.assignment(session, world.ids["lc_gaj"])
    sent = {}
    for who, assignment_id in (
        ("lc-sfj", first.id),
        ("lc-sfj", other_item.id),
        ("lc-gaj", other_unit.id),
        ("lc-sfj", _assignment(session, second_campaign, world.ids["lc_sfj"])),
    ):
        r = upload(client, world.auth(who), assignment_id, body, "县政府文件.pdf")
        assert r.status_code == 201, r.text  # never blocked
        sent[(who, assignment_id)] = r.json()["id"]
    gp = _assignment(session, world.ids["gp_campaign"], world.ids["gp_sfj"])
    assert upload(client, world.auth("gp-sfj"), gp, body, "别县.pdf").status_code == 201  # another county
    mine = sent[("lc-sfj", first.id)]
    others = set(sent.values()) - {mine}

    office = client.get(f"{API}/evidence/{mine}", headers=world.auth("lc-office")).json()["reused_in"]
    assert {r["evidence_id"] for r in office} == others  # not itself, not the other county's
    by_id = {r["evidence_id"]: r for r in office}
    assert by_id[sent[("lc-gaj", other_unit.id)]]["unit_name"] == "县公安局"
    assert by_id[sent[("lc-sfj", other_item.id)]]["item_id"] == other_item.item_id
    again = by_id[sent[("lc-sfj", _assignment(session, second_campaign, world.ids["lc_sfj"]))]]
    assert again["campaign_id"] == second_campaign and again["campaign_name"] == "陵川复核" and again["version"] == 1
    province = client.get(f"{API}/evidence/{mine}", headers=world.auth("sx-province")).json()["reused_in"]
    assert {r["evidence_id"] for r in province} == others
    # An evaluator sees what it may read: the campaigns it is engaged for.
    evaluator = client.get(f"{API}/evidence/{mine}", headers=world.auth("evaluator")).json()["reused_in"]
    assert {r["evidence_id"] for r in evaluator} == others - {again["evidence_id"]}
    # A liaison is not told about other units' files, not even that there are any.
    assert client.get(f"{API}/evidence/{mine}", headers=world.auth("lc-sfj")).json()["reused_in"] is None

    reused = f"{API}/campaigns/{first.campaign_id}/evidence/reused"  # late in a run maybe another 陵川 campaign's
    listed = client.get(reused, params={"limit": 500}, headers=world.auth("lc-office"))
    assert listed.status_code == 200 and listed.json()["next"] is None
    [group] = [g for g in listed.json()["items"] if mine in {u["evidence_id"] for u in g["uses"]}]
    assert {u["evidence_id"] for u in group["uses"]} == others | {mine} and group["size"] == len(body)
    for who, status in (("lc-sfj", 403), ("gp-office", 404), ("yn-province", 404), ("sx-province", 200)):
        r = client.get(f"{API}/campaigns/{world.ids['lc_campaign']}/evidence/reused", headers=world.auth(who))
        assert r.status_code == status, (who, r.text)

    query = """query($c: Int!, $e: Int!) {
      campaign(id: $c) { reusedEvidence { sha256 uses { evidenceId unitName campaignName } } }
      evidence(id: $e) { reusedIn { evidenceId } }
    }"""
    data = gql(client, world.auth("lc-office"), query, {"c": first.campaign_id, "e": mine})["data"]
    [g] = [g for g in data["campaign"]["reusedEvidence"] if g["sha256"] == group["sha256"]]
    assert {u["evidenceId"] for u in g["uses"]} == others | {mine}
    assert {r["evidenceId"] for r in data["evidence"]["reusedIn"]} == others
    liaison = gql(
        client, world.auth("lc-sfj"), "query($e: Int!) { evidence(id: $e) { reusedIn { evidenceId } } }", {"e": mine}
    )
    assert liaison["data"]["evidence"]["reusedIn"] is None


def test_a_version_equal_to_a_returned_one_is_flagged(client, world, session) -> None:
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    body = pdf(f"returned {uuid.uuid4().hex}")
    ev = upload(client, world.auth("lc-sfj"), a.id, body, "方案.pdf").json()["id"]
    back = {"decision": "return", "version": 1, "comment": "缺少签章页"}
    assert client.post(f"{API}/evidence/{ev}/reviews", json=back, headers=world.auth("lc-office")).status_code == 201
    same = client.post(
        f"{API}/evidence/{ev}/versions/file",
        files={"file": ("方案（修改）.pdf", body, "application/pdf")},
        headers=world.auth("lc-sfj"),
    )
    assert same.status_code == 201 and same.json()["current"]["resubmitted_unchanged"] is True  # accepted, flagged
    shown = find_listed(client, world.auth("lc-office"), a.campaign_id, ev, status="submitted")
    assert shown["current"]["resubmitted_unchanged"] is True
    back = {"decision": "return", "version": 2, "comment": "仍缺少签章页"}
    assert client.post(f"{API}/evidence/{ev}/reviews", json=back, headers=world.auth("lc-office")).status_code == 201
    fixed = client.post(
        f"{API}/evidence/{ev}/versions/file",
        files={"file": ("方案.pdf", pdf(f"signed {uuid.uuid4().hex}"), "application/pdf")},
        headers=world.auth("lc-sfj"),
    ).json()
    assert [v["resubmitted_unchanged"] for v in fixed["versions"]] == [False, True, False]
    # A statement handed in again word for word after a return is flagged the same way.
    st = client.post(
        f"{API}/assignments/{a.id}/evidence",
        json={"kind": "statement", "text": "无此项工作"},
        headers=world.auth("lc-sfj"),
    ).json()["id"]
    back = {"decision": "return", "version": 1, "comment": "请附依据"}
    client.post(f"{API}/evidence/{st}/reviews", json=back, headers=world.auth("lc-office"))
    again = client.post(
        f"{API}/evidence/{st}/versions", json={"kind": "statement", "text": "无此项工作"}, headers=world.auth("lc-sfj")
    )
    assert again.json()["current"]["resubmitted_unchanged"] is True
    gql_body = gql(
        client, world.auth("lc-office"), "query($e: Int!) { evidence(id: $e) { versions { resubmittedUnchanged } } }",
        {"e": ev},
    )  # fmt: skip
    assert [v["resubmittedUnchanged"] for v in gql_body["data"]["evidence"]["versions"]] == [False, True, False]
