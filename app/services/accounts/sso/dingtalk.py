"""钉钉 / 浙政钉 免登: the app in DingTalk hands over a one-time authCode; the service asks the configured DingTalk API
for the user behind it (gettoken with appkey/appsecret, then topapi/v2/user/getuserinfo with the code) and logs
in the account linked to its userid or unionid.

Shapes as DingTalk documents them: `GET /gettoken?appkey=&appsecret=` answers
`{"errcode": 0, "errmsg": "ok", "access_token": "…", "expires_in": 7200}`; `POST
/topapi/v2/user/getuserinfo?access_token=…` with `{"code": "…"}` answers `{"errcode": 0, "errmsg": "ok",
"result": {"userid": "…", "unionid": "…", "name": "…", …}, "request_id": "…"}`; any errcode other than 0 is a
refusal (40078 不存在的临时授权码, 40014 不合法的access_token, 42001 access_token 超时 …)."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
from sqlmodel import Session

from app.models.login_session import TokenPublic
from app.services.accounts import sessions
from app.services.accounts.sso import identities
from app.services.errors import DomainError, NotFound, Unauthorized, Unavailable
from app.settings import Settings, get_settings

# errcodes that mean the access token is no longer good: fetch a new one and ask once more
_STALE_TOKEN = {40001, 40014, 42001}
_tokens: dict[tuple[str, str, str], tuple[str, float]] = {}
_tokens_lock = threading.Lock()


def _settings() -> Settings:
    settings = get_settings()
    if not (settings.dingtalk_api_base and settings.dingtalk_app_key):
        raise NotFound("未配置钉钉免登", code="sso_not_configured")
    return settings


def login(session: Session, *, auth_code: str, client: str) -> TokenPublic:
    """The service's login answer for the DingTalk user behind auth_code; refusals say why and are audited."""
    settings = _settings()
    subject: str | None = None
    try:
        found = _user_info(settings, auth_code)
        subject = str(found.get(settings.dingtalk_user_field) or "") or None
        if subject is None:
            raise Unauthorized(
                f"钉钉未返回用户的 {settings.dingtalk_user_field}，无法确定身份", code="dingtalk_user_unknown"
            )
        who = identities.ExternalIdentity(
            provider="dingtalk", subject=subject, username=subject, display_name=found.get("name") or None
        )
        user, how = identities.resolve(session, who=who)
    except DomainError as exc:
        identities.record_refusal(provider="dingtalk", reason=exc.code, subject=subject, client=client)
        raise
    identities.record_success(session, user=user, who=who, how=how, client=client)
    return sessions.start(session, user=user, method="dingtalk", client=client)


def _user_info(settings: Settings, auth_code: str) -> dict[str, Any]:
    """getuserinfo's result for auth_code, with a fresh access token once if DingTalk says the kept one is stale."""
    for attempt in range(2):
        token = _access_token(settings, fresh=attempt > 0)
        answer = _call(
            settings, "POST", "/topapi/v2/user/getuserinfo", params={"access_token": token}, json={"code": auth_code}
        )
        errcode = answer.get("errcode")
        if errcode == 0 and isinstance(answer.get("result"), dict):
            return answer["result"]
        if errcode not in _STALE_TOKEN:
            said = f"钉钉返回 {errcode}：{str(answer.get('errmsg', ''))[:100]}"
            raise Unauthorized(f"钉钉免登授权码无效或已使用（{said}），请重新进入应用", code="dingtalk_code_invalid")
    raise Unavailable("钉钉接口凭证（access_token）无法使用，请检查应用配置", code="dingtalk_unavailable")


def _access_token(settings: Settings, *, fresh: bool) -> str:
    """The app's access token, kept until shortly before DingTalk's expires_in."""
    key = (settings.dingtalk_api_base, settings.dingtalk_app_key, settings.dingtalk_app_secret)
    with _tokens_lock:
        kept = _tokens.get(key)
    if kept is not None and not fresh and kept[1] > time.monotonic():
        return kept[0]
    answer = _call(
        settings,
        "GET",
        "/gettoken",
        params={"appkey": settings.dingtalk_app_key, "appsecret": settings.dingtalk_app_secret},
    )
    if answer.get("errcode") != 0 or not answer.get("access_token"):
        said = f"钉钉返回 {answer.get('errcode')}：{str(answer.get('errmsg', ''))[:100]}"
        raise Unavailable(f"钉钉拒绝了应用凭证（{said}），请检查 AppKey 和 AppSecret", code="dingtalk_unavailable")
    expires_in = int(answer.get("expires_in") or 7200)
    token = str(answer["access_token"])
    with _tokens_lock:
        _tokens[key] = (token, time.monotonic() + max(60, expires_in - 300))
    return token


def _call(settings: Settings, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    """One call to the configured DingTalk API base (no redirects followed), its JSON answer."""
    url = settings.dingtalk_api_base.rstrip("/") + path
    try:
        with httpx.Client(timeout=settings.dingtalk_timeout_seconds, follow_redirects=False) as http:
            response = http.request(method, url, **kwargs)
        answer = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise Unavailable("钉钉接口暂时无法访问，请稍后重试", code="dingtalk_unavailable") from exc
    if not isinstance(answer, dict):
        raise Unavailable("钉钉接口的回答无法识别", code="dingtalk_unavailable")
    return answer
