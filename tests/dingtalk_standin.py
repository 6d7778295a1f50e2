"""A stand-in for DingTalk's server API on 127.0.0.1, answering as DingTalk documents it: `GET /gettoken?appkey=
&appsecret=` and `POST /topapi/v2/user/getuserinfo?access_token=` with `{"code": …}`, errors as HTTP 200 with an
errcode other than 0 (40089 bad app credentials, 40014 bad access_token, 40078 unknown authCode)."""

from __future__ import annotations

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class DingTalkStandIn:
    """The server, the codes it will accept (each once) and what it was asked."""

    def __init__(self, app_key: str, app_secret: str) -> None:
        self.app_key, self.app_secret = app_key, app_secret
        self.tokens: set[str] = set()
        self.codes: dict[str, dict[str, str]] = {}
        self.calls: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def issue_code(self, *, userid: str, unionid: str, name: str) -> str:
        """A 免登 authCode for a user, as dd.getAuthCode would hand it to the app."""
        code = secrets.token_hex(16)
        self.codes[code] = {"userid": userid, "unionid": unionid, "name": name}
        return code

    def expire_tokens(self) -> None:
        """Every access token handed out so far stops working (DingTalk's 2 hours are up)."""
        self.tokens.clear()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _answer(self, method: str, path: str, query: dict[str, str], body: dict) -> dict:
        self.calls.append(path)
        if method == "GET" and path == "/gettoken":
            if query.get("appkey") != self.app_key or query.get("appsecret") != self.app_secret:
                return {"errcode": 40089, "errmsg": "不合法的corpid或corpsecret"}
            token = secrets.token_hex(16)
            self.tokens.add(token)
            return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}
        if method == "POST" and path == "/topapi/v2/user/getuserinfo":
            if query.get("access_token") not in self.tokens:
                return {"errcode": 40014, "errmsg": "不合法的access_token"}
            user = self.codes.pop(str(body.get("code")), None)
            if user is None:
                return {"errcode": 40078, "errmsg": "不存在的临时授权码"}
            result = {
                "associated_unionid": "",
                "unionid": user["unionid"],
                "device_id": secrets.token_hex(8),
                "sys": False,
                "name": user["name"],
                "sys_level": 0,
                "userid": user["userid"],
            }
            return {"errcode": 0, "errmsg": "ok", "result": result, "request_id": secrets.token_hex(6)}
        return {"errcode": 404, "errmsg": "请求的URI地址不存在"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}") if length else {}
                data = json.dumps(standin._answer(method, parts.path, query, body), ensure_ascii=False).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json;charset=utf-8")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                self._serve("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._serve("POST")

            def log_message(self, *_args) -> None:
                pass

        return Handler
