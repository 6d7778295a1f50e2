"""What a server process keeps between requests — the working-day calendar, the campaigns' light books and what the
lists show of an item, its section and its unit (app/kept.py, issue 28) — is exact across processes: a change
committed by another connection, as another server process would commit it, is seen by the very next read through
HTTP; the read generation the keys depend on changes with every write that feeds them, and not with the writes that
do not."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from app import db as app_db
from app import kept
from app.models import (
    Assignment,
    CalendarDay,
    CalendarYear,
    Campaign,
    FrameworkSection,
    Item,
    ReadGeneration,
    Region,
    Unit,
)
from app.models._base import utcnow
from tests.conftest import pin_today, serving
from tests.supervision_kit import API, District, build, set_due
from tests.test_query_counts import counting

# 2033: no notice loaded and past the library's last year (weekends only, provisional); nothing else uses it.
YEAR = 2033
TODAY = date(2033, 3, 7)  # a Monday
DUE = date(2033, 3, 11)  # that Friday: 4 working days ahead (blue within 3 by default: no light)


@pytest.fixture(scope="module")
def district(app, world) -> Iterator[District]:
    yield from build(app, world, "缓存县")


@pytest.fixture
def elsewhere(database_url) -> Iterator[sa.Engine]:
    """An engine of its own on the test database: what another server process writes with."""
    engine = app_db.make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def due_friday(client, app, district: District) -> int:
    """One of the 县司法局's assignments, due on DUE, with today pinned to TODAY."""
    pin_today(app, TODAY)
    assignment_id = district.assignments(district.sfj)[0]
    set_due(client, district, assignment_id, DUE)
    return assignment_id


def _todo(client, district: District, **params) -> dict:
    r = client.get(f"{API}/me/assignments", params={"limit": 500, **params}, headers=district.auth("sfj"))
    assert r.status_code == 200, r.text
    return r.json()


def _ledger_light(client, district: District, assignment_id: int) -> str:
    url = f"{API}/campaigns/{district.campaign_id}/assignments"
    r = client.get(url, params={"limit": 500}, headers=district.auth("office"))
    assert r.status_code == 200, r.text
    return next(row["light"] for row in r.json()["items"] if row["id"] == assignment_id)


def _kept_reads(client, district: District) -> None:
    """Read twice; the second read runs no statement for the calendar or the light book: they are kept."""
    _todo(client, district, due_within_workdays=3)
    with counting() as statements:
        _todo(client, district, due_within_workdays=3)
    assert not [s for s in statements if "calendar_day" in s or "campaign.supervision" in s], statements


def test_a_calendar_written_elsewhere_is_seen_by_the_next_read(client, district, due_friday, elsewhere) -> None:
    _kept_reads(client, district)
    before = _todo(client, district, due_within_workdays=3)
    assert before["provisional"] is True and due_friday not in {row["id"] for row in before["items"]}
    assert _ledger_light(client, district, due_friday) == "none"
    try:
        with Session(elsewhere) as other:  # 2033's notice: Tuesday and Wednesday off
            other.add(CalendarYear(year=YEAR, title=f"{YEAR}年节假日安排（测试）"))
            other.flush()
            for day in (8, 9):
                other.add(CalendarDay(day=date(YEAR, 3, day), year=YEAR, kind="holiday", festival="测试"))
            other.commit()
        after = _todo(client, district, due_within_workdays=3)  # the horizon reaches Monday the 14th now
        assert after["provisional"] is False and due_friday in {row["id"] for row in after["items"]}
        assert _ledger_light(client, district, due_friday) == "blue"  # 2 working days ahead
        _kept_reads(client, district)
        with elsewhere.begin() as conn:  # Wednesday worked again
            conn.execute(sa.delete(CalendarDay).where(CalendarDay.day == date(YEAR, 3, 9)))
        assert _ledger_light(client, district, due_friday) == "blue"  # 3 working days ahead: still blue
        with elsewhere.begin() as conn:
            conn.execute(sa.update(CalendarDay).where(CalendarDay.day == date(YEAR, 3, 8)).values(kind="workday"))
        assert _ledger_light(client, district, due_friday) == "none"
    finally:
        with elsewhere.begin() as conn:
            conn.execute(sa.delete(CalendarDay).where(CalendarDay.year == YEAR))
            conn.execute(sa.delete(CalendarYear).where(CalendarYear.year == YEAR))
    assert _todo(client, district, due_within_workdays=3)["provisional"] is True


def test_rules_written_elsewhere_are_seen_by_the_next_read(client, district, due_friday, elsewhere) -> None:
    _kept_reads(client, district)
    assert _ledger_light(client, district, due_friday) == "none"
    campaign = sa.update(Campaign).where(Campaign.id == district.campaign_id)
    try:
        with elsewhere.begin() as conn:
            conn.execute(campaign.values(supervision={"blue_within_workdays": 5}))
        assert _ledger_light(client, district, due_friday) == "blue"
        light = {row["id"]: row["light"] for row in _todo(client, district)["items"]}[due_friday]
        assert light == "blue"  # the liaison's own book too
        assert [row["id"] for row in _todo(client, district, light="blue")["items"]] == [due_friday]
    finally:
        with elsewhere.begin() as conn:
            conn.execute(campaign.values(supervision=None))
    assert _ledger_light(client, district, due_friday) == "none"


def _row(client, district: District, who: str, assignment_id: int) -> dict:
    """The assignment's row on the liaison's to-do list (who: "sfj") or the office's ledger ("office")."""
    url = f"{API}/me/assignments" if who == "sfj" else f"{API}/campaigns/{district.campaign_id}/assignments"
    r = client.get(url, params={"limit": 500}, headers=district.auth(who))
    assert r.status_code == 200, r.text
    return next(row for row in r.json()["items"] if row["id"] == assignment_id)


def test_labels_written_elsewhere_are_seen_by_the_next_read(client, district, elsewhere) -> None:
    """A unit renamed, an item's text, number and level changed, a section's code changed by another process: the
    next to-do list and ledger show them (the labels are kept per campaign, not joined per read)."""
    assignment_id = district.assignments(district.sfj)[0]
    with Session(elsewhere) as s:
        assignment = s.get(Assignment, assignment_id)
        item = s.get(Item, assignment.item_id)  # type: ignore[union-attr]
        unit = s.get(Unit, district.sfj)
        section = s.get(FrameworkSection, item.section_id)  # type: ignore[union-attr]
        was = (unit.name, item.text, item.number, item.key, section.code)  # type: ignore[union-attr]
    for who in ("sfj", "office"):  # kept: a second read runs no statement for the labels
        _row(client, district, who, assignment_id)
        with counting() as statements:
            row = _row(client, district, who, assignment_id)
        assert not [s for s in statements if "item.text" in s or "unit.name" in s], statements
        assert (row["unit_name"], row["item_text"], row["item_number"], row["item_key"], row["section"]) == was
    try:
        with elsewhere.begin() as conn:
            conn.execute(sa.update(Unit).where(Unit.id == district.sfj).values(name=was[0] + "（更名）"))
        for who in ("sfj", "office"):
            assert _row(client, district, who, assignment_id)["unit_name"] == was[0] + "（更名）"
        with elsewhere.begin() as conn:
            conn.execute(sa.update(Item).where(Item.id == item.id).values(text="改写的指标内容", number=was[2] + 1000))
        for who in ("sfj", "office"):
            row = _row(client, district, who, assignment_id)
            assert (row["item_text"], row["item_number"]) == ("改写的指标内容", was[2] + 1000)
        with elsewhere.begin() as conn:
            conn.execute(sa.update(FrameworkSection).where(FrameworkSection.id == section.id).values(code="X9"))
        assert _row(client, district, "office", assignment_id)["section"] == "X9"
        with elsewhere.begin() as conn:
            conn.execute(sa.update(Item).where(Item.id == item.id).values(key="改过的编号", level1_id=None))
        row = _row(client, district, "sfj", assignment_id)
        assert (row["item_key"], row["level1_id"]) == ("改过的编号", None)
    finally:
        with elsewhere.begin() as conn:
            conn.execute(sa.update(Unit).where(Unit.id == district.sfj).values(name=was[0]))
            conn.execute(sa.update(Item).where(Item.id == item.id).values(text=was[1], number=was[2], key=was[3],
                                                                           level1_id=item.level1_id))  # fmt: skip
            conn.execute(sa.update(FrameworkSection).where(FrameworkSection.id == section.id).values(code=was[4]))
    row = _row(client, district, "sfj", assignment_id)
    assert (row["unit_name"], row["item_text"], row["item_number"], row["section"]) == (was[0], *was[1:3], was[4])


def _free_item(s: Session, campaign: Campaign, *unit_ids: int) -> int:
    """An item of the campaign's framework none of the units is assigned (the first by id)."""
    taken = select(Assignment.item_id).where(
        Assignment.campaign_id == campaign.id, col(Assignment.unit_id).in_(unit_ids)
    )
    found = select(Item.id).where(Item.framework_id == campaign.framework_id, col(Item.id).not_in(taken))
    return s.exec(found.order_by(col(Item.id)).limit(1)).one()


def test_a_read_racing_a_new_unit_labels_it(client, district, elsewhere, monkeypatch) -> None:
    """A read whose stamp was read before a unit and its assignment were committed, and whose page statement sees
    them: the labels kept for its stamp do not know the unit, so that read reads them afresh (not kept)."""
    _total(client, district, "office")  # the campaign's labels kept for the stamp now
    stale = _stamp(elsewhere)
    with Session(elsewhere) as s:
        campaign = s.get(Campaign, district.campaign_id)
        unit = Unit(name="新设单位", kind="department", county_id=district.county_id)
        s.add(unit)
        s.flush()
        assert unit.id is not None
        item_id = _free_item(s, campaign, unit.id)  # type: ignore[arg-type]
        s.add(Assignment(campaign_id=district.campaign_id, item_id=item_id, unit_id=unit.id, role="lead", due_on=DUE))
        s.commit()
        unit_id = unit.id
    noted = kept.note_generation  # every read takes the stamp from before the commit, as a racing one did
    monkeypatch.setattr(kept, "note_generation", lambda session, _value: noted(session, stale))
    try:
        row = _row(client, district, "office", next(iter(_assignment_ids(elsewhere, unit_id))))
        assert row["unit_name"] == "新设单位"
    finally:
        monkeypatch.undo()
        with elsewhere.begin() as conn:
            conn.execute(sa.delete(Assignment).where(Assignment.unit_id == unit_id))
            conn.execute(sa.delete(Unit).where(Unit.id == unit_id))


def _assignment_ids(engine: sa.Engine, unit_id: int) -> list[int]:
    with Session(engine) as s:
        return list(s.exec(select(Assignment.id).where(Assignment.unit_id == unit_id)).all())


def _total(client, district: District, who: str, **params) -> int:
    url = f"{API}/me/assignments" if who == "sfj" else f"{API}/campaigns/{district.campaign_id}/assignments"
    r = client.get(url, params={"limit": 1, **params}, headers=district.auth(who))
    assert r.status_code == 200, r.text
    return r.json()["total"]


def test_totals_follow_assignments_made_elsewhere(client, district, elsewhere) -> None:
    """A list's total filtered by nothing but which assignments exist is kept by the process (no count statement on
    the second read); an assignment made, moved or removed by another process changes it at the very next read, and
    a total filtered by status is counted at each read (a status change is not stamped)."""
    for who in ("sfj", "office"):
        _total(client, district, who)
        with counting() as statements:
            _total(client, district, who)
        assert not [s for s in statements if "count(" in s], statements
    before = {who: _total(client, district, who) for who in ("sfj", "office")}
    waiting = _total(client, district, "sfj", status="not_started")
    with Session(elsewhere) as s:
        section = s.exec(select(FrameworkSection.code).join(Item, col(Item.section_id) == FrameworkSection.id)
                         .where(Item.id == _free_item(s, s.get(Campaign, district.campaign_id), district.sfj,
                                                      district.gaj))).one()  # type: ignore[arg-type]  # fmt: skip
    in_section = _total(client, district, "office", section=section)
    with Session(elsewhere) as s:
        campaign = s.get(Campaign, district.campaign_id)
        item_id = _free_item(s, campaign, district.sfj, district.gaj)  # type: ignore[arg-type]
    made = sa.insert(Assignment).values(campaign_id=district.campaign_id, item_id=item_id, unit_id=district.sfj,
                                        role="co", due_on=DUE, due_overridden=False, status="not_started",
                                        created_at=utcnow())  # fmt: skip
    mine = sa.and_(Assignment.item_id == item_id, Assignment.unit_id == district.sfj,
                   Assignment.campaign_id == district.campaign_id)  # fmt: skip
    try:
        with elsewhere.begin() as conn:
            conn.execute(made)
        assert {who: _total(client, district, who) for who in ("sfj", "office")} == {
            "sfj": before["sfj"] + 1, "office": before["office"] + 1}  # fmt: skip
        assert _total(client, district, "sfj", status="not_started") == waiting + 1
        assert _total(client, district, "office", section=section) == in_section + 1
        with elsewhere.begin() as conn:  # its status changed: the unfiltered totals stay, the filtered one follows
            conn.execute(sa.update(Assignment).where(mine).values(status="submitted"))
        assert _total(client, district, "sfj") == before["sfj"] + 1
        assert _total(client, district, "sfj", status="not_started") == waiting
        with elsewhere.begin() as conn:  # moved to another unit of the county
            conn.execute(sa.update(Assignment).where(mine).values(unit_id=district.gaj))
        assert _total(client, district, "sfj") == before["sfj"]
        assert _total(client, district, "office") == before["office"] + 1
    finally:
        with elsewhere.begin() as conn:
            units = col(Assignment.unit_id).in_([district.sfj, district.gaj])
            conn.execute(sa.delete(Assignment).where(Assignment.item_id == item_id, units,
                                                     Assignment.campaign_id == district.campaign_id))  # fmt: skip
    assert {who: _total(client, district, who) for who in ("sfj", "office")} == before


def _stamp(engine: sa.Engine) -> int:
    with Session(engine) as s:
        return s.exec(select(ReadGeneration.value).where(ReadGeneration.id == 1)).one()


def test_the_generation_changes_with_what_feeds_the_kept_and_only_that(district, elsewhere) -> None:
    campaign = sa.update(Campaign).where(Campaign.id == district.campaign_id)

    def changes(statement: sa.Executable) -> bool:
        before = _stamp(elsewhere)
        with elsewhere.begin() as conn:
            conn.execute(statement)
        return _stamp(elsewhere) != before

    with Session(elsewhere) as s:
        found = s.get(Campaign, district.campaign_id)
        assert found is not None
        county, framework, status = found.county_id, found.framework_id, found.status
        path = s.get(Region, county).path  # type: ignore[union-attr]
    assert changes(campaign.values(supervision={"red_returns": 4}))
    assert changes(campaign.values(supervision=None))
    assert changes(campaign.values(county_id=county))  # a campaign moved (here: in place)
    assert changes(sa.update(Region).where(Region.id == county).values(path=path))
    assert changes(sa.insert(CalendarYear).values(year=YEAR + 1, title="测试", loaded_at=utcnow()))
    assert changes(sa.insert(CalendarDay).values(day=date(YEAR + 1, 1, 2), year=YEAR + 1, kind="holiday",
                                                 festival="测试"))  # fmt: skip
    assert changes(sa.update(CalendarDay).where(CalendarDay.year == YEAR + 1).values(kind="workday"))
    assert changes(sa.delete(CalendarDay).where(CalendarDay.year == YEAR + 1))
    assert changes(sa.delete(CalendarYear).where(CalendarYear.year == YEAR + 1))
    with Session(elsewhere) as s:  # a campaign made and removed
        before = _stamp(elsewhere)
        made = Campaign(county_id=county, framework_id=framework, name="临时", materials_deadline=TODAY)
        s.add(made)
        s.commit()
        assert _stamp(elsewhere) != before
        before = _stamp(elsewhere)
        s.delete(made)
        s.commit()
        assert _stamp(elsewhere) != before
    # what the lists show of an item, its section and its unit (migration 0013b), and a campaign's framework
    with Session(elsewhere) as s:
        item = s.exec(select(Item).where(Item.framework_id == framework).limit(1)).one()
    assert changes(sa.update(Item).where(Item.id == item.id).values(text=sa.column("text")))
    assert changes(
        sa.update(FrameworkSection).where(FrameworkSection.id == item.section_id).values(code=sa.column("code"))
    )
    assert changes(sa.update(Unit).where(Unit.id == district.sfj).values(name=sa.column("name")))
    assert changes(campaign.values(framework_id=framework))
    assignment = sa.update(Assignment).where(Assignment.id == district.assignments(district.sfj)[0])
    assert changes(assignment.values(unit_id=sa.column("unit_id")))  # which assignments exist (0013b)
    assert not changes(assignment.values(status=sa.column("status")))  # its status: counted at each read
    assert not changes(assignment.values(due_on=sa.column("due_on")))
    # what feeds nothing kept: a campaign's status, a region's name, an item's place (the office reorders often)
    assert not changes(campaign.values(status=status))
    assert not changes(sa.update(Region).where(Region.id == county).values(name=sa.column("name")))
    assert not changes(sa.update(Item).where(Item.id == item.id).values(position=sa.column("position")))


@pytest.mark.postgresql_only("row locks: SQLite locks the whole database for a writer")
def test_a_launch_locks_its_campaign_before_the_read_generation(app, district, elsewhere) -> None:
    """Launching writes assignments, which locks the read generation's row (0013b); a change of the campaign's 督办
    rules locks the campaign's row, then the generation's (0012f). A launch takes the campaign's row first, so the
    two wait for each other instead of deadlocking: while another transaction holds the campaign, a launch through
    HTTP waits without holding the generation, which that transaction can still take."""
    with elsewhere.begin() as conn:  # one assignment gone: the launch will write it again
        conn.execute(sa.delete(Assignment).where(Assignment.id == district.assignments(district.gaj)[-1]))
    answers: list[httpx.Response] = []
    with serving(app) as base, elsewhere.connect() as rules:
        # as a change of the campaign's rules holds it between its UPDATE and its trigger: the campaign's row (an
        # UPDATE's lock, which an assignment's foreign key check does not wait for), the generation not yet
        held = rules.begin()
        rules.execute(select(Campaign.id).where(Campaign.id == district.campaign_id).with_for_update(key_share=True))
        url = f"{base}{API}/campaigns/{district.campaign_id}/launch"
        launch = threading.Thread(target=lambda: answers.append(httpx.post(url, headers=district.auth("office"),
                                                                           timeout=60)))  # fmt: skip
        launch.start()
        waiting = sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                          " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with elsewhere.connect() as probe:
                if probe.execute(waiting).scalar():
                    break
            time.sleep(0.05)
        else:
            pytest.fail("the launch never waited for the campaign's row")
        rules.execute(sa.text("SET LOCAL lock_timeout = '3s'"))  # the generation is free: no wait, no deadlock
        rules.execute(sa.update(ReadGeneration).where(ReadGeneration.id == 1).values(value=ReadGeneration.value))
        held.commit()
        launch.join(60)
    assert len(answers) == 1 and answers[0].status_code == 200, answers
    assert answers[0].json()["created"] == 1
