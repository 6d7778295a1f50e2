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

from tests.conftest import fresh_database, served_demo

ROOT = Path(__file__).resolve().parents[1]
ROLES = ("admin", "lc-office", "lc-sfj", "evaluator", "sx-province")
EXAMPLES = int(os.environ.get("SHIFAN_FUZZ_EXAMPLES", "3"))
# Schemathesis's coverage phase sends some 40 boundary cases per operation, most of them invalid on purpose.
# The invalid ones are refused by request validation before any database work and whoever sends them, so one
# role sends them (INVALID_ROLE, with "all"), the others only the valid ones. SHIFAN_FUZZ_COVERAGE=positive (the
# SQLite pass of `make test`) keeps only the valid ones for every role: the PostgreSQL pass checks the rest.
COVERAGE = os.environ.get("SHIFAN_FUZZ_COVERAGE", "all")
if COVERAGE not in ("all", "positive"):
    raise pytest.UsageError(f"SHIFAN_FUZZ_COVERAGE must be all or positive, not {COVERAGE!r}")
INVALID_ROLE = "lc-office"

schema = schemathesis.openapi.from_path(ROOT / "openapi" / "openapi.json")
valid_only = schemathesis.openapi.from_path(ROOT / "openapi" / "openapi.json")
valid_only.config.phases.coverage.generation.modes = [GenerationMode.POSITIVE]
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
def test_every_case_valid_or_not_as_the_county_office(case, fuzz_api) -> None:
    _check(case, INVALID_ROLE, fuzz_api)


@pytest.mark.parametrize("who", [r for r in ROLES if r != INVALID_ROLE])
@valid_only.parametrize()
@FUZZ_SETTINGS
def test_no_server_errors_and_answers_match_the_schema(case, who, fuzz_api) -> None:
    _check(case, who, fuzz_api)
