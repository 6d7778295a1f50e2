"""The application factory: routers, error handlers, request ids, the object store at start."""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from app.api import errors, graphql
from app.api.deps import API_PREFIX, StorageDep
from app.api.idempotency import IdempotencyMiddleware
from app.api.middleware import RequestMiddleware
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
from app.observability import REGISTRY
from app.services.errors import Unauthorized, Unavailable
from app.services.platform import health
from app.services.storage import get_store
from app.settings import get_settings

log = logging.getLogger("shifan")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    try:
        await run_in_threadpool(get_store().ensure_ready)  # creates the bucket if it is missing
    except Unavailable:
        log.warning("object store not reachable at start; uploads answer 503 until it is")
    yield


def _set_schema(app: FastAPI, schema: dict[str, Any]) -> dict[str, Any]:
    app.openapi_schema = schema
    return schema


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
    openapi = app.openapi
    app.openapi = lambda: app.openapi_schema or _set_schema(app, errors.document(openapi()))  # type: ignore[method-assign]
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(RequestMiddleware)  # outermost: the request id covers replays and refusals too

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

    @app.get("/metrics", tags=["ops"], response_class=Response, responses={401: {"description": "需要指标令牌"}})
    def metrics(authorization: Annotated[str | None, Header()] = None) -> Response:
        """Prometheus metrics: requests and latency by route, evidence bytes stored, outbox backlog."""
        expected = get_settings().metrics_token
        if expected and not hmac.compare_digest(authorization or "", f"Bearer {expected}"):
            raise Unauthorized("需要指标令牌（SHIFAN_METRICS_TOKEN）", code="metrics_token_required")
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return app


app = create_app()
