"""assignment tally: counts per campaign × unit × status × due date, kept by triggers on assignment

Revision ID: 0009a
Revises: 0008c
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0009a"
down_revision: str | None = "0008c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = "campaign_id, unit_id, status, due_on"

# PostgreSQL: one row-level function for the three events; an update that moves none of the four key
# columns (the usual case: nothing, or only due_overridden) does not fire at all.
# Two transactions moving assignments between the same two tally rows in opposite directions (a due date set
# on one, reset on another) would each lock one row and wait for the other's: a deadlock, aborted as an error.
# So an update takes its two rows in key order, whichever way it moves.
PG_FUNCTION = f"""
CREATE FUNCTION assignment_tally_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (NEW.campaign_id, NEW.unit_id, NEW.status, NEW.due_on)
                          < (OLD.campaign_id, OLD.unit_id, OLD.status, OLD.due_on) THEN
        PERFORM assignment_tally_add(NEW.campaign_id, NEW.unit_id, NEW.status, NEW.due_on, 1);
        PERFORM assignment_tally_add(OLD.campaign_id, OLD.unit_id, OLD.status, OLD.due_on, -1);
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM assignment_tally_add(OLD.campaign_id, OLD.unit_id, OLD.status, OLD.due_on, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM assignment_tally_add(NEW.campaign_id, NEW.unit_id, NEW.status, NEW.due_on, 1);
    END IF;
    RETURN NULL;
END $$
"""
PG_ADD = f"""
CREATE FUNCTION assignment_tally_add(c integer, u integer, s varchar, d date, delta integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF delta > 0 THEN
        INSERT INTO assignment_tally ({KEY}, n) VALUES (c, u, s, d, delta)
        ON CONFLICT ({KEY}) DO UPDATE SET n = assignment_tally.n + delta;
    ELSE
        UPDATE assignment_tally SET n = n + delta WHERE campaign_id = c AND unit_id = u AND status = s AND due_on = d;
        DELETE FROM assignment_tally WHERE campaign_id = c AND unit_id = u AND status = s AND due_on = d AND n <= 0;
    END IF;
END $$
"""
PG_TRIGGERS = [
    "CREATE TRIGGER assignment_tally_insert AFTER INSERT ON assignment"
    " FOR EACH ROW EXECUTE FUNCTION assignment_tally_apply()",
    "CREATE TRIGGER assignment_tally_update AFTER UPDATE ON assignment FOR EACH ROW"
    " WHEN ((OLD.campaign_id, OLD.unit_id, OLD.status, OLD.due_on)"
    " IS DISTINCT FROM (NEW.campaign_id, NEW.unit_id, NEW.status, NEW.due_on))"
    " EXECUTE FUNCTION assignment_tally_apply()",
    "CREATE TRIGGER assignment_tally_delete AFTER DELETE ON assignment"
    " FOR EACH ROW EXECUTE FUNCTION assignment_tally_apply()",
]

_OLD = "campaign_id = OLD.campaign_id AND unit_id = OLD.unit_id AND status = OLD.status AND due_on = OLD.due_on"
_SQLITE_ADD = (
    f"INSERT INTO assignment_tally ({KEY}, n) VALUES (NEW.campaign_id, NEW.unit_id, NEW.status, NEW.due_on, 1)"
    f" ON CONFLICT ({KEY}) DO UPDATE SET n = n + 1;"
)
_SQLITE_REMOVE = (
    f"UPDATE assignment_tally SET n = n - 1 WHERE {_OLD}; DELETE FROM assignment_tally WHERE {_OLD} AND n <= 0;"
)
SQLITE_TRIGGERS = [
    f"CREATE TRIGGER assignment_tally_insert AFTER INSERT ON assignment BEGIN {_SQLITE_ADD} END",
    "CREATE TRIGGER assignment_tally_update AFTER UPDATE ON assignment"
    " WHEN OLD.campaign_id IS NOT NEW.campaign_id OR OLD.unit_id IS NOT NEW.unit_id"
    " OR OLD.status IS NOT NEW.status OR OLD.due_on IS NOT NEW.due_on"
    f" BEGIN {_SQLITE_REMOVE} {_SQLITE_ADD} END",
    f"CREATE TRIGGER assignment_tally_delete AFTER DELETE ON assignment BEGIN {_SQLITE_REMOVE} END",
]
TRIGGERS = ("assignment_tally_insert", "assignment_tally_update", "assignment_tally_delete")


def upgrade() -> None:
    op.create_table(
        "assignment_tally",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "unit_id", "status", "due_on"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_ADD)
        op.execute(PG_FUNCTION)
        for statement in PG_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
    # The existing assignments, counted once; from here on the triggers keep the counts.
    op.execute(f"INSERT INTO assignment_tally ({KEY}, n) SELECT {KEY}, count(*) FROM assignment GROUP BY {KEY}")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON assignment" if postgresql else f"DROP TRIGGER IF EXISTS {name}")
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS assignment_tally_apply()")
        op.execute("DROP FUNCTION IF EXISTS assignment_tally_add(integer, integer, varchar, date, integer)")
    op.drop_table("assignment_tally")
