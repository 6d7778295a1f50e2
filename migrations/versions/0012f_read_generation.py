"""read generation: one row whose value triggers change with every write to the calendar, a campaign's 督办 rules
or county, or a region — the stamp server processes key what they keep in memory by (issue 28)

Revision ID: 0012f
Revises: 0012e
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012f"
down_revision: str | None = "0012e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What a change of means a new stamp: (table, the events). A campaign's other columns (its status, its freeze, its
# launch report) change often and feed nothing kept; an update that sets none of the named columns fires nothing.
WATCHED = (
    ("calendar_year", "INSERT OR UPDATE OR DELETE"),
    ("calendar_day", "INSERT OR UPDATE OR DELETE"),
    ("campaign", "INSERT OR DELETE OR UPDATE OF supervision, county_id"),
    ("region", "INSERT OR DELETE OR UPDATE OF path"),
)
# A new random value, not value + 1: a database dropped and made again (a demo reset, a restore of an older backup)
# never hands out a stamp it gave before for other contents.
PG_FUNCTION = """
CREATE FUNCTION read_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE read_generation SET value = (random() * 9007199254740991)::bigint WHERE id = 1;
    RETURN NULL;
END $$
"""


def _name(table: str, event: str) -> str:
    return f"{table}_read_generation_{event.split()[0].lower()}"


def upgrade() -> None:
    op.create_table(
        "read_generation",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute(sa.text("INSERT INTO read_generation (id, value) VALUES (1, :value)").bindparams(
        value=secrets.randbits(53)
    ))  # fmt: skip
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for table, events in WATCHED:
            # once per statement: a bulk write bumps the stamp once
            op.execute(f"CREATE TRIGGER {table}_read_generation AFTER {events} OR TRUNCATE ON {table}"
                       " FOR EACH STATEMENT EXECUTE FUNCTION read_generation_bump()")  # fmt: skip
        return
    for table, events in WATCHED:  # SQLite: one trigger per event, per row
        for event in events.split(" OR "):
            op.execute(f"CREATE TRIGGER {_name(table, event)} AFTER {event} ON {table}"
                       " BEGIN UPDATE read_generation SET value = random() WHERE id = 1; END")  # fmt: skip


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, _ in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_read_generation ON {table}")
        op.execute("DROP FUNCTION IF EXISTS read_generation_bump()")
    else:
        for table, events in WATCHED:
            for event in events.split(" OR "):
                op.execute(f"DROP TRIGGER IF EXISTS {_name(table, event)}")
    op.drop_table("read_generation")
