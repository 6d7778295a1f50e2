"""The audit trail beyond evidence: the office's other changes, who may read it, filters."""

from __future__ import annotations

from tests.evidence_kit import API


def test_office_changes_are_audited_with_before_and_after(client, world) -> None:
    office = world.auth("lc-office")
    row = client.get(
        f"{API}/campaigns/{world.ids['lc_campaign']}/assignments",
        params={"unit_id": world.ids["lc_gaj"], "limit": 1, "offset": 3},
        headers=office,
    ).json()["items"][0]
    trail = {"object_type": "assignment", "object_id": str(row["id"])}
    earlier = client.get(f"{API}/audit", params=trail, headers=office).json()["total"]  # other tests' changes
    client.patch(f"{API}/assignments/{row['id']}", json={"due_on": None}, headers=office)  # start from the phase end
    client.patch(
        f"{API}/assignments/{row['id']}", json={"due_on": "2023-03-20"}, headers={**office, "X-Request-ID": "due-1"}
    )
    client.patch(f"{API}/assignments/{row['id']}", json={"due_on": None}, headers=office)
    unit = client.post(
        f"{API}/counties/{world.ids['lc_county']}/units",
        json={"name": "县档案馆", "kind": "department"},
        headers=office,
    )
    assert unit.status_code == 201

    page = client.get(f"{API}/audit", params=trail, headers=office).json()
    assert page["total"] == earlier + 3
    due = page["items"][:2]  # newest first: the reset, then the override
    assert [e["action"] for e in due] == ["assignment.due", "assignment.due"]
    override = due[1]
    assert override["request_id"] == "due-1" and override["username"] == "lc-office"
    assert override["before"]["due_on"] == "2023-02-28" and override["after"]["due_on"] == "2023-03-20"
    assert due[0]["after"] == {**due[0]["after"], "due_on": "2023-02-28", "due_overridden": False}

    created = client.get(f"{API}/audit", params={"action": "unit.create"}, headers=office).json()["items"]
    assert any(e["after"]["name"] == "县档案馆" for e in created)
    assert all(e["county_id"] == world.ids["lc_county"] for e in created)
    # The launch that built the demo is on record too.
    launch = client.get(
        f"{API}/audit", params={"action": "campaign.launch", "campaign_id": world.ids["lc_campaign"]}, headers=office
    ).json()
    assert launch["total"] >= 1 and launch["items"][-1]["after"]["total_assignments"] == 1272


def test_who_may_read_the_audit_trail(client, world) -> None:
    for who, code in {
        "lc-office": 200,
        "auditadmin": 200,
        "sysadmin": 403,
        "lc-sfj": 403,
        "evaluator": 403,
        "sx-province": 403,
    }.items():
        assert client.get(f"{API}/audit", headers=world.auth(who)).status_code == code, who
    theirs = client.get(f"{API}/audit", params={"limit": 500}, headers=world.auth("gp-office")).json()["items"]
    assert theirs and all(e["county_id"] == world.ids["gp_county"] for e in theirs)
    everything = client.get(f"{API}/audit", params={"limit": 1}, headers=world.auth("auditadmin")).json()["total"]
    assert everything > len(theirs)
