"""统一身份认证 (OpenID Connect) end to end against a real provider: the certified `oidc-provider` npm package
(tools/node/oidc-provider.mjs) started on 127.0.0.1 once for this module, its login form posted with httpx like a
browser would. Logins, links by username claim and by subject, JIT accounts, and the refusals: wrong state,
wrong nonce, a token for another client, an unknown subject; each audited."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import httpx
import pytest
from sqlmodel import Session

from app import db as app_db
from app.models.user import Role, UserCreate
from app.services.accounts import users
from tests.sso_kit import PASSWORD, audit_entries, configured, make_accounts

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "node" / "oidc-provider.mjs"
MODULE = ROOT / "tools" / "node" / "node_modules" / "oidc-provider"
IN_CI = os.environ.get("CI", "").lower() == "true"
SPA = "https://spa.example.test/oidc/callback"  # the SPA's page: never fetched, the test reads code and state
APP_PAGE = "https://m.example.test/oidc/callback"  # a mobile app's redirect (an app link)
SECRET = "shifan-client-secret-for-tests-only-0123456789"
OTHER_SECRET = "other-client-secret-for-tests-only-0123456789"


@pytest.fixture(scope="module")
def accounts(database_url):
    made = make_accounts("oidc")
    made["disabled"] = f"oidc-disabled-{made['suffix']}"
    with Session(app_db.get_engine()) as s:
        data = UserCreate(
            username=made["disabled"],
            display_name="停用",
            role=Role.office,
            county_id=made["county_id"],
            password=PASSWORD,
        )
        users.create(s, data=data).is_active = False
        made["linked"] = f"oidc-linked-{made['suffix']}"
        users.create(s, data=data.model_copy(update={"username": made["linked"]}))
        s.commit()
    return made


@pytest.fixture(scope="module")
def provider(accounts):
    """The OpenID provider process, with the service's client, another client and test accounts."""
    if not (shutil.which("node") and MODULE.exists()):
        if IN_CI:
            pytest.fail("node and tools/node (oidc-provider) are required in CI: npm ci --prefix tools/node")
        pytest.skip("oidc-provider not installed: npm ci --prefix tools/node")
    config = {
        "clients": [
            {"client_id": "shifan", "client_secret": SECRET, "redirect_uris": [SPA, APP_PAGE]},
            {"client_id": "other-app", "client_secret": OTHER_SECRET, "redirect_uris": [SPA]},
        ],
        "aliases": {"shifan-misrouted": "other-app"},
        "accounts": {
            "sub-office": {"preferred_username": accounts["office"], "name": "县办张三"},
            "sub-stranger": {"preferred_username": "nobody-" + accounts["suffix"], "name": "陌生人"},
            "sub-newcomer": {"preferred_username": "newcomer-" + accounts["suffix"], "name": "新同事李四"},
            # claims the office's username, but the office account is linked to sub-office already
            "sub-impostor": {"preferred_username": accounts["office"], "name": "冒名者"},
            "sub-disabled": {"preferred_username": accounts["disabled"], "name": "已停用"},
            "sub-prelinked": {"preferred_username": "someone-else-" + accounts["suffix"], "name": "预先关联"},
        },
    }
    process = subprocess.Popen(
        ["node", str(SCRIPT), json.dumps(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = process.stdout.readline()
    if not line.startswith("ready "):
        process.kill()
        pytest.fail(f"oidc-provider did not start: {line!r}")
    yield line.split()[1]
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def oidc(provider):
    """The service configured for the provider (for the test only)."""
    with configured(
        oidc_issuer=provider,
        oidc_client_id="shifan",
        oidc_client_secret=SECRET,
        oidc_redirect_uris=f"{SPA},{APP_PAGE}",
    ):
        yield provider


def sign_in(client, account: str, *, redirect: str | None = None, tamper=None) -> dict[str, str]:
    """Start a login at the service, sign in at the provider as account (its devInteractions forms, as a browser
    posts them) and return what the provider sends back to the redirect URI (code, state, iss)."""
    r = client.get("/api/v1/auth/oidc/login", params={"redirect": redirect} if redirect else {}, follow_redirects=False)
    assert r.status_code == 302, r.text
    url = tamper(r.headers["location"]) if tamper else r.headers["location"]
    back = redirect or SPA
    with httpx.Client(timeout=10) as browser:
        r = browser.get(url)
        for _ in range(10):
            if r.is_redirect:
                target = urljoin(str(r.url), r.headers["location"])
                if target.startswith(back):
                    return dict(parse_qsl(urlsplit(target).query))
                r = browser.get(target)
                continue
            assert r.status_code == 200, r.text
            action = re.search(r'<form[^>]*action="([^"]+)"', r.text).group(1)
            prompt = re.search(r'name="prompt" value="(\w+)"', r.text).group(1)
            form = {"prompt": prompt} | ({"login": account, "password": "whatever"} if prompt == "login" else {})
            r = browser.post(urljoin(str(r.url), action), data=form)
    raise AssertionError("the provider never sent the browser back")


def callback(client, params: dict[str, str]) -> httpx.Response:
    return client.get("/api/v1/auth/oidc/callback", params=params)


def test_off_by_default(client, database_url) -> None:
    with configured(oidc_issuer=None, oidc_client_id=None):
        for r in (
            client.get("/api/v1/auth/oidc/login", follow_redirects=False),
            client.get("/api/v1/auth/oidc/callback", params={"code": "c", "state": "s"}),
        ):
            assert r.status_code == 404, r.text
            assert r.json()["code"] == "sso_not_configured"
            assert r.json()["detail"] == "未配置统一身份认证"
            assert r.headers["content-type"].startswith("application/problem+json")


def test_login_redirects_with_pkce_state_and_nonce(client, oidc) -> None:
    r = client.get("/api/v1/auth/oidc/login", follow_redirects=False)
    assert r.status_code == 302
    sent = urlsplit(r.headers["location"])
    query = dict(parse_qsl(sent.query))
    assert f"{sent.scheme}://{sent.netloc}" == oidc
    assert query["client_id"] == "shifan" and query["response_type"] == "code"
    assert query["redirect_uri"] == SPA and "openid" in query["scope"].split()
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32
    refused = client.get("/api/v1/auth/oidc/login", params={"redirect": "https://evil.example/cb"})
    assert refused.status_code == 422 and refused.json()["code"] == "oidc_redirect_not_allowed"


def test_login_by_username_claim_then_by_subject(client, oidc, accounts) -> None:
    first = callback(client, sign_in(client, "sub-office"))
    assert first.status_code == 200, first.text
    assert first.json()["token_type"] == "bearer" and first.json()["expires_at"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {first.json()['access_token']}"})
    assert me.status_code == 200 and me.json()["username"] == accounts["office"] and me.json()["role"] == "office"
    again = callback(client, sign_in(client, "sub-office", redirect=APP_PAGE))  # a mobile app's redirect
    assert again.status_code == 200, again.text
    logins = audit_entries(client, accounts["admin"], "auth.sso_login")
    logins = [e for e in logins if e["after"]["subject"] == "sub-office"]
    assert [e["after"]["matched_by"] for e in logins[:2]] == ["subject", "username"]
    assert logins[0]["username"] == accounts["office"] and logins[0]["after"]["provider"] == "oidc"


def test_wrong_state_is_refused(client, oidc, accounts) -> None:
    params = sign_in(client, "sub-office")
    forged = callback(client, {**params, "state": "forged-" + params["state"][7:]})
    assert forged.status_code == 401 and forged.json()["code"] == "oidc_state_invalid"
    assert "state" in forged.json()["detail"]
    assert callback(client, params).status_code == 200  # the real state still works, once
    replayed = callback(client, params)
    assert replayed.status_code == 401 and replayed.json()["code"] == "oidc_state_invalid"
    reasons = [e["after"]["reason"] for e in audit_entries(client, accounts["admin"], "auth.sso_refused")]
    assert reasons[:2] == ["oidc_state_invalid", "oidc_state_invalid"]


def _with(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode({**dict(parse_qsl(parts.query)), **changes})))


def test_wrong_nonce_is_refused(client, oidc, accounts) -> None:
    # the code comes back for this login's state and PKCE verifier, but its ID token carries another nonce
    params = sign_in(client, "sub-office", tamper=lambda url: _with(url, nonce="a-nonce-this-login-never-sent"))
    r = callback(client, params)
    assert r.status_code == 401 and r.json()["code"] == "oidc_nonce_mismatch", r.text
    assert "nonce" in r.json()["detail"]
    refusal = audit_entries(client, accounts["admin"], "auth.sso_refused")[0]["after"]
    assert refusal == {**refusal, "provider": "oidc", "reason": "oidc_nonce_mismatch"}


def test_token_for_another_client_is_refused(client, provider, accounts) -> None:
    # the provider serves "shifan-misrouted" as other-app: its ID token's audience is other-app, not the service's
    with configured(
        oidc_issuer=provider,
        oidc_client_id="shifan-misrouted",
        oidc_client_secret=OTHER_SECRET,
        oidc_redirect_uris=SPA,
    ):
        r = callback(client, sign_in(client, "sub-office"))
    assert r.status_code == 401 and r.json()["code"] == "oidc_audience_mismatch", r.text
    assert r.json()["detail"] == "身份令牌不是签发给本系统的（受众 aud 不符），已拒绝登录"


def test_unknown_subject_is_refused(client, oidc, accounts) -> None:
    r = callback(client, sign_in(client, "sub-stranger"))
    assert r.status_code == 403 and r.json()["code"] == "sso_account_unknown", r.text
    assert r.json()["detail"].startswith("该统一身份认证账号尚未开通本系统账号")
    refusal = audit_entries(client, accounts["admin"], "auth.sso_refused")[0]["after"]
    assert refusal["reason"] == "sso_account_unknown" and refusal["subject"] == "sub-stranger"


def test_just_in_time_account_when_configured(client, oidc, accounts) -> None:
    with configured(oidc_jit_role="office", oidc_jit_county_id=accounts["county_id"]):
        r = callback(client, sign_in(client, "sub-newcomer"))
        assert r.status_code == 200, r.text
        again = callback(client, sign_in(client, "sub-newcomer"))
        assert again.status_code == 200, again.text
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"}).json()
    assert me["username"] == "newcomer-" + accounts["suffix"]
    assert me["role"] == "office" and me["county_id"] == accounts["county_id"]
    # the account has no password: only the provider logs it in
    password = client.post("/api/v1/auth/token", data={"username": me["username"], "password": "!sso-only"})
    assert password.status_code == 401
    created = audit_entries(client, accounts["admin"], "user.create")[0]
    assert created["after"]["username"] == me["username"] and created["after"]["source"] == "oidc"
    # without the JIT settings the same person still logs in: the account exists and is linked now
    assert callback(client, sign_in(client, "sub-newcomer")).status_code == 200


def test_jit_needs_a_valid_binding(client, oidc, accounts) -> None:
    with configured(oidc_jit_role="liaison", oidc_jit_county_id=accounts["county_id"], oidc_jit_unit_id=None):
        r = callback(client, sign_in(client, "sub-stranger"))
    assert r.status_code == 403 and r.json()["code"] == "sso_jit_misconfigured", r.text


def test_linked_account_is_not_taken_over_by_another_subject(client, oidc, accounts) -> None:
    assert callback(client, sign_in(client, "sub-office")).status_code == 200  # linked to sub-office
    r = callback(client, sign_in(client, "sub-impostor"))
    assert r.status_code == 403 and r.json()["code"] == "sso_subject_mismatch", r.text


def test_disabled_account_is_refused(client, oidc, accounts) -> None:
    r = callback(client, sign_in(client, "sub-disabled"))
    assert r.status_code == 403 and r.json()["code"] == "account_disabled", r.text


def test_subject_linked_by_an_administrator(client, oidc, accounts, capsys) -> None:
    from app.cli import main

    with configured(oidc_username_claim=""):  # only linked subjects log in
        refused = callback(client, sign_in(client, "sub-prelinked"))
        assert refused.status_code == 403 and refused.json()["code"] == "sso_account_unknown"
        main(["sso", "link", "--username", accounts["linked"], "--provider", "oidc", "--subject", "sub-prelinked"])
        r = callback(client, sign_in(client, "sub-prelinked"))
        assert r.status_code == 200, r.text
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"}).json()
        assert me["username"] == accounts["linked"]
        with pytest.raises(SystemExit):  # one subject, one account
            main(["sso", "link", "--username", accounts["office"], "--provider", "oidc", "--subject", "sub-prelinked"])
        assert "sso_identity_taken" in capsys.readouterr().err
        main(["sso", "unlink", "--provider", "oidc", "--subject", "sub-prelinked"])
        assert callback(client, sign_in(client, "sub-prelinked")).status_code == 403
    actions = [e["action"] for e in audit_entries(client, accounts["admin"], "sso_identity.link")]
    assert actions[:1] == ["sso_identity.link"]


def _state_of(client) -> str:
    r = client.get("/api/v1/auth/oidc/login", follow_redirects=False)
    return dict(parse_qsl(urlsplit(r.headers["location"]).query))["state"]


def test_provider_error_and_late_callbacks_are_refused(client, oidc) -> None:
    r = callback(client, {"state": _state_of(client), "error": "access_denied", "error_description": "<b>no</b>"})
    assert r.status_code == 401 and r.json()["code"] == "oidc_authorization_failed"
    assert r.json()["detail"] == "统一身份认证未完成登录（access_denied），请重新登录"
    with configured(oidc_login_minutes=-1):  # the login's time at the provider is up as soon as it starts
        late = _state_of(client)
    r = callback(client, {"state": late, "code": "whatever"})
    assert r.status_code == 401 and r.json()["code"] == "oidc_state_expired"


def test_discovery_for_another_issuer_is_not_trusted(client, provider) -> None:
    # the document at <issuer>/.well-known/openid-configuration names an issuer other than the configured one
    with configured(
        oidc_issuer=provider + "/", oidc_client_id="shifan", oidc_client_secret=SECRET, oidc_redirect_uris=SPA
    ):
        r = client.get("/api/v1/auth/oidc/login", follow_redirects=False)
    assert r.status_code == 503 and r.json()["code"] == "oidc_issuer_mismatch", r.text
