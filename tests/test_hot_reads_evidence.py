"""Evidence detail answers from statements compiled once and rows written straight to JSON
(app/services/submission/evidence_rows.py, issue 28). The general path (evidence.get_detail, pydantic; GraphQL and
the routes that change evidence use it) must give field for field the same answer and the same refusals for every
role and relation to the evidence, and a tenancy rule changed in app/services/access.py must reach both at once."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import orjson
import pytest
from sqlalchemy import event
from sqlmodel import Session, col, select

from app import db as app_db
from app.api import duties
from app.models import Campaign, EvidenceText, EvidenceVersion, User
from app.services import access
from app.services.errors import DomainError
from app.services.storage import LocalStore
from app.services.submission import evidence
from tests.conftest import pin_today, use_store
from tests.evidence_kit import API, PICKER, Picker, pdf, upload
from tests.photo_kit import jpeg
from tests.tenancy_kit import swap_rules

# every account of the shared world: the county's office and another county's, the uploading unit's liaison and
# another unit's (and another county's), evaluators engaged in both campaigns, one of them and none, two provinces,
# the three administrators (the security and audit administrators are refused by their duties on both paths)
CALLERS = ("lc-office", "gp-office", "lc-sfj", "lc-gaj", "gp-sfj", "evaluator", "evaluator-b", "idle-evaluator",
           "sx-province", "yn-province", "sysadmin", "secadmin", "auditadmin")  # fmt: skip
PERIOD = {"assessment_start": "2022-01-01", "assessment_end": "2022-12-31"}
MISSING = 987654321
PIECES: dict[str, Any] = {}  # made once: the evidence the comparisons read


def _sent(r: Any) -> dict[str, Any]:
    assert r.status_code == 201, r.text
    return r.json()


def _review(client, world, evidence_id: int, version: int, decision: str, comment: str = "") -> None:
    body = {"decision": decision, "version": version, "comment": comment}
    r = client.post(f"{API}/evidence/{evidence_id}/reviews", json=body, headers=world.auth("lc-office"))
    assert r.status_code == 201, r.text


def _own_campaign(client, world, session) -> int:
    """A launched campaign of 陵川 with an assessment period, only "evaluator" engaged in it."""
    from tests.world import launched_campaign

    framework_id = session.get(Campaign, world.ids["lc_campaign"]).framework_id
    made = launched_campaign(session, county_id=world.ids["lc_county"], framework_id=framework_id, name="快读核对")
    session.commit()
    evaluator = session.exec(select(User).where(User.username == "evaluator")).one()
    office = world.auth("lc-office")
    r = client.post(f"{API}/campaigns/{made.id}/evaluators", json={"user_id": evaluator.id}, headers=office)
    assert r.status_code in (200, 201, 204), r.text
    r = client.put(f"{API}/campaigns/{made.id}/assessment-period", json=PERIOD, headers=office)
    assert r.status_code == 200, r.text
    return made.id  # type: ignore[return-value]


def _make(client, world, session) -> dict[str, int]:
    """Evidence with every kind of version, review, reuse and photo the detail shows."""
    campaign = _own_campaign(client, world, session)
    own, sfj, gaj = Picker(campaign), world.auth("lc-sfj"), world.auth("lc-gaj")
    a_bytes, b_bytes = pdf("hot-evidence-A"), pdf("hot-evidence-B")
    # several versions: returned, resubmitted (the first superseded), approved; dated outside the period
    first = _sent(upload(client, sfj, own.assignment(session, world.ids["lc_sfj"]).id, a_bytes, "甲.pdf",
                         title="多版本", document_date="2021-05-01"))  # fmt: skip
    _review(client, world, first["id"], 1, "return", "请补充盖章件")
    r = client.post(f"{API}/evidence/{first['id']}/versions/file", files={"file": ("乙.pdf", b_bytes)}, headers=sfj)
    _sent(r)
    _review(client, world, first["id"], 2, "approve")
    # the same bytes in the world's campaign (another item and campaign), by another unit, in another county
    again = _sent(upload(client, sfj, PICKER.assignment(session, world.ids["lc_sfj"]).id, a_bytes, "甲.pdf"))
    other_unit = _sent(upload(client, gaj, own.assignment(session, world.ids["lc_gaj"]).id, b_bytes, "乙.pdf"))
    gp = Picker(world.ids["gp_campaign"]).assignment(session, world.ids["gp_sfj"])
    other_county = _sent(upload(client, world.auth("gp-sfj"), gp.id, a_bytes, "甲.pdf"))
    # a photo with EXIF, then an address as version 2, withdrawn: the photo is current again
    photo = _sent(upload(client, sfj, own.assignment(session, world.ids["lc_sfj"]).id, jpeg(), "DSC_0001.jpg"))
    body = {"kind": "url", "url": "https://www.lingchuan.gov.cn/zfxxgk/2022.html"}
    _sent(client.post(f"{API}/evidence/{photo['id']}/versions", json=body, headers=sfj))
    r = client.post(f"{API}/evidence/{photo['id']}/versions/2/withdraw", headers=sfj)
    assert r.status_code == 200, r.text
    # a statement for a material request (it counts for several items), covering a period
    request_id, rows = own.shared_material(session, world.ids["lc_sfj"])
    body = {"kind": "statement", "text": "情况说明：全年开展法治宣传12次。", "material_request_id": request_id,
            "period_start": "2022-03-01", "period_end": "2023-01-31"}  # fmt: skip
    material = _sent(client.post(f"{API}/assignments/{rows[0].id}/evidence", json=body, headers=sfj))
    # a statement withdrawn altogether
    body = {"kind": "statement", "text": "撤回的说明"}
    gone = _sent(client.post(f"{API}/assignments/{own.assignment(session, world.ids['lc_sfj']).id}/evidence",
                             json=body, headers=sfj))  # fmt: skip
    assert client.post(f"{API}/evidence/{gone['id']}/versions/1/withdraw", headers=sfj).status_code == 200
    _by_hand(session, first=first["id"], again=again["id"], photo=photo["id"], campaign=campaign)
    made = {"first": first, "again": again, "other_unit": other_unit, "photo": photo, "material": material,
            "gone": gone, "other_county": other_county}  # fmt: skip
    return {**{name: sent["id"] for name, sent in made.items()}, "missing": MISSING}


def _by_hand(session: Session, *, first: int, again: int, photo: int, campaign: int) -> None:
    """What the worker and a carry-over would write: how the words were read (failed, with a suggested date), a
    failed preview, a carried version (沿用), and a photo position whose degrees are whole (JSON's 113 vs 113.0)."""
    mine = select(EvidenceVersion).where(col(EvidenceVersion.evidence_id).in_([first, again, photo]))
    versions = {(v.evidence_id, v.number): v for v in session.exec(mine).all()}
    one, two = versions[(first, 1)], versions[(first, 2)]
    for version, status, error in ((one, "failed", "time_limit: 120 s"), (two, "done", None)):
        found = session.get(EvidenceText, version.id)
        if found is None:
            found = EvidenceText(version_id=version.id, campaign_id=campaign, status=status, plain="", segmented="")
        found.status, found.error = status, error
        found.suggested_date, found.suggested_from = date(2022, 3, 1), "text"
        session.add(found)
    two.preview, two.preview_error = "failed", "crashed: renderer exited"
    carried = versions[(again, 1)]
    carried.origin_version_id, carried.origin_campaign_id = one.id, campaign
    shot = versions[(photo, 1)]
    shot.taken_latitude, shot.taken_longitude = 35.123456789012345, 113.0
    session.add_all([one, two, carried, shot])
    session.commit()


@pytest.fixture
def pieces(app, client, world, session, tmp_path) -> dict[str, int]:
    """The evidence of these tests (made once), on a day uploads are open, with a local store."""
    from app.api import deps

    pin_today(app, date(2023, 2, 10))
    store = LocalStore(tmp_path / "objects")
    store.ensure_ready()
    use_store(app, store)
    if not PIECES:
        PIECES.update(_make(client, world, session))
    yield PIECES
    app.dependency_overrides.pop(deps._store, None)


def _general(token: str, evidence_id: int) -> dict[str, Any]:
    """What the general path answers: the principal as every other route reads it, evidence.get_detail, pydantic."""
    with Session(app_db.get_engine()) as session:
        try:
            who = access.authenticate(session, token)
            duties.refuse_outside_duty(who.role, "GET", API + "/evidence/{evidence_id}")
            found = evidence.get_detail(session, evidence_id=evidence_id, principal=who)
        except DomainError as exc:
            return {"code": exc.code}
        return orjson.loads(found.model_dump_json())


def _same(fast: dict[str, Any], general: dict[str, Any]) -> bool:
    """Equal as JSON, not only as Python values: 113 is not 113.0, nor 1 true."""
    return orjson.dumps(fast, option=orjson.OPT_SORT_KEYS) == orjson.dumps(general, option=orjson.OPT_SORT_KEYS)


def _fast(client, world, who: str, evidence_id: int) -> dict[str, Any]:
    r = client.get(f"{API}/evidence/{evidence_id}", headers=world.auth(who))
    if r.status_code != 200:
        assert r.status_code in (403, 404) and r.headers["content-type"].startswith("application/problem+json")
        return {"code": r.json()["code"]}
    assert r.headers["content-type"] == "application/json"
    return r.json()


@pytest.mark.parametrize("who", CALLERS)
def test_fast_and_general_paths_answer_alike(client, world, pieces, who: str) -> None:
    seen = []
    for name, evidence_id in pieces.items():
        fast = _fast(client, world, who, evidence_id)
        general = _general(world.tokens[who], evidence_id)
        assert fast == general and _same(fast, general), (who, name)
        seen.append(fast.get("code", name))
    if who in ("lc-office", "sysadmin", "lc-sfj", "evaluator", "sx-province"):
        assert "first" in seen and "photo" in seen, seen


def test_the_comparison_sees_what_the_detail_can_show(client, world, pieces) -> None:
    """The pieces hold what the equality above must cover: not an empty comparison."""
    office = world.auth("lc-office")
    first = client.get(f"{API}/evidence/{pieces['first']}", headers=office).json()
    assert [v["state"] for v in first["versions"]] == ["active", "active"] and len(first["reviews"]) == 2
    assert first["versions"][0]["text_failure"]["code"] == "time_limit"
    assert first["versions"][1]["preview_failure"]["code"] == "crashed"
    assert first["versions"][0]["outside_period"] is True and first["versions"][1]["outside_period"] is False
    uses = {(u["evidence_id"], u["version"]) for u in first["reused_in"]}
    assert {(pieces["again"], 1), (pieces["other_unit"], 1)} <= uses and pieces["other_county"] not in uses
    assert client.get(f"{API}/evidence/{pieces['first']}", headers=world.auth("lc-sfj")).json()["reused_in"] is None
    carried = client.get(f"{API}/evidence/{pieces['again']}", headers=office).json()
    assert carried["current"]["carried"] is True and carried["current"]["origin_version_id"]
    photo = client.get(f"{API}/evidence/{pieces['photo']}", headers=office).json()
    assert photo["current"]["number"] == 1 and photo["versions"][1]["state"] == "withdrawn"
    assert (
        photo["current"]["photo"]["longitude"] == 113.0
        and "113.0" in client.get(f"{API}/evidence/{pieces['photo']}", headers=office).text
    )
    material = client.get(f"{API}/evidence/{pieces['material']}", headers=office).json()
    assert len(material["items"]) >= 2 and "、" in material["item_label"]
    assert client.get(f"{API}/evidence/{pieces['gone']}", headers=office).json()["status"] == "withdrawn"


def test_one_statement_after_the_account_on_postgresql(client, world, pieces) -> None:
    seen: list[str] = []

    def on_execute(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        seen.append(statement)

    engine = app_db.get_engine()
    url = f"{API}/evidence/{pieces['first']}"
    assert client.get(url, headers=world.auth("lc-office")).status_code == 200  # compiled
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        assert client.get(url, headers=world.auth("lc-office")).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    # the account read, then the evidence with its versions, reviews, items and reuse (SQLite: one select each)
    assert len(seen) == (2 if engine.dialect.name == "postgresql" else 6), seen


def test_a_changed_tenancy_rule_reaches_both_paths(client, world, pieces, monkeypatch) -> None:
    first, other_county = pieces["first"], pieces["other_county"]
    office, liaison = "lc-office", "lc-gaj"
    for who in (office, liaison):  # warm: the statements of these callers are compiled and kept
        assert _same(_fast(client, world, who, first), _general(world.tokens[who], first))
    assert _fast(client, world, liaison, first) == {"code": "evidence_not_found"}
    assert _fast(client, world, office, other_county) == {"code": "evidence_not_found"}

    swap_rules(monkeypatch, world.ids)  # 陵川's office sees 高平, not its own; a liaison every unit
    assert _fast(client, world, office, first) == {"code": "evidence_not_found"}
    swapped = _fast(client, world, office, other_county)
    assert swapped["id"] == other_county and _same(swapped, _general(world.tokens[office], other_county))
    assert swapped["reused_in"] == []  # 高平's uses of these bytes: only this one
    widened = _fast(client, world, liaison, first)
    assert widened["id"] == first and _same(widened, _general(world.tokens[liaison], first))

    monkeypatch.undo()  # the rules as they are: the statements compiled from them again
    assert _fast(client, world, office, other_county) == {"code": "evidence_not_found"}
    assert _fast(client, world, liaison, first) == {"code": "evidence_not_found"}


def test_an_id_no_column_holds_is_refused_alike(client, world) -> None:
    r = client.get(f"{API}/evidence/{2**63}", headers=world.auth("lc-office"))
    assert r.status_code == 422 and r.json()["code"] == "value_out_of_range", r.text


def test_no_route_of_one_router_matches_a_path_of_another() -> None:
    """The routers are tried busiest first (app.main.ROUTERS), not in the order they were written: that is safe
    while no request path could reach a route of two routers (the first in order would take it)."""
    from starlette.routing import Match

    from app.main import ROUTERS

    routes = [(module.__name__, route) for module in ROUTERS for route in module.router.routes]
    for owner, route in routes:
        path = re.sub(r"\{[^}:]+(:[^}]+)?\}", "1", route.path)  # every parameter given a value
        for method in route.methods:
            scope = {"type": "http", "path": path, "method": method, "root_path": ""}
            others = [r.path for name, r in routes if name != owner and r.matches(scope)[0] == Match.FULL]
            assert others == [], (method, route.path, others)
