"""Carry-over (issue 25, point 6), through HTTP with real tokens: 陵川's 2022 campaign starts from its 2021
campaign. Items are matched by key across two versions of the county's framework (the one whose key changed
is listed, never guessed), approved evidence carries as new versions marked 沿用 whose bytes are a copy of
their own (same SHA-256, kept by the sweeper, independent of the origin's object), open rectifications
carry, evaluators see the origin, everything is audited, a second commit carries nothing twice, and every
refusal has its code."""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import threading
import time
import uuid
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import select

from app.models import Assignment, Campaign, EvidenceVersion, Item, MaterialRequest
from app.services.submission import uploads
from tests.conftest import pin_today, serving
from tests.evidence_kit import API, pdf, upload
from tests.graphql_kit import gql

SEED = Path(__file__).resolve().parents[1] / "data/frameworks/lingchuan-2021.json"
KEPT, CHANGED, STATEMENT = "indicator-30", "indicator-31", "indicator-32"
SHARED = ["indicator-26", "indicator-27", "indicator-28", "indicator-29"]  # material request M026 covers them
UNIT = "县结转试点局"
DURING_2021, AFTER_2021 = date(2022, 2, 10), date(2022, 6, 1)


def _framework(client, office: dict, code: str, *, rename: dict[str, str] | None = None) -> int:
    """A version of the county's own framework: the 陵川 seed under code, every item answered by the test's own
    unit alone (so no other unit's to-do list ever shows these campaigns), item keys renamed."""
    seed = json.loads(SEED.read_text("utf-8"))
    items = [{**i, "units": [UNIT], "units_cell": UNIT, "lead_units": [], "lead_units_cell": ""} for i in seed["items"]]
    doc = {**seed, "code": code, "items": items}
    text = json.dumps(doc, ensure_ascii=False)
    for old, new in (rename or {}).items():
        text = text.replace(f'"{old}"', f'"{new}"')  # the item, its material requests and scoring
    files = {"file": (f"{code}.json", text.encode(), "application/json")}
    r = client.post(f"{API}/frameworks", files=files, headers=office)
    assert r.status_code == 201, r.text
    return r.json()["id"]


@pytest.fixture(scope="module")
def own(app, world) -> dict:
    """The test's own unit of 陵川 with its liaison, and an evaluator of its own (tokens by real logins)."""
    from sqlmodel import Session

    from app import db
    from app.models.unit import UnitCreate
    from app.models.user import Role, UserCreate
    from app.services import demo
    from app.services.accounts import users
    from app.services.campaign import units

    with Session(db.get_engine(), expire_on_commit=False) as s:
        unit = units.create_unit(
            s, county_id=world.ids["lc_county"], data=UnitCreate(name=UNIT, kind="department"), principal=None
        )
        for username, role, binding in (("carry-liaison", Role.liaison, {"unit_id": unit.id}),
                                        ("carry-evaluator", Role.evaluator, {})):  # fmt: skip
            data = UserCreate(username=username, display_name=username, role=role, password=demo.DEMO_PASSWORD,
                              **binding)  # fmt: skip
            users.create(s, data=data, checked=False)
        s.commit()
    with TestClient(app) as c:
        tokens = {
            who: c.post(f"{API}/auth/token", data={"username": who, "password": demo.DEMO_PASSWORD}).json()
            for who in ("carry-liaison", "carry-evaluator")
        }
    auth = {who: {"Authorization": f"Bearer {t['access_token']}"} for who, t in tokens.items()}
    return {"unit": unit.id, "liaison": auth["carry-liaison"], "evaluator": auth["carry-evaluator"]}


def _campaign(client, office: dict, framework_id: int, name: str, year: int) -> int:
    body = {
        "name": name, "framework_id": framework_id, "materials_deadline": f"{year + 1}-02-28",
        "phases": [{"name": "资料报送", "starts_on": f"{year + 1}-01-01", "ends_on": f"{year + 1}-02-28",
                    "is_submission": True}],
    }  # fmt: skip
    r = client.post(f"{API}/campaigns", json=body, headers=office)
    assert r.status_code == 201, r.text
    campaign_id = r.json()["id"]
    assert client.post(f"{API}/campaigns/{campaign_id}/launch", headers=office).status_code == 200
    return campaign_id


def _assignment(session, campaign_id: int, unit_id: int, key: str) -> int:
    return session.exec(
        select(Assignment.id)
        .join(Item, Item.id == Assignment.item_id)
        .where(Assignment.campaign_id == campaign_id, Assignment.unit_id == unit_id, Item.key == key)
    ).one()


def _approve(client, office: dict, evidence_id: int) -> None:
    r = client.post(f"{API}/evidence/{evidence_id}/reviews", json={"decision": "approve", "version": 1}, headers=office)
    assert r.status_code == 201, r.text


def _scenario(client, app, world, own, session) -> dict:
    """2021 and 2022 campaigns of 陵川 on two versions of its framework (item 31's key changed to 31b), with the
    test's unit's approved PDFs for items 30 and 31, an approved statement for 32, a file still waiting for review,
    and an open rectification."""
    office, sfj = world.auth("lc-office"), own["liaison"]
    code = f"carry-{uuid.uuid4().hex[:8]}"
    v1 = _framework(client, office, code)
    v2 = _framework(client, office, code, rename={CHANGED: f"{CHANGED}b"})
    origin = _campaign(client, office, v1, "陵川县2021年示范创建", 2021)
    target = _campaign(client, office, v2, "陵川县2022年示范创建", 2022)
    unit = own["unit"]
    pin_today(app, DURING_2021)
    body = pdf(f"2021 law-based government evidence {uuid.uuid4().hex}")
    kept = upload(client, sfj, _assignment(session, origin, unit, KEPT), body, "2021年度报告.pdf").json()
    changed = upload(client, sfj, _assignment(session, origin, unit, CHANGED), pdf("changed"), "31.pdf").json()
    said = client.post(f"{API}/assignments/{_assignment(session, origin, unit, STATEMENT)}/evidence",
                       json={"kind": "statement", "text": "本单位已按要求落实。"}, headers=sfj).json()  # fmt: skip
    shared = client.post(  # one statement for items 26–29 together (第26、27、28、29项合并提供)
        f"{API}/assignments/{_assignment(session, origin, unit, SHARED[0])}/evidence",
        json={
            "kind": "statement",
            "text": "第26至29项合并说明。",
            "material_request_id": _material(session, origin, "M026"),
        },
        headers=sfj,
    ).json()
    waiting = upload(client, sfj, _assignment(session, origin, unit, KEPT), pdf("waiting"), "待审.pdf").json()
    for evidence in (kept, changed, said, shared):
        _approve(client, office, evidence["id"])
    rect = client.post(
        f"{API}/campaigns/{origin}/rectifications",
        json={"unit_id": unit, "due_on": "2022-03-31", "problem": "执法案卷评查问题未整改",
              "item_id": session.exec(select(Item.id).where(Item.framework_id == v1, Item.key == KEPT)).one()},
        headers=office,
    )  # fmt: skip
    assert rect.status_code == 201, rect.text
    return {
        "office": office, "sfj": sfj, "origin": origin, "target": target, "unit": unit, "bytes": body,
        "kept": kept, "changed": changed, "said": said, "shared": shared, "waiting": waiting, "rect": rect.json(),
    }  # fmt: skip


def _material(session, campaign_id: int, key: str) -> int:
    """The material request of that key in the campaign's framework."""
    framework = select(Campaign.framework_id).where(Campaign.id == campaign_id).scalar_subquery()
    return session.exec(
        select(MaterialRequest.id).where(MaterialRequest.framework_id == framework, MaterialRequest.key == key)
    ).one()


def _by_id(entries: list[dict], key: str, value: int) -> dict:
    return next(e for e in entries if e[key] == value)


def test_the_next_campaign_starts_from_what_was_approved(client, app, world, own, session, moto_api_store) -> None:
    s = _scenario(client, app, world, own, session)
    office, origin, target = s["office"], s["origin"], s["target"]
    choice = {"from_campaign_id": origin}
    preview_url, commit_url = f"{API}/campaigns/{target}/carry-over/preview", f"{API}/campaigns/{target}/carry-over"

    # while 2021's materials may still change, nothing carries
    r = client.post(preview_url, json=choice, headers=office)
    assert r.status_code == 409 and r.json()["code"] == "carry_origin_not_finished", r.text
    pin_today(app, AFTER_2021)

    # the preview: item 31 is listed as unmatched (its key changed), its evidence stays behind; nothing is written
    r = client.post(preview_url, json=choice, headers=office)
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["committed"] is False
    assert [u["item_key"] for u in plan["unmatched_items"]] == [CHANGED]
    assert plan["matched_items"] == len(json.loads(SEED.read_text("utf-8"))["items"]) - 1
    kept = _by_id(plan["evidence"], "evidence_id", s["kept"]["id"])
    assert kept["carries"] and kept["item_keys"] == [KEPT] and kept["sha256"] == s["kept"]["current"]["sha256"]
    assert kept["target_assignment_id"] == _assignment(session, target, s["unit"], KEPT)
    changed = _by_id(plan["evidence"], "evidence_id", s["changed"]["id"])
    assert not changed["carries"] and changed["reason"] == "item_unmatched"
    assert _by_id(plan["evidence"], "evidence_id", s["said"]["id"])["carries"]
    assert s["waiting"]["id"] not in {e["evidence_id"] for e in plan["evidence"]}  # only approved evidence
    shared = _by_id(plan["evidence"], "evidence_id", s["shared"]["id"])  # matched by the request's key
    assert shared["carries"] and shared["item_keys"] == SHARED
    assert shared["target_material_request_id"] == _material(session, target, "M026")
    assert plan["evidence_carried"] == 3 and plan["bytes_carried"] == len(s["bytes"])
    [rect] = plan["rectifications"]
    assert rect["carries"] and rect["rectification_id"] == s["rect"]["id"] and rect["item_key"] == KEPT
    listed = client.get(f"{API}/campaigns/{target}/evidence", headers=office).json()
    assert listed["total"] == 0

    # the office chooses: another unit only carries no evidence
    other = client.post(preview_url, json={**choice, "unit_ids": [world.ids["lc_gaj"]]}, headers=office).json()
    assert _by_id(other["evidence"], "evidence_id", s["kept"]["id"])["reason"] == "not_chosen"
    assert other["evidence_carried"] == 0 and other["rectifications_carried"] == 0

    # the commit
    r = client.post(commit_url, json=choice, headers=office)
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["committed"] and done["evidence_carried"] == 3 and done["rectifications_carried"] == 1
    carried_id = _by_id(done["evidence"], "evidence_id", s["kept"]["id"])["carried_evidence_id"]
    carried_rect = done["rectifications"][0]["carried_rectification_id"]

    # running it again carries nothing twice
    again = client.post(commit_url, json=choice, headers=office).json()
    assert again["evidence_carried"] == 0 and again["rectifications_carried"] == 0
    assert _by_id(again["evidence"], "evidence_id", s["kept"]["id"]) == {
        **_by_id(done["evidence"], "evidence_id", s["kept"]["id"]), "carries": False, "reason": "already_carried",
        "target_assignment_id": None,
    }  # fmt: skip
    assert client.get(f"{API}/campaigns/{target}/evidence", headers=office).json()["total"] == 3
    rects = client.get(f"{API}/campaigns/{target}/rectifications", headers=office).json()["items"]
    assert [(r["id"], r["source"], r["source_id"], r["status"]) for r in rects] == [
        (carried_rect, "carried", s["rect"]["id"], "open")
    ]

    # the carried version: 沿用 with its origin, the same bytes and SHA-256, approved in the new campaign
    detail = client.get(f"{API}/evidence/{carried_id}", headers=office).json()
    version = detail["current"]
    origin_version = session.exec(
        select(EvidenceVersion).where(EvidenceVersion.evidence_id == s["kept"]["id"], EvidenceVersion.number == 1)
    ).one()
    assert version["carried"] and version["origin_version_id"] == origin_version.id
    assert version["origin_campaign_id"] == origin and detail["campaign_id"] == target
    assert detail["status"] == "approved" and detail["reviews"][0]["comment"].startswith("沿用")
    assignment = client.get(f"{API}/assignments/{_assignment(session, target, s['unit'], KEPT)}", headers=office)
    assert assignment.json()["status"] == "approved"
    for key in SHARED:  # the carried statement counts for each item its request covers
        a = client.get(f"{API}/assignments/{_assignment(session, target, s['unit'], key)}", headers=office).json()
        assert a["status"] == "approved", key
    evaluator = own["evaluator"]
    evaluator_id = client.get(f"{API}/me", headers=evaluator).json()["user_id"]
    engage = client.post(f"{API}/campaigns/{target}/evaluators", json={"user_id": evaluator_id}, headers=office)
    assert engage.status_code == 204, engage.text
    for who in (office, evaluator, s["sfj"]):
        seen_version = client.get(f"{API}/evidence/{carried_id}", headers=who).json()["current"]
        assert (seen_version["carried"], seen_version["origin_version_id"]) == (True, origin_version.id)
        got = client.get(f"{API}/evidence/{carried_id}/versions/1/content", headers=who)
        assert got.status_code == 200 and got.content == s["bytes"]
        assert hashlib.sha256(got.content).hexdigest() == version["sha256"] == origin_version.sha256
    query = "query($id: Int!) { evidence(id: $id) { campaignId current { carried originVersionId originCampaignId } } }"
    seen = gql(client, evaluator, query, {"id": carried_id})
    assert seen["data"]["evidence"]["current"] == {
        "carried": True, "originVersionId": origin_version.id, "originCampaignId": origin,
    }  # fmt: skip

    # the evidence package's index names where a carried file came from
    package = client.get(f"{API}/campaigns/{target}/evidence-package.zip", headers=office)
    assert package.status_code == 200, package.text
    ws = load_workbook(io.BytesIO(zipfile.ZipFile(io.BytesIO(package.content)).read("index.xlsx"))).active
    header = [c.value for c in ws[2]]
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in ws.iter_rows(min_row=3)]
    assert {(r["资料标题"], r["沿用自"], r["SHA-256"]) for r in rows if r["类型"] == "文件"} == {
        (s["kept"]["title"], "陵川县2021年示范创建", origin_version.sha256)
    }

    # … and the ledger's last review says 沿用 on the carried item (the carry's approval, by the office)
    ledger = client.get(f"{API}/campaigns/{target}/ledger.xlsx", headers=office)
    ws = load_workbook(io.BytesIO(ledger.content)).active
    header = [c.value for c in ws[2]]
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in ws.iter_rows(min_row=3)]
    [row] = [r for r in rows if r["序号"] == 30 and r["责任单位"] == UNIT]
    assert row["状态"] == "已通过" and row["审核意见"].startswith("沿用：自“陵川县2021年示范创建”结转")

    # its own object: the origin's removed, the carry still downloads
    carry_key = session.exec(select(EvidenceVersion.object_key).where(EvidenceVersion.evidence_id == carried_id)).one()
    assert carry_key != origin_version.object_key and carry_key.startswith(f"ev/{target}/")
    moto_api_store.delete(origin_version.object_key)
    assert client.get(f"{API}/evidence/{carried_id}/versions/1/content", headers=office).content == s["bytes"]

    # audited: the commit, each carried piece and rectification
    trail = client.get(f"{API}/audit", params={"campaign_id": target, "limit": 50}, headers=office).json()["items"]
    actions = [e["action"] for e in trail]
    assert actions.count("campaign.carry_over") == 2
    assert actions.count("evidence.carry") == 3 and actions.count("rectification.carry") == 1
    entry = next(e for e in trail if e["action"] == "evidence.carry" and e["object_id"] == str(carried_id))
    assert entry["after"]["origin_version_id"] == origin_version.id and entry["username"] == "lc-office"

    # once a unit has handed in evidence of its own, carrying again is refused
    own = upload(client, s["sfj"], _assignment(session, target, s["unit"], CHANGED + "b"), pdf("2022"), "新.pdf")
    assert own.status_code == 201, own.text
    r = client.post(commit_url, json=choice, headers=office)
    assert r.status_code == 409 and r.json()["code"] == "carry_target_has_evidence"


@pytest.mark.parametrize("server", ["moto", "rgw"])
def test_the_sweeper_never_removes_a_carried_object(client, app, world, own, session, request, server) -> None:
    """On Ceph RGW too (CI has it): the carried object stays through a sweep that removes a stray beside it."""
    store = request.getfixturevalue(f"{server}_api_store")
    s = _scenario(client, app, world, own, session)
    pin_today(app, AFTER_2021)
    r = client.post(
        f"{API}/campaigns/{s['target']}/carry-over",
        json={"from_campaign_id": s["origin"], "item_keys": [KEPT], "rectifications": False, "approve": False},
        headers=s["office"],
    )
    assert r.status_code == 200 and r.json()["evidence_carried"] == 1, r.text
    carried_id = _by_id(r.json()["evidence"], "evidence_id", s["kept"]["id"])["carried_evidence_id"]
    waiting = client.get(f"{API}/evidence/{carried_id}", headers=s["office"]).json()  # approve: false
    assert waiting["status"] == "submitted" and waiting["reviews"] == [] and waiting["current"]["carried"]
    key = session.exec(select(EvidenceVersion.object_key).where(EvidenceVersion.evidence_id == carried_id)).one()
    stray = uploads.new_key(s["target"], s["unit"])  # an object no row names, beside it: the sweeper takes it
    store.copy(key, stray)
    report = uploads.sweep(session, store, now=datetime.now(UTC) + timedelta(days=1), grace=timedelta(hours=2))
    session.commit()
    assert report.orphans >= 1 and store.size_of(stray) is None
    assert store.size_of(key) == len(s["bytes"])
    got = client.get(f"{API}/evidence/{carried_id}/versions/1/content", headers=s["office"])
    assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == s["kept"]["current"]["sha256"]


def test_refusals_have_their_codes(client, app, world, own, session, moto_api_store) -> None:
    s = _scenario(client, app, world, own, session)
    pin_today(app, AFTER_2021)
    office, origin, target = s["office"], s["origin"], s["target"]
    cases = [
        ("lc-sfj", target, {"from_campaign_id": origin}, 403, None),  # a liaison
        ("evaluator", target, {"from_campaign_id": origin}, 404, "campaign_not_found"),  # not engaged: not seen
        ("gp-office", target, {"from_campaign_id": origin}, 404, "campaign_not_found"),  # another county's
        ("lc-office", target, {"from_campaign_id": world.ids["gp_campaign"]}, 404, "campaign_not_found"),
        ("sysadmin", target, {"from_campaign_id": world.ids["gp_campaign"]}, 409, "carry_origin_other_county"),
        ("lc-office", origin, {"from_campaign_id": target}, 409, "carry_origin_not_earlier"),
        ("lc-office", target, {"from_campaign_id": target}, 409, "carry_origin_not_earlier"),
        ("lc-office", target, {"from_campaign_id": "最早的"}, 422, None),
        ("lc-office", target, {"from_campaign_id": origin, "item_keys": ["x" * 65]}, 422, None),
    ]
    for who, campaign_id, body, status, code in cases:
        for path in ("/preview", ""):
            r = client.post(f"{API}/campaigns/{campaign_id}/carry-over{path}", json=body, headers=world.auth(who))
            assert r.status_code == status, (who, body, r.text)
            assert code is None or r.json()["code"] == code, (who, body, r.text)
    draft = client.post(
        f"{API}/campaigns",
        json={"name": "未启动", "framework_id": client.get(f"{API}/campaigns/{target}", headers=office).json()[
            "framework_id"], "materials_deadline": "2023-02-28",
              "phases": [{"name": "报送", "starts_on": "2023-01-01", "ends_on": "2023-02-28"}]},
        headers=office,
    ).json()["id"]  # fmt: skip
    r = client.post(f"{API}/campaigns/{draft}/carry-over", json={"from_campaign_id": origin}, headers=office)
    assert r.status_code == 409 and r.json()["code"] == "carry_target_not_launched"
    other_code = _framework(client, office, f"carry-other-{uuid.uuid4().hex[:8]}")
    other = _campaign(client, office, other_code, "陵川县2022年另一体系", 2022)
    r = client.post(f"{API}/campaigns/{other}/carry-over", json={"from_campaign_id": origin}, headers=office)
    assert r.status_code == 409 and r.json()["code"] == "carry_framework_other_code"
    assert client.get(f"{API}/campaigns/{target}/evidence", headers=office).json()["total"] == 0  # nothing written


def test_an_origin_file_lost_from_the_store_is_listed_not_carried(
    client, app, world, own, session, moto_api_store
) -> None:
    s = _scenario(client, app, world, own, session)
    pin_today(app, AFTER_2021)
    lost = session.exec(select(EvidenceVersion.object_key).where(EvidenceVersion.evidence_id == s["kept"]["id"])).one()
    moto_api_store.delete(lost)
    r = client.post(f"{API}/campaigns/{s['target']}/carry-over", json={"from_campaign_id": s["origin"]},
                    headers=s["office"])  # fmt: skip
    assert r.status_code == 200, r.text
    done = r.json()
    kept = _by_id(done["evidence"], "evidence_id", s["kept"]["id"])
    assert (kept["carries"], kept["reason"], kept["carried_evidence_id"]) == (False, "origin_missing", None)
    assert done["evidence_carried"] == 2 and done["bytes_carried"] == 0  # the statements carried, no file
    listed = client.get(f"{API}/campaigns/{s['target']}/evidence", headers=s["office"]).json()["items"]
    assert sorted(e["title"] for e in listed) == sorted([s["said"]["title"], s["shared"]["title"]])


def test_two_commits_at_once_carry_once(client, app, world, own, session, moto_api_store, monkeypatch) -> None:
    """The second commit waits on the first's lock of the campaign, then finds its carries: nothing twice."""
    commit = importlib.import_module("app.services.carryover.commit")  # the module (the package exports its function)

    s = _scenario(client, app, world, own, session)
    pin_today(app, AFTER_2021)
    copy = commit._copy

    def slow_copy(*args, **kwargs) -> str:  # widen the window in which the other commit could read the same plan
        time.sleep(0.5)
        return copy(*args, **kwargs)

    monkeypatch.setattr(commit, "_copy", slow_copy)
    answers: list[dict] = []
    with serving(app) as base:
        url = f"{base}{API}/campaigns/{s['target']}/carry-over"

        def send() -> None:
            r = httpx.post(url, json={"from_campaign_id": s["origin"]}, headers=s["office"], timeout=30)
            assert r.status_code == 200, r.text
            answers.append(r.json())

        threads = [threading.Thread(target=send) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(a["evidence_carried"] for a in answers) == [0, 3]
    assert sorted(a["rectifications_carried"] for a in answers) == [0, 1]
    assert client.get(f"{API}/campaigns/{s['target']}/evidence", headers=s["office"]).json()["total"] == 3
    assert len(client.get(f"{API}/campaigns/{s['target']}/rectifications", headers=s["office"]).json()["items"]) == 1
