"""`shifan demo --reset`: empty the demo's database (every table, back to an empty schema) so the demo loads again,
dated from today. Only a database that holds nothing but the demo is emptied: an account the demo did not create
means someone works in it, and the reset refuses with the names it found."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event

from app.db import get_engine, make_engine
from app.resources import ALEMBIC_INI, DATA
from app.services.errors import Conflict


def demo_usernames() -> set[str]:
    """The accounts `shifan demo` creates (the fixed ones and each neighbour county's office)."""
    import json

    spec = json.loads((DATA / "demo" / "lingchuan.json").read_text(encoding="utf-8"))
    fixed = {"sysadmin", "secadmin", "auditadmin", "lc-office", "lc-sfj", "lc-gaj", "evaluator", "evaluator-b"}
    fixed |= {"sx-province", "admin"}  # admin: the one administrator of demos loaded before issue 23
    return fixed | {n["office"]["username"] for n in spec.get("neighbours", [])}


def others() -> list[str]:
    """Accounts in the configured database that the demo did not create (none when it has no tables yet)."""
    engine = get_engine()
    if not sa.inspect(engine).has_table("app_user"):
        return []
    with engine.connect() as conn:
        names = conn.execute(sa.text("SELECT username FROM app_user ORDER BY username")).scalars().all()
    return [n for n in names if n not in demo_usernames()]


def wipe() -> None:
    """Every table of the configured database dropped through the migrations (alembic downgrade base), after
    checking that it holds only the demo. The demo's files in the object store are left to `shifan sweep`."""
    found = others()
    if found:
        shown = "、".join(found[:5]) + (f" 等 {len(found)} 个" if len(found) > 5 else "")
        raise Conflict(
            f"数据库中有演示以外的账号（{shown}），看来已在实际使用，为防误删未重置。"
            "如确需重新开始，请换一个空数据库（SHIFAN_DATABASE_URL）",
            code="demo_reset_refused",
        )
    url = get_engine().url.render_as_string(hide_password=False)
    get_engine().dispose()
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        # SQLite rebuilds a table to drop a column; with foreign keys on, dropping a table other rows refer to
        # fails (an upgrade adds columns in place and never needs this)
        event.listen(engine, "connect", lambda dbapi_conn, _: dbapi_conn.execute("PRAGMA foreign_keys=OFF"))
    config = Config(str(ALEMBIC_INI))
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
        conn.commit()
    engine.dispose()
