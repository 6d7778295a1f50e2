"""Swagger UI, ReDoc and GraphiQL render in a real browser (Debian's Chromium, headless) with every
address but 127.0.0.1 unreachable: the offices' networks have no internet, so no page may need a CDN."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import pytest
from fastapi import FastAPI

from tests.conftest import serving

CHROMIUM = shutil.which("chromium")

pytestmark = [
    pytest.mark.one_pass("a browser over the served pages", where="postgresql"),
    pytest.mark.skipif(
        CHROMIUM is None and os.environ.get("CI", "").lower() != "true",
        reason="Debian's chromium is not installed (.ci/run installs it; in CI its absence fails)",
    ),
]


def render(url: str) -> str:
    """The DOM of url after its scripts ran, in a browser that can reach only 127.0.0.1."""
    assert CHROMIUM, "chromium is required in CI"
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                # the network cut: every name fails to resolve and every non-loopback request goes to a dead proxy
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                "--proxy-server=http://127.0.0.1:9",
                "--virtual-time-budget=20000",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_docs_redoc_and_graphiql_render_offline(app) -> None:
    with serving(app) as base:
        swagger = render(f"{base}/docs")
        redoc = render(f"{base}/redoc")
        graphiql = render(f"{base}/graphql")
    # Swagger UI fetched /openapi.json and drew the operations
    assert 'class="swagger-ui"' in swagger and "opblock" in swagger and "/api/v1/campaigns" in swagger
    # ReDoc drew the API's own description and operations
    assert "法治政府建设示范创建" in redoc and "/api/v1/campaigns" in redoc
    # GraphiQL started (its editors exist) instead of the page's loading text
    assert "graphiql-container" in graphiql and "graphiql-editor" in graphiql and "正在加载" not in graphiql


def test_the_network_cut_is_real() -> None:
    """Control: FastAPI's stock /docs (Swagger UI from a CDN) renders nothing under the same browser settings."""
    stock = FastAPI(title="stock")

    @stock.get("/ping")
    def ping() -> dict[str, str]:
        return {"ok": "yes"}

    with serving(stock) as base:
        dom = render(f"{base}/docs")
    assert 'id="swagger-ui"' in dom and "opblock" not in dom


def test_the_pages_policy_is_enforced(app, monkeypatch) -> None:
    """Control: the same browser refuses Swagger UI's inline start-up script when the policy does not list its
    hash, so the rendering above proves the policy fits the pages (and that it is in force)."""
    from app.api import security_headers

    monkeypatch.setattr(security_headers, "page_policy", lambda html: security_headers.PAGE_POLICY.format(hashes=""))
    with serving(app) as base:
        dom = render(f"{base}/docs")
    assert 'id="swagger-ui"' in dom and "opblock" not in dom
