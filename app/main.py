"""The application factory: routers, error handlers."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from app.api import errors
from app.api.routes import assignments, auth, campaigns, frameworks, me, regions, units, users

API_PREFIX = "/api/v1"


def create_app() -> FastAPI:
    """A new Shifan application."""
    app = FastAPI(
        title="Shifan 示范",
        version="0.1.0",
        description="法治政府建设示范创建：指标体系、任务分工、印证资料、审核与评分。",
    )
    api = APIRouter(prefix=API_PREFIX)
    for module in (auth, me, regions, users, frameworks, units, campaigns, assignments):
        api.include_router(module.router)
    app.include_router(api)
    errors.install(app)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    return app


app = create_app()
