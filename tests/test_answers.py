"""Answers that carry their reasons (issue 27): a liaison learns why an item was returned from the to-do list itself;
evidence lists name the unit and the item; a returned file can be withdrawn and the assignment's status follows the
one written rule; an evaluator's report is its own; /me names the campaigns each role works in; JSON logins; GET /;
and one review-conflict message per cause, with locations and messages that agree. Through HTTP with real tokens."""

from __future__ import annotations

from datetime import date

import pytest

from app.services import messages
from tests.conftest import pin_today
from tests.evidence_kit import API, PICKER, pdf, upload
from tests.graphql_kit import gql
from tests.test_messages import loc_agrees


@pytest.fixture(autouse=True)
def _during_submission(app, client) -> None:
    pin_today(app, date(2023, 2, 10))


def _statement(client, world, assignment_id: int, text: str, **extra) -> dict:
    r = client.post(
        f"{API}/assignments/{assignment_id}/evidence",
        json={"kind": "statement", "text": text, **extra},
        headers=world.auth("lc-sfj"),
    )
    assert r.status_code == 201, r.text
    return r.json()


def _review(client, world, evidence_id: int, decision: str, version: int = 1, comment: str = "") -> dict:
    r = client.post(
        f"{API}/evidence/{evidence_id}/reviews",
        json={"decision": decision, "version": version, "comment": comment},
        headers=world.auth("lc-office"),
    )
    assert r.status_code == 201, r.text
    return r.json()


def _assignment(client, world, assignment_id: int, who: str = "lc-sfj") -> dict:
    r = client.get(f"{API}/assignments/{assignment_id}", headers=world.auth(who))
    assert r.status_code == 200, r.text
    return r.json()


def _mine(client, world, **params) -> dict[int, dict]:
    r = client.get(f"{API}/me/assignments", params={"limit": 500, **params}, headers=world.auth("lc-sfj"))
    assert r.status_code == 200, r.text
    return {a["id"]: a for a in r.json()["items"]}


def test_the_todo_list_and_the_assignment_say_why_it_was_returned(client, world, session) -> None:
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    assert _assignment(client, world, a.id)["last_review"] is None  # nothing reviewed yet
    ev = _statement(client, world, a.id, "已印发实施方案")
    _review(client, world, ev["id"], "return", comment="请补充印发文件的盖章扫描件")

    shown = _mine(client, world, status="returned")[a.id]
    last = shown["last_review"]
    assert last["decision"] == "return" and last["comment"] == "请补充印发文件的盖章扫描件"
    assert last["reviewer_name"] == "陵川县委依法治县办" and last["reviewed_at"]
    assert (last["evidence_id"], last["evidence_title"], last["version"]) == (ev["id"], ev["title"], 1)
    assert _assignment(client, world, a.id)["last_review"] == last  # the detail says the same
    ledger = client.get(
        f"{API}/campaigns/{a.campaign_id}/assignments",  # late in a run the picker may hand out another 陵川 campaign's
        params={"unit_id": world.ids["lc_sfj"], "status": "returned", "limit": 500},
        headers=world.auth("lc-office"),
    ).json()["items"]
    assert next(x for x in ledger if x["id"] == a.id)["last_review"] == last

    # a corrected version, approved: the latest decision is the approval
    again = client.post(
        f"{API}/evidence/{ev['id']}/versions",
        json={"kind": "statement", "text": "已补充盖章件"},
        headers=world.auth("lc-sfj"),
    )
    assert again.status_code == 201, again.text
    assert _assignment(client, world, a.id)["last_review"]["decision"] == "return"  # still the last decision
    _review(client, world, ev["id"], "approve", version=2)
    after = _assignment(client, world, a.id)
    assert after["status"] == "approved" and after["last_review"]["decision"] == "approve"
    assert after["last_review"]["version"] == 2 and after["last_review"]["comment"] == ""

    query = "query($id: Int!, $unit: Int!, $after: String) { campaign(id: $id) { assignments(first: 100, after: $after, unitId: $unit, status: APPROVED) { pageInfo { hasNextPage endCursor } nodes { id lastReview { decision comment version reviewerName } } } } }"
    nodes, after = [], None
    while True:
        variables = {"id": a.campaign_id, "unit": world.ids["lc_sfj"], "after": after}
        data = gql(client, world.auth("lc-office"), query, variables)
        assert "errors" not in data, data
        page = data["data"]["campaign"]["assignments"]
        nodes += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    node = next(n for n in nodes if n["id"] == a.id)
    assert node["lastReview"] == {
        "decision": "APPROVE",
        "comment": "",
        "version": 2,
        "reviewerName": "陵川县委依法治县办",
    }


def test_a_material_requests_review_reaches_every_item_it_covers(client, world, session) -> None:
    request_id, rows = PICKER.shared_material(session, world.ids["lc_sfj"])
    ev = _statement(client, world, rows[0].id, "合并提供的材料", material_request_id=request_id)
    _review(client, world, ev["id"], "return", comment="缺少第二项的材料")
    mine = _mine(client, world)
    for row in rows:
        assert mine[row.id]["status"] == "returned"
        assert mine[row.id]["last_review"]["comment"] == "缺少第二项的材料"
        assert mine[row.id]["last_review"]["evidence_id"] == ev["id"]
    listed = client.get(f"{API}/assignments/{rows[1].id}/evidence", headers=world.auth("lc-sfj")).json()
    listed = listed["items"] if isinstance(listed, dict) else listed
    found = next(e for e in listed if e["id"] == ev["id"])
    numbers = sorted(mine[r.id]["item_number"] for r in rows)
    assert [i["number"] for i in found["items"]] == sorted(i["number"] for i in found["items"])
    assert set(numbers) <= {i["number"] for i in found["items"]}
    assert found["item_label"].startswith("第") and found["item_label"].endswith("项")
    assert all(str(n) in found["item_label"] for n in numbers)


def test_evidence_lists_and_the_review_queue_name_the_unit_and_the_item(client, world, session) -> None:
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    mine = _assignment(client, world, a.id)
    ev = _statement(client, world, a.id, "本单位已落实")
    assert ev["unit_name"] == "县司法局" and ev["item_label"] == f"第{mine['item_number']}项"
    assert ev["items"] == [
        {
            "item_id": mine["item_id"],
            "number": mine["item_number"],
            "label": ev["item_label"],
            "text": mine["item_text"],
        }
    ]
    queue = client.get(
        f"{API}/campaigns/{a.campaign_id}/evidence",  # late in a run the picker may hand out another 陵川 campaign's
        params={"status": "submitted", "unit_id": world.ids["lc_sfj"], "limit": 500},
        headers=world.auth("lc-office"),
    )
    assert queue.status_code == 200, queue.text
    row = next(e for e in queue.json()["items"] if e["id"] == ev["id"])
    assert (row["unit_name"], row["item_label"], row["items"]) == (ev["unit_name"], ev["item_label"], ev["items"])
    assert all(e["unit_name"] and e["item_label"] for e in queue.json()["items"])
    detail = client.get(f"{API}/evidence/{ev['id']}", headers=world.auth("lc-office")).json()
    assert (detail["unit_name"], detail["item_label"]) == (ev["unit_name"], ev["item_label"])
    query = "query($id: Int!) { evidence(id: $id) { id status unitName itemLabel items { number label } } }"
    node = gql(client, world.auth("lc-office"), query, {"id": ev["id"]})["data"]["evidence"]
    assert node.pop("status") == "SUBMITTED"
    assert node == {"id": ev["id"], "unitName": "县司法局", "itemLabel": ev["item_label"],
                    "items": [{"number": mine["item_number"], "label": ev["item_label"]}]}  # fmt: skip


def test_an_item_with_an_approved_and_a_returned_file_follows_the_rule(client, world, session, tmp_path) -> None:
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    liaison = world.auth("lc-sfj")
    good = upload(client, liaison, a.id, pdf("plan"), "实施方案.pdf").json()
    wrong = upload(client, liaison, a.id, pdf("other"), "无关文件.pdf").json()
    _review(client, world, good["id"], "approve")
    _review(client, world, wrong["id"], "return", comment="与本项无关")
    assert _assignment(client, world, a.id)["status"] == "returned"  # the unit has something to do
    # ... which may be to withdraw the returned file: then only the approved one counts
    dropped = client.post(f"{API}/evidence/{wrong['id']}/versions/1/withdraw", headers=liaison)
    assert dropped.status_code == 200 and dropped.json()["status"] == "withdrawn", dropped.text
    shown = _assignment(client, world, a.id)
    assert shown["status"] == "approved"
    assert shown["last_review"]["evidence_id"] == good["id"]  # the withdrawn file's return is history now
    # an approved file is never withdrawn
    refused = client.post(f"{API}/evidence/{good['id']}/versions/1/withdraw", headers=liaison)
    assert refused.status_code == 409 and refused.json()["code"] == "transition_not_allowed"


def test_review_conflicts_say_their_own_cause(client, world, session) -> None:
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    ev = _statement(client, world, a.id, "第一版")
    url = f"{API}/evidence/{ev['id']}/reviews"
    office = world.auth("lc-office")
    missing = client.post(url, json={"decision": "approve", "version": 2}, headers=office)
    assert missing.status_code == 404 and missing.json()["code"] == "version_not_found"
    assert "没有第 2 版" in missing.json()["detail"] and "更新为" not in missing.json()["detail"]
    client.post(
        f"{API}/evidence/{ev['id']}/versions",
        json={"kind": "statement", "text": "第二版"},
        headers=world.auth("lc-sfj"),
    )
    stale = client.post(url, json={"decision": "approve", "version": 1}, headers=office)
    assert stale.status_code == 409 and stale.json()["code"] == "review_stale"
    assert "第 2 版" in stale.json()["detail"]
    client.post(f"{API}/evidence/{ev['id']}/versions/2/withdraw", headers=world.auth("lc-sfj"))
    withdrawn = client.post(url, json={"decision": "approve", "version": 2}, headers=office)
    assert withdrawn.status_code == 409 and withdrawn.json()["code"] == "version_withdrawn"
    assert "撤回" in withdrawn.json()["detail"]
    assert client.post(url, json={"decision": "approve", "version": 1}, headers=office).status_code == 201
    twice = client.post(url, json={"decision": "approve", "version": 1}, headers=office)
    assert twice.status_code == 409 and twice.json()["code"] == "transition_not_allowed"
    assert "已通过" in twice.json()["detail"]
    codes = {missing.json()["code"], stale.json()["code"], withdrawn.json()["code"], twice.json()["code"]}
    assert len(codes) == 4 and len({r.json()["detail"] for r in (missing, stale, withdrawn, twice)}) == 4


def _items(client, world, office: str = "lc-office") -> dict[str, dict]:
    campaign = client.get(f"{API}/campaigns/{world.ids['lc_campaign']}", headers=world.auth(office)).json()
    items = client.get(
        f"{API}/frameworks/{campaign['framework_id']}/items", params={"limit": 500}, headers=world.auth(office)
    ).json()["items"]
    return {i["key"]: i for i in items}


def test_domain_validation_errors_say_body_and_count_from_one(client, world) -> None:
    items = _items(client, world)
    rnd = client.post(
        f"{API}/campaigns/{world.ids['lc_campaign']}/rounds", json={"name": "校验提示"}, headers=world.auth("lc-office")
    ).json()
    bad = [
        {"item_id": items["indicator-1"]["id"], "points": 0.5},
        {"item_id": items["indicator-2"]["id"], "points": 999},
        {"item_id": items["veto-1"]["id"], "points": 1},
    ]
    r = client.post(f"{API}/rounds/{rnd['id']}/scores", json={"scores": bad}, headers=world.auth("lc-office"))
    assert r.status_code == 422 and r.json()["code"] == "score_invalid"
    errors = {e["loc"]: e["msg"] for e in r.json()["errors"]}
    assert set(errors) == {"body.scores.1.points", "body.scores.2"}, errors
    assert errors["body.scores.1.points"].startswith("scores 第 2 条的 points：第2项得分不能超过分值")
    assert errors["body.scores.2"].startswith("scores 第 3 条：否决项第1项只填写是否发生")
    assert "indicator-" not in r.text and "veto-" not in r.text  # items by their number, never by key
    framework_id = client.get(f"{API}/campaigns/{world.ids['lc_campaign']}", headers=world.auth("lc-office")).json()[
        "framework_id"
    ]
    phases = client.post(
        f"{API}/campaigns",
        json={"name": "错阶段", "framework_id": framework_id,
              "materials_deadline": "2024-02-28",
              "phases": [{"name": "动员", "starts_on": "2024-01-01", "ends_on": "2024-01-31"},
                         {"name": "县级初审", "starts_on": "2024-03-01", "ends_on": "2024-02-01"}]},
        headers=world.auth("lc-office"),
    )  # fmt: skip
    assert phases.status_code == 422 and phases.json()["code"] == "phases_invalid"
    assert phases.json()["errors"][0]["loc"] == "body.phases.1.ends_on"
    assert phases.json()["errors"][0]["msg"].startswith("phases 第 2 条的 ends_on：")
    scoring = client.put(
        f"{API}/campaigns/{world.ids['gp_campaign']}/scoring", json={"default_max": -1}, headers=world.auth("gp-office")
    )
    assert scoring.status_code == 422 and scoring.json()["errors"][0]["loc"].startswith("body.")
    year = {"title": "国务院办公厅关于2040年部分节假日安排的通知", "festivals": [{"name": "春节", "holiday_from": "2040-02-01", "holiday_to": "2040-02-03"},
                          {"name": "清明节", "holiday_from": "2040-04-04", "holiday_to": "2040-04-06",
                           "make_up_workdays": ["2040-04-03"]}]}  # fmt: skip
    cal = client.put(f"{API}/calendar/years/2040", json=year, headers=world.auth("sysadmin"))
    assert cal.status_code == 422 and cal.json()["errors"][0]["loc"] == "body.festivals.1.make_up_workdays"
    assert cal.json()["errors"][0]["msg"].startswith("festivals 第 2 条的 make_up_workdays：")
    for response in (r, phases, scoring, cal):
        for error in response.json()["errors"]:
            loc_agrees({**error, "type": "domain"}, response.request.url.path)


def test_a_position_is_said_from_one_in_words() -> None:
    assert messages.field_name(("body", "scores", 0, "points")) == "scores 第 1 条的 points"
    assert messages.field_name(("body", "items", 2, "units", 0)) == "items 第 3 条的 units 第 1 条"
    assert messages.field_name(("query", "limit")) == "查询参数 limit"
    assert messages.problem(("phases", 4), "x") == {"loc": "phases.4", "msg": "phases 第 5 条：x"}


def test_an_evaluators_report_is_its_own_by_default(client, world) -> None:
    items = _items(client, world)
    rnd = client.post(
        f"{API}/campaigns/{world.ids['lc_campaign']}/rounds",
        json={"name": "第三方评估"},
        headers=world.auth("lc-office"),
    ).json()
    mine = {"scores": [{"item_id": items["indicator-3"]["id"], "points": 0.5, "comment": "评估意见"}]}
    assert (
        client.post(f"{API}/rounds/{rnd['id']}/scores", json=mine, headers=world.auth("evaluator")).status_code == 201
    )
    me = client.get(f"{API}/me", headers=world.auth("evaluator")).json()
    report = client.get(f"{API}/rounds/{rnd['id']}/report", headers=world.auth("evaluator"))
    assert report.status_code == 200, report.text  # not 403 right after it scored
    assert report.json()["source"] == f"evaluator:{me['user_id']}"
    item = next(i for i in report.json()["items"] if i["item_id"] == items["indicator-3"]["id"])
    assert item["points"] == 0.5
    sheet = client.get(f"{API}/rounds/{rnd['id']}/report.xlsx", headers=world.auth("evaluator"))
    assert sheet.status_code == 200
    others = client.get(f"{API}/rounds/{rnd['id']}/report", headers=world.auth("evaluator-b"))
    assert others.status_code == 200 and others.json()["source"].startswith("evaluator:")
    assert all(i["points"] is None for i in others.json()["items"])  # evaluator-b's own: it scored nothing
    peek = client.get(f"{API}/rounds/{rnd['id']}/report", params={"source": "office"}, headers=world.auth("evaluator"))
    assert peek.status_code == 403 and peek.json()["code"] == "scores_not_released"  # still blind before release
    office = client.get(f"{API}/rounds/{rnd['id']}/report", headers=world.auth("lc-office")).json()
    assert office["source"] == "office"


def test_me_lists_the_campaigns_each_role_works_in(client, world) -> None:
    def me(who: str) -> dict:
        r = client.get(f"{API}/me", headers=world.auth(who))
        assert r.status_code == 200, r.text
        assert r.json()["campaign_ids"] == [c["id"] for c in r.json()["campaigns"]]
        return r.json()

    def visible(who: str) -> set[int]:
        found = client.get(f"{API}/campaigns", params={"limit": 500}, headers=world.auth(who)).json()["items"]
        return {c["id"] for c in found}

    lc, gp = world.ids["lc_campaign"], world.ids["gp_campaign"]
    assert lc in me("lc-office")["campaign_ids"] and gp not in me("lc-office")["campaign_ids"]
    assert set(me("lc-office")["campaign_ids"]) == visible("lc-office")
    liaison = me("lc-sfj")
    assert lc in liaison["campaign_ids"] and gp not in liaison["campaign_ids"]
    assert next(c for c in liaison["campaigns"] if c["id"] == lc)["name"]
    assert lc in me("evaluator")["campaign_ids"] and gp not in me("evaluator")["campaign_ids"]
    assert me("idle-evaluator")["campaign_ids"] == []
    assert {lc, gp} <= set(me("sx-province")["campaign_ids"]) == visible("sx-province")
    assert lc not in me("yn-province")["campaign_ids"]
    assert {lc, gp} <= set(me("sysadmin")["campaign_ids"])


def test_a_json_login_works_and_a_wrong_one_names_the_fields(client) -> None:
    r = client.post(f"{API}/auth/token", json={"username": "lc-sfj", "password": "shifan-demo"})
    assert r.status_code == 200 and r.json()["token_type"] == "bearer", r.text
    assert client.get(f"{API}/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"}).status_code == 200
    form = client.post(f"{API}/auth/token", data={"username": "lc-sfj", "password": "shifan-demo"})
    assert form.status_code == 200
    wrong = client.post(f"{API}/auth/token", json={"username": "lc-sfj", "password": "nope"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_credentials"
    for bad in ({"json": {"user": "lc-sfj", "pass": "x"}}, {"content": b"", "headers": {}}, {"json": ["lc-sfj"]}):
        r = client.post(f"{API}/auth/token", **bad)
        assert r.status_code == 422 and r.json()["code"] == "validation_failed", r.text
        assert "username" in r.json()["detail"] and "password" in r.json()["detail"]
        assert "表单" in r.json()["detail"] and "JSON" in r.json()["detail"]
        assert all(e["loc"].startswith("body") for e in r.json()["errors"])
    broken = client.post(f"{API}/auth/token", content=b'{"username": ', headers={"Content-Type": "application/json"})
    assert broken.status_code == 422 and "JSON" in broken.json()["detail"]
    huge = client.post(f"{API}/auth/token", json={"username": "x" * 20000, "password": "y"})
    assert huge.status_code == 413 and huge.json()["code"] == "login_too_large"


def test_the_bare_address_points_the_way(client) -> None:
    r = client.get("/")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["docs"], body["graphql"], body["health"], body["api"]) == ("/docs", "/graphql", "/healthz", "/api/v1")
    assert "/docs" in body["message"] and "/graphql" in body["message"]
    for path in (body["docs"], body["health"], body["openapi"]):
        assert client.get(path).status_code == 200, path
