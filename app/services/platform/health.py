"""Readiness: can this instance reach what it needs (the database, the object store)?"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import text

from app.db import session_scope
from app.services.storage import ObjectStore

log = logging.getLogger("shifan.health")


def _database() -> None:
    with session_scope() as session:
        session.connection().execute(text("SELECT 1"))


def _check(name: str, probe: Callable[[], object]) -> str:
    try:
        probe()
    except Exception:  # noqa: BLE001 - any failure means "not ready"; the log says which
        log.warning("readiness check %s failed", name, exc_info=True)
        return "unavailable"
    return "ok"


def readiness(store: ObjectStore) -> dict[str, str]:
    """'ok' or 'unavailable' for the database and the object store."""
    return {"database": _check("database", _database), "storage": _check("storage", store.ensure_ready)}
