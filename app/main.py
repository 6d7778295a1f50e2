"""The application factory: routers, error handlers, request ids, the object store at start."""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from app import loop_reads
from app.api import errors, graphql, openapi
from app.api.deps import API_PREFIX, StorageDep, Today
from app.api.hot_reads import HotReads
from app.api.idempotency import IdempotencyMiddleware
from app.api.middleware import RequestMiddleware
from app.api.routes import (
    assignments,
    audit,
    auth,
    calendar,
    campaigns,
    carry_over,
    evidence,
    exports,
    figures,
    files,
    follow_ups,
    frameworks,
    locks,
    me,
    progress,
    rectifications,
    regions,
    scoring,
    security,
    sessions,
    sso,
    supervision,
    units,
    users,
    webhooks,
)
from app.api.security_headers import SecurityHeadersMiddleware
from app.models.worker import LaneHealth
from app.observability import REGISTRY
from app.services.calendar import workdays
from app.services.errors import Unauthorized, Unavailable
from app.services.platform import health
from app.services.search import words
from app.services.storage import get_store
from app.services.worker import heartbeats
from app.settings import get_settings

SERVERS = [{"url": "/", "description": "本服务（与本文档同一地址）"}]
# What a browser page on another origin may send and read (CORS); the methods are the API's own.
CORS_REQUEST_HEADERS = ["Authorization", "Content-Type", "If-Match", "Idempotency-Key", openapi.REQUEST_ID]
CORS_EXPOSED_HEADERS = [
    "ETag",
    openapi.REQUEST_ID,
    "Idempotent-Replayed",
    "Retry-After",
    "Location",
    "Content-Disposition",
]
CORS_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


class Readiness(BaseModel):
    """Whether the database and the object store answer ("ok" or "unavailable" each, and overall)."""

    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unavailable"]
    storage: Literal["ok", "unavailable"]
    calendar: Literal["ok", "provisional"] | None = None  # while the database answers
    warnings: list[str] | None = None  # e.g. a year ahead without a holiday calendar (weekends only)
    # The background worker, by its lanes' heartbeats (informational: the API serves without it).
    worker: Literal["ok", "stalled", "absent", "partial"] | None = None
    lanes: dict[str, LaneHealth] | None = None


class ServiceIndex(BaseModel):
    """What GET / answers: where everything is (a browser or a script that opens the bare address lands here)."""

    name: str = "Shifan 示范"
    message: str = "法治政府建设示范创建服务。接口文档：/docs；GraphQL：/graphql；健康检查：/healthz"
    docs: str = "/docs"
    redoc: str = "/redoc"
    openapi: str = "/openapi.json"
    graphql: str = "/graphql"
    health: str = "/healthz"
    ready: str = "/readyz"
    api: str = API_PREFIX


_metrics_bearer = HTTPBearer(auto_error=False, scheme_name="MetricsToken", description="SHIFAN_METRICS_TOKEN（设置时）")


log = logging.getLogger("shifan")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # the search segmenter's dictionary (about a second) is loaded before the app answers, so the first search
    # after a start is as fast as the rest (loaded beside the start-up, a search could still arrive first and wait)
    await run_in_threadpool(words.load_dictionary)
    try:
        await run_in_threadpool(get_store().ensure_ready)  # creates the bucket if it is missing
    except Unavailable:
        log.warning("object store not reachable at start; uploads answer 503 until it is")
    yield
    await loop_reads.close()  # the busiest reads' connections on this loop


def _set_schema(app: FastAPI, schema: dict[str, Any]) -> dict[str, Any]:
    app.openapi_schema = schema
    return schema


# The API's routers in the order a request is matched against their routes, each tried in turn (~5 µs a route): the
# busiest reads' routers come first (evidence detail behind ~100 routes cost a millisecond of CPU per request). No
# route of one router matches a path of another's (tests/test_hot_reads_evidence.py): the order changes nothing else.
ROUTERS = (
    me,
    evidence,
    campaigns,
    auth,
    sso,
    regions,
    users,
    frameworks,
    units,
    carry_over,
    locks,
    assignments,
    progress,
    calendar,
    scoring,
    figures,
    webhooks,
    rectifications,
    follow_ups,
    supervision,
    files,
    exports,
    audit,
    security,
    sessions,
)


def create_app() -> FastAPI:
    """A new Shifan application."""
    # Swagger UI (/docs) and ReDoc (/redoc) from fastapi-offline's files, never a CDN.
    app = FastAPIOffline(
        lifespan=_lifespan,
        swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        title="Shifan 示范",
        version="0.1.0",
        description="法治政府建设示范创建：指标体系、任务分工、印证资料、审核与评分。",
        generate_unique_id_function=openapi.operation_id,
    )
    # each domain's router straight into the app under the REST prefix: FastAPI builds a route's state once per
    # level it is included at, so a router of routers would build every route again (startup CPU, and a level more
    # to walk on every request)
    for module in ROUTERS:
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(graphql.router(), include_in_schema=False)
    app.mount("/static", StaticFiles(directory=graphql.STATIC), name="static")
    errors.install(app)
    build = app.openapi

    def document() -> dict[str, Any]:
        return app.openapi_schema or _set_schema(app, openapi.document(errors.document(build()), servers=SERVERS))

    app.openapi = document  # type: ignore[method-assign]
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(errors.UnexpectedErrorMiddleware)  # a 500 still gets the request id, CORS and security headers
    app.add_middleware(HotReads, api=app)  # the busiest reads on the event loop; everything else passes on
    app.add_middleware(RequestMiddleware)  # the request id covers replays and refusals too
    origins = get_settings().cors_origin_list()
    if origins:  # a preflight is answered before anything else runs
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=CORS_METHODS,
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_EXPOSED_HEADERS,
            max_age=600,
        )
    app.add_middleware(SecurityHeadersMiddleware)  # outermost: every response, whoever wrote it

    @app.get("/", tags=["ops"], response_model=ServiceIndex)
    def index() -> ServiceIndex:
        """Where to start: the API documentation, GraphQL, the health checks and the REST base path."""
        return ServiceIndex()

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["ops"],
        response_class=JSONResponse,
        responses={200: {"model": Readiness}, 503: {"description": "数据库或文件存储不可用"}},
    )
    def readyz(store: StorageDep, today: Today) -> JSONResponse:
        """Readiness: the database and the object store both answer; `calendar` warns (never fails) when a
        year ahead has no holiday calendar; `worker` and `lanes` tell each worker lane's last heartbeat and a
        stalled lane (never failing readiness: the API serves without the worker)."""
        checks = health.readiness(store)
        ready = all(v == "ok" for v in checks.values())
        body: dict[str, Any] = {"status": "ok" if ready else "unavailable", **checks}
        if checks["database"] == "ok":
            found = workdays.readiness_warnings(today=today)
            body["calendar"] = "provisional" if found else "ok"
            if found:
                body["warnings"] = found
            body.update(heartbeats.readiness())
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get(
        "/metrics",
        tags=["ops"],
        response_class=Response,
        responses={
            200: {
                "description": "Prometheus 文本格式",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            },
            401: {"description": "需要指标令牌"},
        },
        openapi_extra={"security": [{}]},  # the token only when SHIFAN_METRICS_TOKEN is set
    )
    def metrics(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_metrics_bearer)] = None,
    ) -> Response:
        """Prometheus metrics: requests and latency by route, evidence bytes stored, outbox backlog."""
        expected = get_settings().metrics_token
        given = credentials.credentials if credentials else ""
        if expected and not hmac.compare_digest(given.encode(), expected.encode()):
            raise Unauthorized("需要指标令牌（SHIFAN_METRICS_TOKEN）", code="metrics_token_required")
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return app


app = create_app()
