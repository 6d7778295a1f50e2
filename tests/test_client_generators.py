"""The committed OpenAPI document through the tools client authors use: openapi-python-client (zero
warnings, and the generated client logs in, lists and downloads against the served API), openapi-typescript
output compiled with `tsc --strict`, and Redocly's lint. The npm tools come from tools/node (`npm ci` in
.ci/run); off CI their absence skips those tests, in CI it fails them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import serving

ROOT = Path(__file__).resolve().parents[1]
OPENAPI = ROOT / "openapi" / "openapi.json"
NODE_DIR = ROOT / "tools" / "node"
NODE_BIN = NODE_DIR / "node_modules" / ".bin"
IN_CI = os.environ.get("CI", "").lower() == "true"
VENV_BIN = Path(sys.executable).parent

needs_node = pytest.mark.skipif(
    not IN_CI and not (NODE_BIN.exists() and shutil.which("node")),
    reason="tools/node not installed (`npm ci --prefix tools/node`; .ci/run does it, in CI its absence fails)",
)


pytestmark = pytest.mark.one_pass("client generators over the committed OpenAPI document", where="postgresql")


def node_tool(name: str) -> str:
    tool = NODE_BIN / name
    assert tool.exists() and shutil.which("node"), f"{tool} missing: run `npm ci --prefix tools/node`"
    return str(tool)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}", "NO_UPDATE_NOTIFIER": "1"}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, **kw)


def test_python_client_generates_without_warnings_and_works(app, world, tmp_path) -> None:
    out = tmp_path / "client"
    done = run(
        [
            str(VENV_BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(OPENAPI),
            "--output-path",
            str(out),
            "--config",
            str(ROOT / "tools" / "openapi-python-client.yaml"),
        ],
        cwd=tmp_path,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "warning" not in output.lower() and "error" not in output.lower(), output
    api = out / "shifan_client" / "api"
    assert (api / "me" / "list_my_assignments.py").exists() and (api / "auth" / "login.py").exists()

    sys.path.insert(0, str(out))
    try:
        from shifan_client import AuthenticatedClient, Client  # type: ignore[import-not-found]
        from shifan_client.api.auth import login  # type: ignore[import-not-found]
        from shifan_client.api.frameworks import framework_template  # type: ignore[import-not-found]
        from shifan_client.api.me import list_my_assignments  # type: ignore[import-not-found]
        from shifan_client.models import AssignmentPage, LoginForm, Problem, TokenPublic  # type: ignore[import-not-found]

        with serving(app) as base:
            wrong = login.sync(client=Client(base_url=base), body=LoginForm(username="lc-sfj", password="nope"))
            assert isinstance(wrong, Problem) and wrong.code == "invalid_credentials"
            token = login.sync(client=Client(base_url=base), body=LoginForm(username="lc-sfj", password="shifan-demo"))
            assert isinstance(token, TokenPublic)
            me = AuthenticatedClient(base_url=base, token=token.access_token)
            page = list_my_assignments.sync(client=me, limit=5)
            assert isinstance(page, AssignmentPage) and page.total > 0 and len(page.items) == 5
            sheet = framework_template.sync_detailed(client=me)
            assert sheet.status_code == 200 and sheet.content.startswith(b"PK")  # bytes, not dropped
            assert "filename*=UTF-8''" in sheet.headers["content-disposition"]  # the file's name comes with it
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == "shifan_client" or m.startswith("shifan_client.")]:
            del sys.modules[name]


USE_TS = """
import type { components, operations, paths } from "./shifan";

type Page = paths["/api/v1/me/assignments"]["get"]["responses"][200]["content"]["application/json"];
type Problem = components["schemas"]["Problem"];
type Query = operations["listMyAssignments"]["parameters"]["query"];

export function firstDue(page: Page): string | null {
  return page.items.length > 0 ? page.items[0].due_on ?? null : null;
}
export const notFound: Problem = { type: "urn:shifan:problem:not_found", title: "not found", status: 404,
  detail: "未找到", code: "not_found", instance: "/api/v1/assignments/1" };
export const query: Query = { limit: 10, sort: "due_on" };
type Ledger = operations["ledgerXlsx"]["responses"][200]["content"];
export type Sheet = Ledger["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"];
export type SheetName = operations["ledgerXlsx"]["responses"][200]["headers"]["Content-Disposition"];
// a login needs its two fields only: scope, grant_type and the client fields stay optional
export const login: components["schemas"]["LoginForm"] = { username: "lc-sfj", password: "shifan-demo" };
export type Upload = components["schemas"]["EvidenceFileForm"];
"""


@needs_node
def test_typescript_types_compile_strict(tmp_path) -> None:
    done = run([node_tool("openapi-typescript"), str(OPENAPI), "-o", str(tmp_path / "shifan.ts")])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "⚠" not in done.stdout + done.stderr, done.stdout + done.stderr
    (tmp_path / "use.ts").write_text(USE_TS, encoding="utf-8")
    tsc = [node_tool("tsc"), "--strict", "--noEmit", "--target", "es2022", "--module", "es2022"]
    done = run([*tsc, "--moduleResolution", "bundler", str(tmp_path / "shifan.ts"), str(tmp_path / "use.ts")])
    assert done.returncode == 0, done.stdout + done.stderr


@needs_node
def test_redocly_lint_has_no_errors() -> None:
    done = run([node_tool("redocly"), "lint", str(OPENAPI), "--format=stylish"], cwd=NODE_DIR)
    output = done.stdout + done.stderr
    assert done.returncode == 0 and " error " not in output, output
    assert "Your API description is valid" in output, output
