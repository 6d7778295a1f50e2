"""read generation labels: the stamp also changes with every write to what the assignment lists show of an item, its
section and its unit, to a campaign's framework, and to which assignments exist — server processes keep those labels
per campaign and the lists' totals (issue 28: the busiest lists no longer join three tables for 50 rows nor count a
county's every assignment per page)

Revision ID: 0013b
Revises: 0013a
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013b"
down_revision: str | None = "0013a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, the events) as in 0012f: an item's place (position, moved often by the office) and its unit cells feed
# nothing kept
WATCHED = (
    ("item", "INSERT OR DELETE OR UPDATE OF key, number, text, section_id, level1_id, framework_id"),
    ("frameworksection", "INSERT OR DELETE OR UPDATE OF code"),
    ("unit", "INSERT OR DELETE OR UPDATE OF name, county_id"),
    # which assignments exist: a list's total filtered by nothing else is kept too (a status changes often, and is
    # not watched)
    ("assignment", "INSERT OR DELETE OR UPDATE OF campaign_id, unit_id, item_id"),
)
# 0012f's campaign trigger, now with the framework its items are shown from
CAMPAIGN_BEFORE = ("campaign", "INSERT OR DELETE OR UPDATE OF supervision, county_id")
CAMPAIGN_AFTER = ("campaign", "INSERT OR DELETE OR UPDATE OF supervision, county_id, framework_id")


def _name(table: str, event: str) -> str:  # 0012f's names of SQLite's triggers
    return f"{table}_read_generation_{event.split()[0].lower()}"


def _create(table: str, events: str) -> None:
    if op.get_bind().dialect.name == "postgresql":  # once per statement: a framework's import bumps the stamp once
        op.execute(f"CREATE TRIGGER {table}_read_generation AFTER {events} OR TRUNCATE ON {table}"
                   " FOR EACH STATEMENT EXECUTE FUNCTION read_generation_bump()")  # fmt: skip
        return
    for event in events.split(" OR "):  # SQLite: one trigger per event, per row
        op.execute(f"CREATE TRIGGER {_name(table, event)} AFTER {event} ON {table}"
                   " BEGIN UPDATE read_generation SET value = random() WHERE id = 1; END")  # fmt: skip


def _drop(table: str, events: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_read_generation ON {table}")
        return
    for event in events.split(" OR "):
        op.execute(f"DROP TRIGGER IF EXISTS {_name(table, event)}")


def upgrade() -> None:
    for table, events in WATCHED:
        _create(table, events)
    _drop(*CAMPAIGN_BEFORE)
    _create(*CAMPAIGN_AFTER)


def downgrade() -> None:
    _drop(*CAMPAIGN_AFTER)
    _create(*CAMPAIGN_BEFORE)
    for table, events in reversed(WATCHED):
        _drop(table, events)
