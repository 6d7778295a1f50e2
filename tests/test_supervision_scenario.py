"""Issue 25's "Done when", as one story through HTTP with real tokens, in a county of its own (supervision_kit's
district): the 县司法局 ignores an item until it turns 红; a numbered 督办单 is issued (its .docx downloads) and the
unit acknowledges it (回执); its cards cost points and the ranking says why; the office opens a rectification for the
problem and closes it on the unit's evidence (整改销号); a 回头看 with a fixed seed draws it and reopens it, and its
light turns again (a new card); the next year's campaign starts with the approved evidence carried (沿用, the same
SHA-256, its origin shown) and the reopened problem carried: escalated there, never again in 2023. A signed webhook
receiver on 127.0.0.1 proves each supervision event arrived once, though every scan runs twice and all of them run
again at the end."""

from __future__ import annotations

import hashlib
import io
import random
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta

import httpx
import pytest
from docx import Document
from sqlmodel import Session

from app.db import get_engine, session_scope
from app.models import Campaign
from app.models._base import utcnow
from app.services.calendar import lights
from app.services.notifications import delivery
from app.services.supervision import escalation
from tests.conftest import pin_today
from tests.evidence_kit import pdf, upload
from tests.follow_up_kit import audit_entries
from tests.supervision_kit import API, LEADER, District, build, office_receiver, set_due
from tests.test_webhooks import Receiver

pytestmark = pytest.mark.usefixtures("retire_webhooks")


@pytest.fixture(scope="module")
def district(app, world) -> Iterator[District]:
    yield from build(app, world, "督办全程县")


@pytest.fixture
def receiver(client, district: District, monkeypatch) -> Iterator[Receiver]:
    yield from office_receiver(client, district, monkeypatch)


def _scan_twice(campaign_id: int, day: date) -> int:
    """The cards a scan of the day gives; the same scan run again gives none."""
    with session_scope() as s:
        given = escalation.scan(s, today=day, campaign_ids=[campaign_id])
    with session_scope() as s:
        assert escalation.scan(s, today=day, campaign_ids=[campaign_id]) == 0, day
    return given


def _deliver_all() -> None:
    far = utcnow() + timedelta(days=1)
    with httpx.Client(timeout=5) as http:
        while delivery.run_once(client=http, now=far)["claimed"]:
            pass


def _supervision(receiver: Receiver) -> list[dict]:
    return [b for b in receiver.processed.values() if b["type"].startswith("supervision.")]


def _light(client, district: District, path: str) -> str:
    r = client.get(f"{API}/{path}", headers=district.auth("sfj"))
    assert r.status_code == 200, r.text
    return r.json()["light"]


def test_from_a_red_light_to_the_next_campaign(client, app, district, receiver, moto_api_store) -> None:
    office, sfj = district.auth("office"), district.auth("sfj")
    origin = district.campaign_id
    pin_today(app, date(2023, 9, 20))
    ignored = district.assignments(district.sfj)[0]
    set_due(client, district, ignored, date(2023, 9, 27))
    _deliver_all()  # what the shared world left pending is no concern of this story
    receiver.processed.clear()
    receiver.requests.clear()

    # 1. ignored: 蓝 three working days ahead, 黄 once late (4 working days over National Day), 红 past 5
    assert _light(client, district, f"assignments/{ignored}") == "none"
    pin_today(app, date(2023, 9, 25))
    assert _light(client, district, f"assignments/{ignored}") == "blue"
    pin_today(app, date(2023, 10, 9))
    assert _light(client, district, f"assignments/{ignored}") == "yellow"
    assert _scan_twice(origin, date(2023, 10, 9)) == 1
    pin_today(app, date(2023, 10, 11))
    assert _light(client, district, f"assignments/{ignored}") == "red"
    assert _scan_twice(origin, date(2023, 10, 11)) == 1
    _deliver_all()
    assert Counter(b["type"] for b in _supervision(receiver)) == {"supervision.yellow": 1, "supervision.red": 1}
    yellow = next(b["data"] for b in _supervision(receiver) if b["type"] == "supervision.yellow")
    assert (yellow["assignment_id"], yellow["overdue_workdays"], yellow["leader_contact"]) == (ignored, 4, LEADER)
    red = next(b["data"] for b in _supervision(receiver) if b["type"] == "supervision.red")
    assert (red["assignment_id"], red["unit_id"], red["overdue_workdays"]) == (ignored, district.sfj, 6)
    assert (red["notice_number"], red["acknowledge_by"]) == ("〔2023〕第1号", "2023-10-16")  # the county's first

    # 2. the 督办单: the unit sees it, downloads it, answers it (回执) once; answered, it never escalates
    [notice] = client.get(f"{API}/campaigns/{origin}/notices", headers=sfj).json()["items"]
    assert (notice["id"], notice["number_label"]) == (red["notice_id"], "〔2023〕第1号")
    assert notice["unit_id"] == district.sfj
    assert notice["card"]["light"] == "red" and notice["acknowledged_at"] is None
    word = client.get(f"{API}/notices/{notice['id']}/document.docx", headers=sfj)
    assert word.status_code == 200 and word.headers["content-type"].startswith("application/vnd.openxmlformats")
    text = "\n".join(p.text for p in Document(io.BytesIO(word.content)).paragraphs)
    assert "〔2023〕第1号" in text and "县司法局：" in text and "2023-10-16" in text
    pin_today(app, date(2023, 10, 12))
    body = {"planned_completion_on": "2023-10-20", "reply": "已召开专题会议，10月20日前补齐材料"}
    answered = client.post(f"{API}/notices/{notice['id']}/receipt", json=body, headers=sfj)
    assert answered.status_code == 200, answered.text
    assert answered.json()["planned_completion_on"] == "2023-10-20" and answered.json()["acknowledged_at"]
    again = client.post(f"{API}/notices/{notice['id']}/receipt", json=body, headers=sfj)
    assert again.status_code == 409 and again.json()["code"] == "notice_acknowledged"
    assert _scan_twice(origin, date(2023, 10, 17)) == 0  # past the three working days: answered, not escalated

    # 3. the cards cost points, and the ranking gives the reason of each
    ranked = client.get(f"{API}/campaigns/{origin}/units/ranking", headers=office).json()["items"]
    ranking = {r["unit_id"]: r for r in ranked}
    mine = ranking[district.sfj]
    assert (mine["rank"], mine["deducted"], mine["yellow_cards"], mine["red_cards"]) == (2, 3, 1, 1)
    assert (ranking[district.gaj]["rank"], ranking[district.gaj]["deducted"]) == (1, 0)
    assert [(d["subject"], d["light"], d["points"], d["issued_on"], d["due_on"]) for d in mine["deductions"]] == [
        ("assignment", "yellow", 1.0, "2023-10-09", "2023-09-27"),
        ("assignment", "red", 2.0, "2023-10-11", "2023-09-27"),
    ]

    # 4. 整改销号: a rectification for the problem, closed on the unit's own (approved) evidence
    item_id = client.get(f"{API}/assignments/{ignored}", headers=office).json()["item_id"]
    made = client.post(
        f"{API}/campaigns/{origin}/rectifications",
        json={"unit_id": district.sfj, "item_id": item_id, "due_on": "2023-10-20", "problem": "材料逾期未报送"},
        headers=office,
    )
    assert made.status_code == 201, made.text
    rid = made.json()["id"]
    assert made.json()["light"] == "none"  # 10/12: six working days ahead
    content = pdf(f"scenario evidence {district.county_id}")
    uploaded = upload(client, sfj, ignored, content, "依法行政工作报告.pdf")
    assert uploaded.status_code == 201, uploaded.text
    evidence, sha256 = uploaded.json()["id"], uploaded.json()["current"]["sha256"]
    assert sha256 == hashlib.sha256(content).hexdigest()
    approved = client.post(f"{API}/evidence/{evidence}/reviews", json={"decision": "approve", "version": 1},
                           headers=office)  # fmt: skip
    assert approved.status_code == 201 and approved.json()["status"] == "approved", approved.text
    assert _light(client, district, f"assignments/{ignored}") == "none"  # handed in and approved: no light
    done = client.post(
        f"{API}/rectifications/{rid}/progress",
        json={"status": "done", "measures": "已补报并经审核通过", "evidence_ids": [evidence]},
        headers=sfj,
    )
    assert done.status_code == 200 and done.json()["status"] == "done", done.text
    closed = client.post(f"{API}/rectifications/{rid}/verify", json={"accept": True, "comment": "核验属实"},
                         headers=office)  # fmt: skip
    assert closed.status_code == 200, closed.text
    assert (closed.json()["status"], closed.json()["evidence_ids"], closed.json()["light"]) == (
        "verified", [evidence], "none",
    )  # fmt: skip

    # 5. 回头看: a fixed seed draws the closed item; its check reopens it and its light turns again
    pin_today(app, date(2023, 11, 6))
    draw = {"name": "2023年回头看", "size": 1, "unit_id": district.sfj, "targets": ["rectification"],
            "seed": "scenario-2023"}  # fmt: skip
    round_ = client.post(f"{API}/campaigns/{origin}/follow-ups", json=draw, headers=office)
    assert round_.status_code == 201, round_.text
    assert (round_.json()["seed"], round_.json()["population_size"], round_.json()["sample_size"]) == (
        "scenario-2023", 1, 1,
    )  # fmt: skip
    [check] = client.get(f"{API}/follow-ups/{round_.json()['id']}/checks", headers=office).json()["items"]
    assert [(check["target"], check["target_id"])] == random.Random("scenario-2023").sample([("rectification", rid)], 1)
    entry = audit_entries(client, office, "follow_up", round_.json()["id"])[0]
    assert entry["action"] == "follow_up.create" and entry["after"]["seed"] == "scenario-2023"
    reopen = {"result": "reopened", "comment": "复查发现报告未经集体讨论", "due_on": "2023-11-08"}
    recorded = client.post(f"{API}/follow-up-checks/{check['id']}", json=reopen, headers=office)
    assert recorded.status_code == 200 and recorded.json()["result"] == "reopened", recorded.text
    item = client.get(f"{API}/rectifications/{rid}", headers=sfj).json()
    assert (item["status"], item["due_on"], item["reopen_count"], item["light"]) == ("open", "2023-11-08", 1, "blue")
    pin_today(app, date(2023, 11, 10))  # 11/9 and 11/10: two working days late
    assert _light(client, district, f"rectifications/{rid}") == "yellow"
    lit = client.get(f"{API}/campaigns/{origin}/lights", headers=office).json()
    assert (lit["blue"], lit["yellow"], lit["red"]) == (0, 1, 0)
    assert [(u["unit_id"], u["yellow"]) for u in lit["units"]] == [(district.sfj, 1)]
    assert _scan_twice(origin, date(2023, 11, 10)) == 1
    _deliver_all()
    reopened = [b["data"] for b in _supervision(receiver) if b["data"].get("subject") == "rectification"]
    assert [(d["subject_id"], d["light"], d["due_on"], d["overdue_workdays"]) for d in reopened] == [
        (rid, "yellow", "2023-11-08", 2)
    ]
    mine = next(
        r for r in client.get(f"{API}/campaigns/{origin}/units/ranking", headers=office).json()["items"]
        if r["unit_id"] == district.sfj
    )  # fmt: skip
    assert (mine["deducted"], mine["yellow_cards"], mine["red_cards"]) == (4, 2, 1)
    last = mine["deductions"][-1]
    assert (last["subject"], last["light"], last["points"], last["issued_on"]) == (
        "rectification", "yellow", 1.0, "2023-11-10",
    )  # fmt: skip
    assert last["item_label"] == f"整改事项{rid}（{mine['deductions'][0]['item_label']}）"  # the same item's problem

    # 6. the next year's campaign starts from 2023's approved evidence (沿用) and carries the reopened problem
    pin_today(app, date(2024, 1, 8))
    framework = client.get(f"{API}/campaigns/{origin}", headers=office).json()["framework_id"]
    created = client.post(
        f"{API}/campaigns",
        json={"name": "2024年示范创建", "framework_id": framework, "materials_deadline": "2024-12-31",
              "phases": [{"name": "实施推进", "starts_on": "2024-01-01", "ends_on": "2024-11-29",
                          "is_submission": True}]},
        headers=office,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    target = created.json()["id"]
    try:
        assert client.post(f"{API}/campaigns/{target}/launch", headers=office).status_code == 200
        carried = client.post(
            f"{API}/campaigns/{target}/carry-over",
            json={"from_campaign_id": origin, "rectification_due_on": "2024-03-29"},
            headers=office,
        )
        assert carried.status_code == 200, carried.text
        report = carried.json()
        assert (report["evidence_carried"], report["rectifications_carried"]) == (1, 1)
        assert report["bytes_carried"] == len(content) and report["unmatched_items"] == []
        [piece] = [e for e in report["evidence"] if e["carries"]]
        assert (piece["evidence_id"], piece["sha256"]) == (evidence, sha256)
        detail = client.get(f"{API}/evidence/{piece['carried_evidence_id']}", headers=sfj).json()
        version = detail["current"]
        assert (detail["campaign_id"], detail["status"], version["carried"]) == (target, "approved", True)
        assert (version["origin_campaign_id"], version["sha256"]) == (origin, sha256) and version["origin_version_id"]
        got = client.get(f"{API}/evidence/{piece['carried_evidence_id']}/versions/1/content", headers=sfj)
        assert hashlib.sha256(got.content).hexdigest() == sha256
        new_assignment = client.get(f"{API}/assignments/{piece['target_assignment_id']}", headers=sfj).json()
        assert (new_assignment["item_id"], new_assignment["status"], new_assignment["light"]) == (
            item_id, "approved", "none",
        )  # fmt: skip
        [rect] = client.get(f"{API}/campaigns/{target}/rectifications", headers=sfj).json()["items"]
        assert (rect["source"], rect["source_id"], rect["status"], rect["due_on"], rect["light"]) == (
            "carried", rid, "open", "2024-03-29", "none",
        )  # fmt: skip
        assert _scan_twice(target, date(2024, 1, 8)) == 0
        # the problem now lives in 2024: 2023's copy, still open and 红 there, earns no second card or 督办单
        with session_scope() as s:
            day = lights.book(s, today=date(2024, 1, 8))
            still = [(t.subject, t.subject_id) for t in escalation.lit_tasks(s, book=day, campaign_ids=[origin])]
        assert ("rectification", rid) not in still and ("rectification", rect["id"]) not in still
        # … while the carried copy, left past its new date, turns 红 and gets the county's first 督办单 of 2024, once
        pin_today(app, date(2024, 4, 9))
        assert _light(client, district, f"rectifications/{rect['id']}") == "red"
        assert _scan_twice(target, date(2024, 4, 9)) == 1
        [carried_notice] = client.get(f"{API}/campaigns/{target}/notices", headers=sfj).json()["items"]
        assert (carried_notice["number_label"], carried_notice["card"]["subject"]) == ("〔2024〕第1号", "rectification")
    finally:
        with Session(get_engine()) as s:  # frozen like the district's own: later deadline scans leave it alone
            found = s.get(Campaign, target)
            found.frozen_at = utcnow()
            s.add(found)
            s.commit()

    # every scan again gives nothing; each supervision event reached the receiver once, signed
    for day in (date(2023, 10, 9), date(2023, 10, 11), date(2023, 10, 17), date(2023, 11, 10)):
        assert _scan_twice(origin, day) == 0
    _deliver_all()
    assert Counter(b["type"] for b in _supervision(receiver)) == {
        "supervision.yellow": 2, "supervision.red": 2, "supervision.acknowledged": 1,
    }  # fmt: skip
    reds = sorted((b["data"] for b in _supervision(receiver) if b["type"] == "supervision.red"),
                  key=lambda d: d["notice_number"])  # fmt: skip
    assert [(d["subject"], d["subject_id"], d["notice_number"]) for d in reds] == [
        ("assignment", ignored, "〔2023〕第1号"), ("rectification", rect["id"], "〔2024〕第1号"),
    ]  # fmt: skip
    keys = [r["headers"]["Idempotency-Key"] for r in receiver.requests]
    assert len(keys) == len(set(keys)) == len(receiver.processed)  # each delivered once, each signature valid
