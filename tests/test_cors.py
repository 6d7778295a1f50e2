"""CORS as a browser enforces it (Debian's Chromium, headless): an SPA served from another loopback origin
listed in SHIFAN_CORS_ORIGINS logs in, lists its to-do items and uploads a file with fetch + FormData; the
same page from an origin not listed is refused by the browser. The pages write what happened into the DOM."""

from __future__ import annotations

import functools
import json
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from app.main import create_app
from tests.conftest import app_with_cors, pin_today, serving
from tests.evidence_kit import PICKER, pdf
from tests.test_offline_docs import CHROMIUM, render

pytestmark = [
    pytest.mark.one_pass("a browser against the CORS middleware"),
    pytest.mark.skipif(
        CHROMIUM is None and os.environ.get("CI", "").lower() != "true",
        reason="Debian's chromium is not installed (.ci/run installs it; in CI its absence fails)",
    ),
]

# The SPA: everything it learns goes into <pre id="out"> as JSON once it has finished or failed.
SPA = """<!doctype html><html><head><meta charset="utf-8"><title>SPA</title></head><body><pre id="out">running</pre>
<script>
const q = new URLSearchParams(location.search);
const api = q.get("api");
const out = {};
async function main() {
  try {
    const form = new URLSearchParams({username: "lc-sfj", password: "shifan-demo"});
    const login = await fetch(api + "/api/v1/auth/token", {method: "POST", body: form});
    out.login = login.status;
    out.login_request_id = login.headers.get("X-Request-ID");
    const token = (await login.json()).access_token;
    const auth = {Authorization: "Bearer " + token};
    const mine = await fetch(api + "/api/v1/me/assignments?limit=5", {headers: {...auth, "X-Request-ID": "spa-1"}});
    out.list = mine.status;
    out.list_request_id = mine.headers.get("X-Request-ID");
    out.total = (await mine.json()).total;
    const one = await fetch(api + "/api/v1/assignments/" + q.get("assignment"), {headers: auth});
    out.etag = one.headers.get("ETag");
    const body = new FormData();
    body.append("file", await (await fetch("evidence.pdf")).blob(), "制度文件.pdf");
    const up = await fetch(api + "/api/v1/assignments/" + q.get("assignment") + "/evidence/file",
                           {method: "POST", headers: auth, body});
    out.upload = up.status;
    out.upload_body = await up.json();
  } catch (e) {
    out.error = e.name + ": " + e.message;
  }
  document.getElementById("out").textContent = JSON.stringify(out);
}
main();
</script></body></html>
"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextmanager
def static_site(folder: Path) -> Iterator[str]:
    """folder served over HTTP on its own loopback port: another origin than the API."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def page_result(url: str) -> dict:
    dom = render(url)
    found = re.search(r'<pre id="out">(.*?)</pre>', dom, re.S)
    assert found and found.group(1) != "running", dom[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@pytest.fixture
def spa_folder(tmp_path) -> Path:
    (tmp_path / "index.html").write_text(SPA, encoding="utf-8")
    (tmp_path / "evidence.pdf").write_bytes(pdf("CORS upload"))
    return tmp_path


def test_spa_on_a_listed_origin_works_and_an_unlisted_one_is_refused(
    world, session, spa_folder, tmp_path, monkeypatch
) -> None:
    assignment = PICKER.assignment(session, world.ids["lc_sfj"]).id
    with static_site(spa_folder) as listed, static_site(spa_folder) as unlisted:
        app = app_with_cors(monkeypatch, f"https://spa.example.gov.cn, {listed}/")
        pin_today(app, date(2023, 2, 10))
        with serving(app) as api:
            ok = page_result(f"{listed}/index.html?api={api}&assignment={assignment}")
            refused = page_result(f"{unlisted}/index.html?api={api}&assignment={assignment}")
    assert "error" not in ok, ok
    assert ok["login"] == 200 and ok["list"] == 200 and ok["total"] > 0
    # exposed headers are readable by the page's script
    assert ok["list_request_id"] == "spa-1" and ok["login_request_id"] and ok["etag"]
    assert ok["upload"] == 201, ok
    version = ok["upload_body"]["versions"][0]
    assert version["filename"] == "制度文件.pdf" and version["size"] == len(pdf("CORS upload"))
    # the browser blocks the unlisted origin at the first call: its script sees a network error, no answer
    assert refused.get("error", "").startswith("TypeError"), refused
    assert "login" not in refused


def test_preflight_answers_the_headers_and_methods_the_api_uses(world, monkeypatch) -> None:
    from fastapi.testclient import TestClient

    app = app_with_cors(monkeypatch, "https://spa.example.gov.cn")
    with TestClient(app) as c:
        wanted = "authorization,content-type,if-match,idempotency-key,x-request-id"
        r = c.options(
            "/api/v1/assignments/1",
            headers={
                "Origin": "https://spa.example.gov.cn",
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": wanted,
            },
        )
        assert r.status_code == 200, r.text
        assert r.headers["access-control-allow-origin"] == "https://spa.example.gov.cn"
        allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
        assert set(wanted.split(",")) <= allowed
        assert {"GET", "POST", "PUT", "PATCH", "DELETE"} <= set(r.headers["access-control-allow-methods"].split(", "))
        r = c.get("/api/v1/me", headers={"Origin": "https://spa.example.gov.cn", **world.auth("lc-sfj")})
        exposed = {h.strip().lower() for h in r.headers["access-control-expose-headers"].split(",")}
        assert {"etag", "x-request-id", "idempotent-replayed", "retry-after", "location"} <= exposed
        # another origin gets no CORS headers: a preflight from it is refused
        r = c.options(
            "/api/v1/me",
            headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "GET"},
        )
        assert r.status_code == 400 and "access-control-allow-origin" not in r.headers
    # by default (no SHIFAN_CORS_ORIGINS) nothing is allowed
    with TestClient(create_app()) as c:
        r = c.options(
            "/api/v1/me",
            headers={"Origin": "https://spa.example.gov.cn", "Access-Control-Request-Method": "GET"},
        )
        assert "access-control-allow-origin" not in r.headers
