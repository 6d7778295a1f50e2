"""Migrations and models agree, on PostgreSQL and on SQLite (the zero-setup default)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import app.models  # noqa: F401
from app.cli import migrate
from app.db import get_engine
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
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        get_engine().dispose()
        assert diff == [], f"models and migrations differ: {diff}"
    finally:
        use_database(database_url)
        drop()
