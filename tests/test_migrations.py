"""Migrations and models agree, on PostgreSQL and on SQLite (the zero-setup default)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import app.models  # noqa: F401
from app.cli import migrate
from app.db import get_engine
from app.models.search import outside_metadata
from tests.conftest import fresh_database, use_database


@pytest.mark.parametrize(
    "backend",
    [pytest.param("postgresql", marks=pytest.mark.postgresql_only("migrates a PostgreSQL database")), "sqlite"],
)
def test_models_match_migrations(backend, pg_admin_engine, tmp_path, database_url) -> None:
    if backend == "postgresql" and pg_admin_engine is None:
        pytest.skip("PostgreSQL not reachable here (CI requires it)")
    admin = pg_admin_engine if backend == "postgresql" else None
    url, drop = fresh_database(admin, tmp_path, "mig")
    try:
        use_database(url)
        migrate()
        with get_engine().connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"include_object": outside_metadata}), SQLModel.metadata
            )
        get_engine().dispose()
        assert diff == [], f"models and migrations differ: {diff}"
    finally:
        use_database(database_url)
        drop()


def test_versions_recorded_before_0007c_stay_readable(tmp_path) -> None:
    """Old versions keep their object keys; their extension is filled in from the recorded media type."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    from app.cli import ROOT

    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "0006")
    engine = sa.create_engine(url)  # no foreign keys: the rows stand alone
    old = [
        ("ev/1/1/a", "照片.pdf", "image/png"),
        ("ev/1/1/b", "台账.et", "application/vnd.ms-excel"),
        ("ev/1/1/c", "台账.xls", "application/vnd.ms-excel"),
        ("ev/1/1/d", "方案.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ]
    with engine.begin() as conn:
        for n, (key, name, media) in enumerate(old, 1):
            conn.execute(
                sa.text(
                    "INSERT INTO evidenceversion (evidence_id, number, kind, object_key, filename, content_type, size,"
                    " sha256, state, created_by, created_at) VALUES (1, :n, 'file', :key, :name, :media, 10, :sha,"
                    " 'active', 1, '2023-02-01 00:00:00')"
                ),
                {"n": n, "key": key, "name": name, "media": media, "sha": f"{n:064d}"},
            )
    with engine.begin() as conn:  # the same connection, foreign keys still off
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT object_key, extension, resubmitted_unchanged FROM evidenceversion ORDER BY number")
        ).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("ev/1/1/a", "png", 0),
        ("ev/1/1/b", "et", 0),
        ("ev/1/1/c", "xls", 0),
        ("ev/1/1/d", "docx", 0),
    ]
