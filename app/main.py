"""The application factory: routers, error handlers, request ids, the object store at start."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool

from app.api import errors, graphql
from app.api.deps import StorageDep
from app.api.middleware import RequestIdMiddleware
from app.api.routes import (
    assignments,
    audit,
    auth,
    calendar,
    campaigns,
    evidence,
    exports,
    figures,
    files,
    frameworks,
    locks,
    me,
    progress,
    rectifications,
    regions,
    scoring,
    units,
    users,
    webhooks,
)
from app.services import health
from app.services.errors import Unavailable
from app.services.storage import get_store

API_PREFIX = "/api/v1"


log = logging.getLogger("shifan")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    try:
        await run_in_threadpool(get_store().ensure_ready)  # creates the bucket if it is missing
    except Unavailable:
        log.warning("object store not reachable at start; uploads answer 503 until it is")
    yield


def create_app() -> FastAPI:
    """A new Shifan application."""
    # Swagger UI (/docs) and ReDoc (/redoc) from fastapi-offline's files, never a CDN.
    app = FastAPIOffline(
        lifespan=_lifespan,
        swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        title="Shifan 示范",
        version="0.1.0",
        description="法治政府建设示范创建：指标体系、任务分工、印证资料、审核与评分。",
    )
    api = APIRouter(prefix=API_PREFIX)
    for module in (
        auth,
        me,
        regions,
        users,
        frameworks,
        units,
        campaigns,
        locks,
        assignments,
        progress,
        calendar,
        scoring,
        figures,
        webhooks,
        rectifications,
        evidence,
        files,
        exports,
        audit,
    ):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(graphql.router(), include_in_schema=False)
    app.mount("/static", StaticFiles(directory=graphql.STATIC), name="static")
    errors.install(app)
    app.add_middleware(RequestIdMiddleware)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], responses={503: {"description": "数据库或文件存储不可用"}})
    def readyz(store: StorageDep) -> JSONResponse:
        """Readiness: the database and the object store both answer."""
        checks = health.readiness(store)
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if ready else "unavailable", **checks}, status_code=200 if ready else 503)

    return app


app = create_app()
