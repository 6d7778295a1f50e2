"""List endpoints issue a fixed number of SQL statements, whatever the number of rows (no N+1)."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from app.db import get_engine


@contextmanager
def counting():
    seen: list[str] = []

    def on_execute(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        seen.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


def _statements(client, world, who: str, path: str) -> tuple[int, int]:
    with counting() as seen:
        r = client.get(path, headers=world.auth(who))
    assert r.status_code == 200, r.text
    return len(seen), r.json()["total"]


def test_campaign_list_statements_do_not_grow_with_rows(client, world) -> None:
    few = _statements(client, world, "lc-sfj", "/api/v1/campaigns")  # its county's campaigns
    many = _statements(client, world, "sx-province", "/api/v1/campaigns")  # two counties' campaigns
    assert many[1] > few[1]
    assert many[0] == few[0] + 1, (few, many)  # + the province's region lookup at authentication, not per row


def test_framework_list_statements_do_not_grow_with_rows(client, world, session) -> None:
    from pathlib import Path

    from app.services.indicators import frameworks

    before = _statements(client, world, "sysadmin", "/api/v1/frameworks")
    raw = (Path(__file__).resolve().parents[1] / "data" / "frameworks" / "lingchuan-2021.json").read_bytes()
    frameworks.import_document(session, doc=frameworks.parse(raw), principal=None)
    session.commit()
    after = _statements(client, world, "sysadmin", "/api/v1/frameworks")
    assert after[1] == before[1] + 1
    assert after[0] == before[0], (before, after)
