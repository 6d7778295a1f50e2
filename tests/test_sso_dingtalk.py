"""钉钉免登 against a stand-in of DingTalk's server API on 127.0.0.1 (tests/dingtalk_standin.py, the documented
request and response shapes): an authCode becomes the service's login token for the account of its userid (or
unionid); DingTalk's refusals (errcode ≠ 0) become clear Chinese problems; each outcome is audited."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from app import db as app_db
from app.models.user import Role, UserCreate
from app.services.accounts import users
from tests.dingtalk_standin import DingTalkStandIn
from tests.sso_kit import PASSWORD, audit_entries, configured, make_accounts

APP_KEY, APP_SECRET = "dingtestappkey", "dingtest-app-secret-0123456789"


@pytest.fixture(scope="module")
def accounts(database_url):
    made = make_accounts("dt")
    made["liaison"] = f"dt-user-{made['suffix']}"  # the username is the person's DingTalk userid
    made["unionid"] = f"Un1on{made['suffix']}iiii"
    with Session(app_db.get_engine()) as s:
        for name in (made["liaison"], made["unionid"]):
            data = UserCreate(
                username=name, display_name="联络员", role=Role.liaison, unit_id=made["unit_id"], password=PASSWORD
            )
            users.create(s, data=data)
        s.commit()
    return made


@pytest.fixture(scope="module")
def standin():
    server = DingTalkStandIn(APP_KEY, APP_SECRET)
    yield server
    server.stop()


@pytest.fixture
def dingtalk(standin):
    with configured(dingtalk_api_base=standin.url, dingtalk_app_key=APP_KEY, dingtalk_app_secret=APP_SECRET):
        yield standin


def login(client, code: str):
    return client.post("/api/v1/auth/dingtalk", json={"authCode": code})


def test_off_by_default(client, database_url) -> None:
    with configured(dingtalk_api_base=None):
        r = login(client, "anything")
    assert r.status_code == 404 and r.json()["code"] == "sso_not_configured"
    assert r.json()["detail"] == "未配置钉钉免登"


def test_auth_code_logs_in_by_userid_then_by_link(client, dingtalk, accounts) -> None:
    code = dingtalk.issue_code(userid=accounts["liaison"], unionid="someunion", name="王五")
    r = login(client, code)
    assert r.status_code == 200, r.text
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"}).json()
    assert me["username"] == accounts["liaison"] and me["role"] == "liaison" and me["unit_id"] == accounts["unit_id"]
    assert login(client, dingtalk.issue_code(userid=accounts["liaison"], unionid="x", name="王五")).status_code == 200
    entries = [
        e for e in audit_entries(client, accounts["admin"], "auth.sso_login") if e["after"]["provider"] == "dingtalk"
    ]
    assert [e["after"]["matched_by"] for e in entries[:2]] == ["subject", "username"]
    assert entries[0]["after"]["subject"] == accounts["liaison"]
    # the code was used: DingTalk refuses it a second time, and so does the service
    again = login(client, code)
    assert again.status_code == 401 and again.json()["code"] == "dingtalk_code_invalid"
    assert "40078" in again.json()["detail"] and "不存在的临时授权码" in again.json()["detail"]
    refusal = audit_entries(client, accounts["admin"], "auth.sso_refused")[0]["after"]
    assert refusal == {**refusal, "provider": "dingtalk", "reason": "dingtalk_code_invalid"}


def test_by_unionid_when_configured(client, dingtalk, accounts) -> None:
    code = dingtalk.issue_code(userid="someone-else", unionid=accounts["unionid"], name="赵六")
    with configured(dingtalk_user_field="unionid"):
        r = login(client, code)
    assert r.status_code == 200, r.text
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"}).json()
    assert me["username"] == accounts["unionid"]


def test_unknown_user_is_refused(client, dingtalk, accounts) -> None:
    r = login(client, dingtalk.issue_code(userid="not-an-account", unionid="u", name="路人"))
    assert r.status_code == 403 and r.json()["code"] == "sso_account_unknown"
    assert r.json()["detail"].startswith("该钉钉账号尚未开通本系统账号")
    refusal = audit_entries(client, accounts["admin"], "auth.sso_refused")[0]["after"]
    assert refusal["reason"] == "sso_account_unknown" and refusal["subject"] == "not-an-account"


def test_wrong_app_secret_is_said(client, standin, accounts) -> None:
    with configured(dingtalk_api_base=standin.url, dingtalk_app_key=APP_KEY, dingtalk_app_secret="wrong"):
        r = login(client, standin.issue_code(userid=accounts["liaison"], unionid="u", name="王五"))
    assert r.status_code == 503 and r.json()["code"] == "dingtalk_unavailable"
    assert "40089" in r.json()["detail"] and "AppSecret" in r.json()["detail"]


def test_expired_access_token_is_fetched_again(client, dingtalk, accounts) -> None:
    assert login(client, dingtalk.issue_code(userid=accounts["liaison"], unionid="u", name="王五")).status_code == 200
    dingtalk.expire_tokens()
    before = dingtalk.calls.count("/gettoken")
    r = login(client, dingtalk.issue_code(userid=accounts["liaison"], unionid="u", name="王五"))
    assert r.status_code == 200, r.text
    assert dingtalk.calls.count("/gettoken") == before + 1


def test_body_is_validated(client, dingtalk) -> None:
    r = client.post("/api/v1/auth/dingtalk", json={})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == "body.authCode"


def test_api_base_that_does_not_answer(client, accounts) -> None:
    from tests.s3servers import free_port

    with configured(dingtalk_api_base=f"http://127.0.0.1:{free_port()}", dingtalk_app_key=APP_KEY):
        r = login(client, "whatever")
    assert r.status_code == 503 and r.json()["code"] == "dingtalk_unavailable"
