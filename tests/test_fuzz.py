"""Schemathesis against the committed openapi/openapi.json: generated requests to every operation, as every
role with a real token, on an API process of its own (its own database, so random writes touch nothing
else). No answer may be a 5xx, and every documented answer must match its schema. Bounded for CI.

One pytest item per operation and role (`…[POST /api/v1/…][lc-sfj]`), so a failure names its case; the
cases are derandomized, so every role gets the same requests."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.conftest import fresh_database, make_test_pass, served_demo

ROOT = Path(__file__).resolve().parents[1]
ROLES = ("sysadmin", "lc-office", "lc-sfj", "evaluator", "sx-province")
EXAMPLES = int(os.environ.get("SHIFAN_FUZZ_EXAMPLES", "3"))
# Schemathesis's coverage phase sends some 40 boundary cases per operation (98% of the fuzzing's requests), most
# of them invalid on purpose, and they are refused by request validation before any database work whoever sends
# them: one role sends them (BOUNDARY_ROLE); every other role sends the generated examples (SHIFAN_FUZZ_EXAMPLES
# per operation), which is where the roles' answers differ. SHIFAN_FUZZ_COVERAGE=positive keeps only the valid
# boundary cases: the default in `make test`'s PostgreSQL pass, while its SQLite pass sends the invalid ones too; a
# pass run on its own sends them all.
COVERAGE = os.environ.get("SHIFAN_FUZZ_COVERAGE") or ("positive" if make_test_pass() == "postgresql" else "all")
if COVERAGE not in ("all", "positive"):
    raise pytest.UsageError(f"SHIFAN_FUZZ_COVERAGE must be all or positive, not {COVERAGE!r}")
BOUNDARY_ROLE = "lc-office"

schema = schemathesis.openapi.from_path(ROOT / "openapi" / "openapi.json")
generated_only = schemathesis.openapi.from_path(ROOT / "openapi" / "openapi.json")
generated_only.config.phases.coverage.enabled = False
if COVERAGE == "positive":
    schema.config.phases.coverage.generation.modes = [GenerationMode.POSITIVE]


@pytest.fixture(scope="module")
def fuzz_api(pg_admin_engine, tmp_path_factory):
    """A `shifan serve` process with the demo loaded on a fresh database; (base URL, tokens by role)."""
    tmp = tmp_path_factory.mktemp("fuzz")
    url, drop = fresh_database(pg_admin_engine, tmp, "fuzz")
    try:
        with served_demo(url, tmp) as (base, _):
            tokens = {}
            for who in ROLES:
                r = httpx.post(f"{base}/api/v1/auth/token", data={"username": who, "password": "shifan-demo"})
                tokens[who] = {"Authorization": f"Bearer {r.json()['access_token']}"}
            yield base, tokens
    finally:
        drop()


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases every run: a CI failure reproduces
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def _check(case, who: str, fuzz_api) -> None:
    base, tokens = fuzz_api
    case.call_and_validate(base_url=base, headers=tokens[who], checks=[not_a_server_error, response_schema_conformance])


@schema.parametrize()
@FUZZ_SETTINGS
def test_boundary_cases_as_the_county_office(case, fuzz_api) -> None:
    _check(case, BOUNDARY_ROLE, fuzz_api)


def _generated_roles() -> list[str]:
    """The roles that send the generated examples in this pass: every one but the boundary role's, split between
    `make test`'s two passes when they run together (each operation is still fuzzed by each role every run, on one
    backend; the boundary role sends its cases on both), all of them in a pass run on its own."""
    others = [r for r in ROLES if r != BOUNDARY_ROLE]
    here = make_test_pass()
    return others if here is None else others[::2] if here == "sqlite" else others[1::2]


@pytest.mark.parametrize("who", _generated_roles())
@generated_only.parametrize()
@FUZZ_SETTINGS
def test_no_server_errors_and_answers_match_the_schema(case, who, fuzz_api) -> None:
    _check(case, who, fuzz_api)
