"""Evidence through HTTP with real tokens: upload, list, versions, download, review, audit."""

from __future__ import annotations

import hashlib
import urllib.parse
from datetime import date

import pytest
from sqlmodel import select

from app.models import Assignment, Evidence
from tests.conftest import pin_today
from tests.evidence_kit import API, PICKER, pdf, png, upload


@pytest.fixture(autouse=True)
def _during_submission(app, client) -> None:
    pin_today(app, date(2023, 2, 10))


def _status(client, world, assignment_id: int) -> str:
    return client.get(f"{API}/assignments/{assignment_id}", headers=world.auth("lc-office")).json()["status"]


def test_upload_list_download_on_every_backend(client, world, session, api_store) -> None:
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    body = pdf("roundtrip")
    name = "2022年度法治政府建设情况报告（定稿）.pdf"
    r = upload(client, world.auth("lc-sfj"), a.id, body, name, title="年度报告")
    assert r.status_code == 201, r.text
    ev = r.json()
    v1 = ev["current"]
    assert ev["status"] == "submitted" and ev["title"] == "年度报告" and ev["assignment_id"] == a.id
    assert v1["number"] == 1 and v1["kind"] == "file" and v1["filename"] == name
    assert v1["content_type"] == "application/pdf" and v1["size"] == len(body)
    assert v1["sha256"] == hashlib.sha256(body).hexdigest()
    # The object key is the application's own: no trace of the file name.
    keys = list(api_store.keys("ev/"))
    assert len([k for k in keys if k.startswith(f"ev/{a.campaign_id}/{a.unit_id}/")]) >= 1
    assert all("报告" not in k and ".pdf" not in k for k in keys)

    listed = client.get(f"{API}/assignments/{a.id}/evidence", headers=world.auth("lc-sfj")).json()["items"]
    assert [e["id"] for e in listed] == [ev["id"]]
    assert _status(client, world, a.id) == "submitted"

    got = client.get(f"{API}/evidence/{ev['id']}/versions/1/content", headers=world.auth("lc-office"))
    assert got.status_code == 200 and got.content == body
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["etag"] == f'"{v1["sha256"]}"'
    disposition = got.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert urllib.parse.unquote(disposition.split("filename*=UTF-8''")[1]) == name


def test_who_may_read_and_who_may_submit(client, world, session, moto_api_store) -> None:
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    ev = upload(client, world.auth("lc-sfj"), a.id, png(), "现场照片.png").json()
    assert ev["current"]["content_type"] == "image/png"
    detail = f"{API}/evidence/{ev['id']}"
    content = f"{detail}/versions/1/content"
    expected_read = {
        "lc-sfj": 200,  # its own unit
        "lc-office": 200,  # its county
        "evaluator": 200,  # engaged for the campaign
        "sx-province": 200,  # read-only, its region
        "sysadmin": 200,
        "lc-gaj": 404,  # another unit of the same county
        "gp-office": 404,  # another county
        "gp-sfj": 404,
        "yn-province": 404,  # another province
        "idle-evaluator": 404,  # not engaged
    }
    for who, code in expected_read.items():
        assert client.get(detail, headers=world.auth(who)).status_code == code, who
        assert client.get(content, headers=world.auth(who)).status_code == code, who
    assert client.get(detail).status_code == 401
    expected_submit = {"lc-office": 403, "evaluator": 403, "sx-province": 403, "lc-gaj": 404, "gp-sfj": 404}
    for who, code in expected_submit.items():
        r = upload(client, world.auth(who), a.id, pdf(), "x.pdf")
        assert r.status_code == code, (who, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        r = client.post(
            f"{API}/evidence/{ev['id']}/versions/file", files={"file": ("x.pdf", pdf())}, headers=world.auth(who)
        )
        assert r.status_code == code, (who, r.text)
    # A liaison cannot review, and an office of another county cannot either.
    decision = {"decision": "approve", "version": 1}
    assert client.post(f"{detail}/reviews", json=decision, headers=world.auth("lc-sfj")).status_code == 403
    assert client.post(f"{detail}/reviews", json=decision, headers=world.auth("gp-office")).status_code == 404
    assert client.post(f"{detail}/reviews", json=decision, headers=world.auth("evaluator")).status_code == 403


def test_return_resubmit_approve_reopen_all_audited(client, world, session, moto_api_store) -> None:
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    liaison, office = world.auth("lc-sfj"), world.auth("lc-office")
    ev = upload(client, liaison, a.id, pdf("v1"), "制度文件.pdf").json()
    reviews = f"{API}/evidence/{ev['id']}/reviews"

    r = client.post(reviews, json={"decision": "return", "version": 1}, headers=office)
    assert r.status_code == 422 and r.json()["code"] == "comment_required"
    r = client.post(
        reviews,
        json={"decision": "return", "version": 1, "comment": "缺少印发文件"},
        headers={**office, "X-Request-ID": "req-return-1"},
    )
    assert r.status_code == 201 and r.json()["status"] == "returned"
    assert _status(client, world, a.id) == "returned"

    v2 = client.post(
        f"{API}/evidence/{ev['id']}/versions/file", files={"file": ("制度文件（补充）.pdf", pdf("v2"))}, headers=liaison
    )
    assert v2.status_code == 201 and v2.json()["current_version"] == 2 and v2.json()["status"] == "submitted"
    assert _status(client, world, a.id) == "submitted"

    stale = client.post(reviews, json={"decision": "approve", "version": 1}, headers=office)
    assert stale.status_code == 409 and stale.json()["code"] == "review_stale"
    approved = client.post(reviews, json={"decision": "approve", "version": 2}, headers=office).json()
    assert approved["status"] == "approved"
    assert _status(client, world, a.id) == "approved"

    closed = client.post(f"{API}/evidence/{ev['id']}/versions/file", files={"file": ("x.pdf", pdf())}, headers=liaison)
    assert closed.status_code == 409 and closed.json()["code"] == "transition_not_allowed"
    assert "已通过" in closed.json()["detail"]
    again = client.post(reviews, json={"decision": "approve", "version": 2}, headers=office)
    assert again.status_code == 409

    reopened = client.post(
        reviews, json={"decision": "reopen", "version": 2, "comment": "评估组指出文号有误"}, headers=office
    )
    assert reopened.json()["status"] == "returned" and _status(client, world, a.id) == "returned"

    detail = client.get(f"{API}/evidence/{ev['id']}", headers=liaison).json()
    assert [v["number"] for v in detail["versions"]] == [1, 2]
    assert [(r["decision"], r["version"]) for r in detail["reviews"]] == [("return", 1), ("approve", 2), ("reopen", 2)]
    # Every version stays readable.
    for n, text in ((1, b"v1"), (2, b"v2")):
        assert text in client.get(f"{API}/evidence/{ev['id']}/versions/{n}/content", headers=liaison).content

    trail = client.get(
        f"{API}/audit", params={"object_type": "evidence", "object_id": str(ev["id"])}, headers=office
    ).json()
    actions = [e["action"] for e in reversed(trail["items"])]
    assert actions == ["evidence.submit", "evidence.return", "evidence.submit", "evidence.approve", "evidence.reopen"]
    returned = next(e for e in trail["items"] if e["action"] == "evidence.return")
    assert (
        returned["request_id"] == "req-return-1"
        and returned["username"] == "lc-office"
        and returned["role"] == "office"
    )
    assert returned["before"]["status"] == "submitted" and returned["after"]["status"] == "returned"
    assert returned["after"]["comment"] == "缺少印发文件"
    assert all(e["request_id"] for e in trail["items"])
    # The audit trail is the office's: not the liaison's, not another county's.
    assert client.get(f"{API}/audit", headers=liaison).status_code == 403
    other = client.get(
        f"{API}/audit", params={"object_id": str(ev["id"]), "object_type": "evidence"}, headers=world.auth("gp-office")
    )
    assert other.json()["total"] == 0


def test_withdraw_while_waiting_or_returned_never_once_approved(client, world, session, moto_api_store) -> None:
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    liaison, office = world.auth("lc-sfj"), world.auth("lc-office")
    ev = upload(client, liaison, a.id, pdf("first"), "a.pdf").json()
    base = f"{API}/evidence/{ev['id']}"
    assert client.post(f"{base}/versions/1/withdraw", headers=office).status_code == 403
    w = client.post(f"{base}/versions/1/withdraw", headers=liaison)
    assert w.status_code == 200 and w.json()["status"] == "withdrawn"
    assert w.json()["versions"][0]["state"] == "withdrawn"
    assert _status(client, world, a.id) == "not_started"
    # Withdrawn, not deleted: still readable and on record.
    assert b"first" in client.get(f"{base}/versions/1/content", headers=office).content

    client.post(f"{base}/versions/file", files={"file": ("b.pdf", pdf("second"))}, headers=liaison)
    client.post(f"{base}/reviews", json={"decision": "return", "version": 2, "comment": "不清晰"}, headers=office)
    client.post(f"{base}/versions/file", files={"file": ("c.pdf", pdf("third"))}, headers=liaison)
    assert client.post(f"{base}/versions/2/withdraw", headers=liaison).json()["code"] == "not_current_version"
    back = client.post(f"{base}/versions/3/withdraw", headers=liaison).json()
    # Back to where version 2 was left: returned, waiting for the unit.
    assert back["status"] == "returned" and back["current_version"] == 2
    assert _status(client, world, a.id) == "returned"
    # A returned version the unit drops instead of correcting: withdrawn, and nothing counts for the item any more.
    dropped = client.post(f"{base}/versions/2/withdraw", headers=liaison)
    assert dropped.status_code == 200 and dropped.json()["status"] == "withdrawn", dropped.text
    assert _status(client, world, a.id) == "not_started"
    # An approved version is never withdrawn (the office reopens it first).
    client.post(f"{base}/versions/file", files={"file": ("d.pdf", pdf("fourth"))}, headers=liaison)
    assert client.post(f"{base}/reviews", json={"decision": "approve", "version": 4}, headers=office).status_code == 201
    approved = client.post(f"{base}/versions/4/withdraw", headers=liaison)
    assert approved.status_code == 409 and approved.json()["code"] == "transition_not_allowed"
    assert "已通过" in approved.json()["detail"]


def test_withdrawing_twice_in_a_row_withdraws_each_current_version(client, world, session) -> None:
    # Found by the soak (bench/soak): after the newest version was withdrawn, withdrawing the version now
    # current answered 200 but marked the newest again and left the current one active and counted.
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    liaison = world.auth("lc-sfj")
    first_version = {"kind": "statement", "text": "第一版"}
    ev = client.post(f"{API}/assignments/{a.id}/evidence", json=first_version, headers=liaison)
    base = f"{API}/evidence/{ev.json()['id']}"
    client.post(f"{base}/versions", json={"kind": "statement", "text": "第二版"}, headers=liaison)
    first = client.post(f"{base}/versions/2/withdraw", headers=liaison).json()
    assert first["current_version"] == 1 and first["status"] == "submitted"
    withdrawn_at = {v["number"]: v["withdrawn_at"] for v in first["versions"]}
    second = client.post(f"{base}/versions/1/withdraw", headers=liaison)
    assert second.status_code == 200, second.text
    body = second.json()
    assert body["status"] == "withdrawn"
    assert [v["state"] for v in body["versions"]] == ["withdrawn", "withdrawn"]
    assert {v["number"]: v["withdrawn_at"] for v in body["versions"]}[2] == withdrawn_at[2], "v2 left as it was"
    assert _status(client, world, a.id) == "not_started"


def test_web_address_and_statement(client, world, session) -> None:
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    h = world.auth("lc-sfj")
    url = f"{API}/assignments/{a.id}/evidence"
    for bad in (
        {"kind": "url", "url": "javascript:alert(1)"},
        {"kind": "url", "url": "ftp://example.org/a"},
        {"kind": "url"},
        {"kind": "statement", "text": "   "},
        {"kind": "statement", "text": "x", "url": "https://example.org"},
        {"kind": "file"},
        {"kind": "statement", "text": "x" * 20001},
    ):
        r = client.post(url, json=bad, headers=h)
        assert r.status_code == 422 and r.json()["code"] == "validation_failed", bad
    link = client.post(
        url, json={"kind": "url", "url": "https://www.lingchuan.gov.cn/zwgk/fzzfjs/2023.html"}, headers=h
    )
    assert link.status_code == 201 and link.json()["current"]["url"].startswith("https://www.lingchuan.gov.cn/")
    assert link.json()["title"].startswith("https://")
    note = client.post(
        url, json={"kind": "statement", "text": "本单位2022年未发生行政复议案件。\n特此说明。"}, headers=h
    )
    assert note.status_code == 201 and note.json()["title"] == "本单位2022年未发生行政复议案件。"
    no_file = client.get(f"{API}/evidence/{note.json()['id']}/versions/1/content", headers=h)
    assert no_file.status_code == 409 and no_file.json()["code"] == "not_a_file"
    # A correction before review: a new version, the statement this time as a web address.
    v2 = client.post(
        f"{API}/evidence/{note.json()['id']}/versions", json={"kind": "url", "url": "https://example.org/a"}, headers=h
    )
    assert v2.status_code == 201 and v2.json()["current_version"] == 2 and v2.json()["current"]["kind"] == "url"
    assert [v["kind"] for v in v2.json()["versions"]] == ["statement", "url"]
    office = client.post(
        f"{API}/evidence/{note.json()['id']}/versions",
        json={"kind": "statement", "text": "x"},
        headers=world.auth("lc-office"),
    )
    assert office.status_code == 403 and office.json()["code"] == "role_may_not_act"


def test_material_request_evidence_counts_for_every_item_it_covers(client, world, session) -> None:
    material_id, covered = PICKER.shared_material(session, world.ids["lc_sfj"])
    h = world.auth("lc-sfj")
    first, second = covered[0], covered[1]
    r = client.post(
        f"{API}/assignments/{first.id}/evidence",
        json={"kind": "statement", "text": "综合材料见附件", "material_request_id": material_id},
        headers=h,
    )
    assert r.status_code == 201 and r.json()["material_request_id"] == material_id and r.json()["assignment_id"] is None
    for a in covered:
        ids = [e["id"] for e in client.get(f"{API}/assignments/{a.id}/evidence", headers=h).json()["items"]]
        assert r.json()["id"] in ids
        assert _status(client, world, a.id) == "submitted"
    client.post(
        f"{API}/evidence/{r.json()['id']}/reviews",
        json={"decision": "approve", "version": 1},
        headers=world.auth("lc-office"),
    )
    assert _status(client, world, second.id) == "approved"
    # The same request does not count for another unit's assignments of those items.
    others = session.exec(
        select(Assignment).where(
            Assignment.campaign_id == second.campaign_id,
            Assignment.item_id == second.item_id,
            Assignment.unit_id != second.unit_id,
        )
    ).all()
    assert others, "pick a covered item that other units share"
    for other in others:
        assert r.json()["id"] not in [
            e["id"]
            for e in client.get(f"{API}/assignments/{other.id}/evidence", headers=world.auth("lc-office")).json()[
                "items"
            ]
        ]
    unrelated = PICKER.assignment(session, world.ids["lc_sfj"], exclude_items={c.item_id for c in covered})
    wrong = client.post(
        f"{API}/assignments/{unrelated.id}/evidence",
        json={"kind": "statement", "text": "x", "material_request_id": material_id},
        headers=h,
    )
    # The picker hands out every one of the unit's assignments the request covers above, so this one is not.
    assert wrong.status_code == 422 and wrong.json()["code"] == "material_not_for_item"


def test_review_queue_lists_waiting_evidence(client, world, session) -> None:
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    ev = client.post(
        f"{API}/assignments/{a.id}/evidence", json={"kind": "statement", "text": "待审"}, headers=world.auth("lc-sfj")
    ).json()
    queue = client.get(
        f"{API}/campaigns/{a.campaign_id}/evidence",  # late in a run the picker may hand out another 陵川 campaign's
        params={"status": "submitted", "limit": 500},
        headers=world.auth("lc-office"),
    ).json()
    assert ev["id"] in [e["id"] for e in queue["items"]] and all(e["status"] == "submitted" for e in queue["items"])
    mine = client.get(
        f"{API}/campaigns/{world.ids['lc_campaign']}/evidence", params={"limit": 500}, headers=world.auth("lc-gaj")
    ).json()
    assert all(e["unit_id"] == world.ids["lc_gaj"] for e in mine["items"])
    assert session.exec(select(Evidence).where(Evidence.id == ev["id"])).one().unit_id == world.ids["lc_sfj"]
