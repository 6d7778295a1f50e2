"""Migrations 0013a and 0013b. 0013a: every assignment already stored gets its item's place (the lists' index
order, issue 28), rows inserted afterwards get it from the triggers, and a downgrade removes the column without
losing the assignment tally's triggers on the same table (0009a). 0013b: what stamps the read generation."""

from __future__ import annotations

from tests.migration_kit import STAMP, old_database

_TALLY_TRIGGERS = {"assignment_tally_insert", "assignment_tally_update", "assignment_tally_delete"}


def _seed(db, item_positions: dict[int, int]) -> None:
    """A framework with one section and the items at the given places, a campaign of county 1, one unit, and an
    assignment of each item to it, as 0012f's tables hold them."""
    db.execute("INSERT INTO framework (id, code, version, name, source, lead_rule, notes, created_at)"
               " VALUES (1, 'f', 1, '框架', 's', 'first', '[]', ?)", (STAMP,))  # fmt: skip
    db.execute("INSERT INTO frameworksection (id, framework_id, code, name, kind, position)"
               " VALUES (1, 1, 'indicator', '指标', 'indicator', 0)")  # fmt: skip
    for item_id, position in item_positions.items():
        db.execute("INSERT INTO item (id, framework_id, section_id, key, number, position, text, lead_units_cell,"
                   " units_cell, lead_units, units) VALUES (?, 1, 1, ?, ?, ?, '内容', '', '', '[]', '[]')",
                   (item_id, f"indicator-{item_id}", item_id, position))  # fmt: skip
    db.execute("INSERT INTO campaign (id, county_id, framework_id, name, status, materials_deadline, created_at)"
               " VALUES (1, 1, 1, '创建', 'draft', '2026-02-28', ?)", (STAMP,))  # fmt: skip
    db.execute("INSERT INTO unit (id, name, kind, aliases, county_id) VALUES (1, '县司法局', 'department', '[]', 1)")
    for item_id in item_positions:
        db.execute(
            "INSERT INTO assignment (campaign_id, item_id, unit_id, role, due_on, due_overridden, status, created_at)"
            " VALUES (1, ?, 1, 'lead', '2026-02-28', 0, 'not_started', ?)",
            (item_id, STAMP),
        )


def test_stored_assignments_get_their_items_place_and_a_downgrade_keeps_the_tally(tmp_path, database_url) -> None:
    with old_database(tmp_path, "0010b", database_url) as old:  # the kit's account is 0010b's
        old.upgrade("0012f")
        with old.connect() as db:
            _seed(db, {1: 7, 2: 3})
        old.upgrade("0013a")
        with old.connect() as db:
            rows = db.execute("SELECT item_id, item_position FROM assignment ORDER BY item_id").fetchall()
            assert rows == [(1, 7), (2, 3)]  # filled from the items at the upgrade
            db.execute("INSERT INTO item (id, framework_id, section_id, key, number, position, text, lead_units_cell,"
                       " units_cell, lead_units, units) VALUES (3, 1, 1, 'indicator-3', 3, 11, '内容', '', '', '[]',"
                       " '[]')")  # fmt: skip
            db.execute("INSERT INTO assignment (campaign_id, item_id, unit_id, role, due_on, due_overridden, status,"
                       " created_at) VALUES (1, 3, 1, 'co', '2026-02-28', 0, 'not_started', ?)", (STAMP,))  # fmt: skip
            db.execute("UPDATE item SET position = 5 WHERE id = 2")
            rows = db.execute("SELECT item_id, item_position FROM assignment ORDER BY item_id").fetchall()
            assert rows == [(1, 7), (2, 5), (3, 11)]  # the trigger on insert, and the item's move followed
            assert db.execute("SELECT sum(n) FROM assignment_tally").fetchone() == (3,)
        old.downgrade("0012f")
        with old.connect() as db:
            columns = {row[1] for row in db.execute("PRAGMA table_info(assignment)")}
            triggers = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
            assert "item_position" not in columns and triggers >= _TALLY_TRIGGERS
            assert not {t for t in triggers if "item_position" in t}
            db.execute("DELETE FROM assignment WHERE item_id = 3")  # the tally still follows
            assert db.execute("SELECT sum(n) FROM assignment_tally").fetchone() == (2,)


def test_0013b_stamps_labels_and_its_downgrade_keeps_0012f_stamps(tmp_path, database_url) -> None:
    """0013b: the read generation changes with an item's text, a unit's name, a section's code, a campaign's
    framework and which assignments exist, not with an item's place or an assignment's status; its downgrade removes
    exactly that and keeps 0012f's campaign trigger."""
    with old_database(tmp_path, "0010b", database_url) as old:
        old.upgrade("0012f")
        with old.connect() as db:
            _seed(db, {1: 7})
        old.upgrade("0013b")

        def changes(db, statement: str) -> bool:
            before = db.execute("SELECT value FROM read_generation WHERE id = 1").fetchone()
            db.execute(statement)
            return db.execute("SELECT value FROM read_generation WHERE id = 1").fetchone() != before

        with old.connect() as db:
            assert changes(db, "UPDATE item SET text = '改写' WHERE id = 1")
            assert changes(db, "UPDATE unit SET name = '县司法局（更名）' WHERE id = 1")
            assert changes(db, "UPDATE frameworksection SET code = 'x' WHERE id = 1")
            assert changes(db, "UPDATE campaign SET framework_id = 1 WHERE id = 1")
            assert changes(db, "UPDATE campaign SET supervision = NULL WHERE id = 1")
            assert not changes(db, "UPDATE item SET position = 9 WHERE id = 1")
            assert changes(db, "UPDATE assignment SET unit_id = 1 WHERE item_id = 1")
            assert not changes(db, "UPDATE assignment SET status = 'submitted' WHERE item_id = 1")
            assert changes(db, "DELETE FROM assignment WHERE item_id = 1")
            db.commit()
        old.downgrade("0013a")
        with old.connect() as db:
            assert not changes(db, "UPDATE item SET text = '再改' WHERE id = 1")
            assert not changes(db, "UPDATE unit SET name = '县司法局' WHERE id = 1")
            assert not changes(db, "UPDATE campaign SET framework_id = 1 WHERE id = 1")
            assert not changes(db, "UPDATE frameworksection SET code = 'y' WHERE id = 1")
            assert not changes(db, "UPDATE unit SET county_id = 1 WHERE id = 1")
            assert not changes(db, "INSERT INTO unit (id, name, kind, aliases, county_id)"
                                   " VALUES (2, '县公安局', 'department', '[]', 1)")  # fmt: skip
            db.execute("INSERT INTO item (id, framework_id, section_id, key, number, position, text, lead_units_cell,"
                       " units_cell, lead_units, units) VALUES (2, 1, 1, 'indicator-2', 2, 8, '内容', '', '', '[]',"
                       " '[]')")  # fmt: skip
            assert not changes(db, "INSERT INTO assignment (campaign_id, item_id, unit_id, role, due_on,"
                                   " due_overridden, status, created_at) VALUES (1, 2, 2, 'lead', '2026-02-28', 0,"
                                   f" 'not_started', '{STAMP}')")  # fmt: skip
            assert not changes(db, "UPDATE assignment SET unit_id = 1 WHERE item_id = 2")
            assert changes(db, "UPDATE campaign SET supervision = NULL WHERE id = 1")  # 0012f's, as it was
