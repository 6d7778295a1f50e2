"""assignment item position: the item's place in its framework kept on every assignment by triggers, and indexes in
the order the assignment lists sort (issue 28: a ledger page read off an index instead of sorting a county's every
assignment)

Revision ID: 0013a
Revises: 0012f
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013a"
down_revision: str | None = "0012f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OF_ITEM = "(SELECT position FROM item WHERE item.id = {row}.item_id)"

# PostgreSQL: set before the row is written, whoever inserts it (the services, a bulk insert, a restore)
PG_FUNCTIONS = (
    f"""CREATE FUNCTION assignment_item_position() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.item_position := {_OF_ITEM.format(row="NEW")};
    RETURN NEW;
END $$""",
    """CREATE FUNCTION item_position_to_assignments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE assignment SET item_position = NEW.position WHERE item_id = NEW.id;
    RETURN NULL;
END $$""",
)
PG_TRIGGERS = (
    "CREATE TRIGGER assignment_item_position BEFORE INSERT OR UPDATE OF item_id ON assignment"
    " FOR EACH ROW EXECUTE FUNCTION assignment_item_position()",
    "CREATE TRIGGER item_position_to_assignments AFTER UPDATE OF position ON item"
    " FOR EACH ROW WHEN (OLD.position IS DISTINCT FROM NEW.position) EXECUTE FUNCTION item_position_to_assignments()",
)
# SQLite: a trigger cannot change the row being inserted, so the row is updated right after, in the same statement
_SQLITE_SET = f"UPDATE assignment SET item_position = {_OF_ITEM.format(row='NEW')} WHERE id = NEW.id;"
SQLITE_TRIGGERS = (
    f"CREATE TRIGGER assignment_item_position_insert AFTER INSERT ON assignment BEGIN {_SQLITE_SET} END",
    f"CREATE TRIGGER assignment_item_position_update AFTER UPDATE OF item_id ON assignment BEGIN {_SQLITE_SET} END",
    "CREATE TRIGGER item_position_to_assignments AFTER UPDATE OF position ON item"
    " WHEN OLD.position IS NOT NEW.position"
    " BEGIN UPDATE assignment SET item_position = NEW.position WHERE item_id = NEW.id; END",
)
TRIGGERS = (  # (name, table)
    ("assignment_item_position", "assignment"),
    ("assignment_item_position_insert", "assignment"),
    ("assignment_item_position_update", "assignment"),
    ("item_position_to_assignments", "item"),
)


def upgrade() -> None:
    op.add_column("assignment", sa.Column("item_position", sa.Integer(), nullable=True))
    op.execute(f"UPDATE assignment SET item_position = {_OF_ITEM.format(row='assignment')}")
    if op.get_bind().dialect.name == "postgresql":
        for statement in (*PG_FUNCTIONS, *PG_TRIGGERS):
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
    op.create_index(
        "ix_assignment_campaign_order", "assignment", ["campaign_id", "due_on", "item_position", "unit_id", "id"]
    )
    op.create_index("ix_assignment_unit_order", "assignment", ["unit_id", "due_on", "item_position", "id"])


def downgrade() -> None:
    op.drop_index("ix_assignment_unit_order", table_name="assignment")
    op.drop_index("ix_assignment_campaign_order", table_name="assignment")
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, table in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}" if postgresql else f"DROP TRIGGER IF EXISTS {name}")
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS assignment_item_position()")
        op.execute("DROP FUNCTION IF EXISTS item_position_to_assignments()")
        op.drop_column("assignment", "item_position")
    else:  # SQLite's own DROP COLUMN (3.35+): a batch would rebuild the table and lose 0009a's tally triggers on it
        op.execute("ALTER TABLE assignment DROP COLUMN item_position")
