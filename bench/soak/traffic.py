"""Mixed traffic from many simulated users (asyncio + httpx, real JWTs from the token endpoint): liaisons
upload through the API and through presigned URLs, send new versions and withdraw; the office reviews;
evaluators score; the province polls GraphQL. Every request and answer goes into the history; a keyed
request that got no answer (timeout, dropped connection) or a 503 is sent again with the same key."""

from __future__ import annotations

import asyncio
import hashlib
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from app.services.demo.samples import one_page_pdf
from bench.soak.history import History, Op

API = "/api/v1"
PASSWORD = "shifan-demo"
PROVINCE_QUERY = """{ counties(first: 50) { totalCount nodes { name campaigns { name
  progress { approvedPct overdue } } } } }"""


@dataclass
class Plan:
    """What the run works on: found or made by setup() before the clock starts."""

    campaign_id: int
    round_id: int
    webhook_id: int
    items: list[int]  # scorable (not veto) items of the campaign's framework
    liaisons: dict[str, list[int]]  # username -> its unit's assignment ids
    office: list[str] = field(default_factory=lambda: ["lc-office"])
    evaluators: list[str] = field(default_factory=lambda: ["evaluator", "evaluator-b"])
    province: list[str] = field(default_factory=lambda: ["sx-province"])


def sample_pdf(nonce: str, rng: random.Random, max_kib: int = 300) -> bytes:
    """A valid one-page PDF, unique by its nonce, from about 1 KiB to max_kib (padding in the content stream)."""
    kib = rng.choice([0, 0, 4, 80, 300])
    pad = b"% " + rng.randbytes(min(kib, max_kib) // 2).hex().encode() * 1024  # a comment line
    return one_page_pdf(b"BT /F1 12 Tf 72 720 Td (soak " + nonce.encode() + b") Tj ET\n" + pad)


class Client:
    """One simulated user: its token, and every call recorded into the history."""

    def __init__(self, http: httpx.AsyncClient, history: History, username: str, timeout: float) -> None:
        self.http, self.history, self.username, self.timeout = http, history, username, timeout
        self.headers: dict[str, str] = {}

    async def login(self) -> None:
        for _ in range(30):
            op = await self.call(
                "login", "POST", f"{API}/auth/token", data={"username": self.username, "password": PASSWORD}, auth=False
            )
            if op.status == 200:
                self.headers = {"Authorization": f"Bearer {op.facts['body']['access_token']}"}
                return
            await asyncio.sleep(1)
        raise RuntimeError(f"{self.username} could not log in")

    async def call(
        self, kind: str, method: str, url: str, *, write: bool = False, key: bool = False, auth: bool = True,
        facts: dict[str, Any] | None = None, retries: int = 4, **kwargs: Any,
    ) -> Op:  # fmt: skip
        """Send one request (again with the same Idempotency-Key after no answer or a 503); the last Op."""
        headers = dict(self.headers if auth else {})
        idem = uuid.uuid4().hex if key else None
        if idem:
            headers["Idempotency-Key"] = idem
        for attempt in range(1, retries + 2):
            op = Op(kind=kind, user=self.username, method=method, path=url.split("?")[0], started=self.history.now(),
                    attempt=attempt, idempotency_key=idem, write=write, facts=dict(facts or {}))  # fmt: skip
            self.history.ops.append(op)
            try:
                r = await self.http.request(method, url, headers=headers, timeout=self.timeout, **kwargs)
            except httpx.HTTPError as exc:
                op.ended, op.error = self.history.now(), type(exc).__name__
            else:
                op.ended, op.status = self.history.now(), r.status_code
                op.replayed = r.headers.get("idempotent-replayed") == "true"
                if r.headers.get("content-type", "").startswith("application/problem+json"):
                    op.problem = True
                    op.code = _code(r)
                elif r.headers.get("content-type", "").startswith("application/json") and r.status_code < 300:
                    op.facts["body"] = r.json()
            if not (idem and (op.status is None or op.status == 503)) or attempt > retries:
                return op
            await asyncio.sleep(0.5 * attempt)
        return op


def _code(r: httpx.Response) -> str | None:
    try:
        return r.json().get("code")
    except ValueError:
        return None


def _slim(detail: dict[str, Any]) -> dict[str, Any]:
    """What the checker needs of an evidence answer (the history stays small)."""
    current = detail.get("current") or {}
    return {"evidence_id": detail["id"], "version": detail["current_version"], "status": detail["status"],
            "answer_sha256": current.get("sha256"), "answer_size": current.get("size")}  # fmt: skip


class Liaison:
    """A unit's liaison: uploads (API and direct), statements, new versions and withdrawals."""

    def __init__(
        self, c: Client, assignments: list[int], rng: random.Random, s3: httpx.AsyncClient, max_kib: int
    ) -> None:
        self.c, self.assignments, self.rng, self.s3, self.max_kib = c, assignments, rng, s3, max_kib
        self.mine: dict[int, int] = {}  # evidence id -> current version as last answered

    def _remember(self, op: Op) -> None:
        body = op.facts.pop("body", None)
        if op.status in (200, 201) and body:
            op.facts.update(_slim(body))
            self.mine[body["id"]] = body["current_version"]

    async def step(self) -> None:
        roll = self.rng.random()
        if roll < 0.25:
            await self.upload_api()
        elif roll < 0.45:
            await self.upload_direct()
        elif roll < 0.55:
            await self.statement()
        elif roll < 0.8 and self.mine:
            await self.new_version()
        elif roll < 0.9 and self.mine:
            await self.withdraw()
        else:
            await self.c.call("todo", "GET", f"{API}/me/assignments", params={"limit": 50})

    def _file(self) -> tuple[str, bytes]:
        nonce = uuid.uuid4().hex
        return nonce, sample_pdf(nonce, self.rng, self.max_kib)

    async def upload_api(self, evidence_id: int | None = None) -> None:
        nonce, data = self._file()
        facts = {"nonce": nonce, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        if evidence_id is None:
            url, kind = f"{API}/assignments/{self.rng.choice(self.assignments)}/evidence/file", "upload_api"
        else:
            url, kind = f"{API}/evidence/{evidence_id}/versions/file", "version_api"
        files = {"file": (f"材料-{nonce[:8]}.pdf", data, "application/pdf")}
        # multipart uploads take no Idempotency-Key (the direct upload is the retryable path): sent once
        op = await self.c.call(
            kind, "POST", url, write=True, facts=facts, retries=0, files=files, data={"title": f"soak {nonce}"}
        )
        self._remember(op)

    async def upload_direct(self, evidence_id: int | None = None) -> None:
        nonce, data = self._file()
        sha = hashlib.sha256(data).hexdigest()
        facts = {"nonce": nonce, "sha256": sha, "size": len(data)}
        body = {"filename": f"直传-{nonce[:8]}.pdf", "size": len(data), "sha256": sha, "title": f"soak {nonce}"}
        if evidence_id is None:
            url, kind = f"{API}/assignments/{self.rng.choice(self.assignments)}/evidence/uploads", "upload_direct"
        else:
            url, kind = f"{API}/evidence/{evidence_id}/uploads", "version_direct"
        intent = await self.c.call(f"{kind}_intent", "POST", url, write=False, key=True, json=body)
        got = intent.facts.pop("body", None)
        if intent.status != 201 or not got:
            return
        for attempt in range(6):  # straight to the S3 server, as a phone would: retried while it is away
            put = Op(
                kind="s3_put",
                user=self.c.username,
                method="PUT",
                path="(presigned)",
                started=self.c.history.now(),
                attempt=attempt + 1,
            )
            self.c.history.ops.append(put)
            try:
                r = await self.s3.put(got["upload_url"], content=data, headers=got["headers"], timeout=self.c.timeout)
                put.status = r.status_code
            except httpx.HTTPError as exc:
                put.error = type(exc).__name__
            put.ended = self.c.history.now()
            if put.status == 200:
                break
            await asyncio.sleep(1 + attempt)
        else:
            return
        op = await self.c.call(kind, "POST", f"{API}/uploads/{got['id']}/complete", write=True, key=True, facts=facts)
        self._remember(op)

    async def statement(self) -> None:
        nonce = uuid.uuid4().hex
        body = {"kind": "statement", "text": f"情况说明 soak {nonce}", "title": f"soak {nonce}"}
        url = f"{API}/assignments/{self.rng.choice(self.assignments)}/evidence"
        op = await self.c.call("statement", "POST", url, write=True, key=True, facts={"nonce": nonce}, json=body)
        self._remember(op)

    async def new_version(self) -> None:
        evidence_id = self.rng.choice(list(self.mine))
        roll = self.rng.random()
        if roll < 0.4:
            await self.upload_api(evidence_id)
        elif roll < 0.7:
            await self.upload_direct(evidence_id)
        else:
            nonce = uuid.uuid4().hex
            body = {"kind": "statement", "text": f"补充说明 soak {nonce}"}
            url = f"{API}/evidence/{evidence_id}/versions"
            op = await self.c.call(
                "version_statement", "POST", url, write=True, key=True, facts={"nonce": nonce}, json=body
            )
            self._remember(op)

    async def withdraw(self) -> None:
        evidence_id = self.rng.choice(list(self.mine))
        number = self.mine[evidence_id]
        url = f"{API}/evidence/{evidence_id}/versions/{number}/withdraw"
        facts = {"evidence_id": evidence_id, "withdrawn": number}
        op = await self.c.call("withdraw", "POST", url, write=True, key=True, facts=facts)
        body = op.facts.pop("body", None)
        if op.status == 200 and body:
            self.mine[evidence_id] = body["current_version"]


class Office:
    """The county office: reads a submitted piece of evidence and approves or returns the version it read."""

    def __init__(self, c: Client, plan: Plan, rng: random.Random) -> None:
        self.c, self.plan, self.rng = c, plan, rng

    async def step(self) -> None:
        url = f"{API}/campaigns/{self.plan.campaign_id}/evidence"
        listed = await self.c.call("review_list", "GET", url, params={"status": "submitted", "limit": 50})
        items = (listed.facts.pop("body", None) or {}).get("items") or []
        if not items:
            return
        picked = self.rng.choice(items)
        read = await self.c.call("review_read", "GET", f"{API}/evidence/{picked['id']}")
        detail = read.facts.pop("body", None)
        if not detail or detail["status"] != "submitted" or not detail.get("current"):
            return
        nonce = uuid.uuid4().hex
        decision = "approve" if self.rng.random() < 0.6 else "return"
        version = detail["current_version"]
        facts = {"nonce": nonce, "evidence_id": detail["id"], "version": version, "decision": decision,
                 "read_sha256": detail["current"].get("sha256"), "read_size": detail["current"].get("size"),
                 "read_text": detail["current"].get("text")}  # fmt: skip
        body = {"decision": decision, "version": version, "comment": f"soak {nonce}"}
        op = await self.c.call(
            "review", "POST", f"{API}/evidence/{detail['id']}/reviews", write=True, key=True, facts=facts, json=body
        )
        op.facts.pop("body", None)


class Evaluator:
    """A third-party evaluator recording scores (0 points, which every scorable item accepts)."""

    def __init__(self, c: Client, plan: Plan, rng: random.Random) -> None:
        self.c, self.plan, self.rng = c, plan, rng

    async def step(self) -> None:
        nonce = uuid.uuid4().hex
        items = self.rng.sample(self.plan.items, k=min(3, len(self.plan.items)))
        body = {"scores": [{"item_id": i, "points": 0, "comment": f"soak {nonce}"} for i in items]}
        url = f"{API}/rounds/{self.plan.round_id}/scores"
        op = await self.c.call(
            "score", "POST", url, write=True, key=True, facts={"nonce": nonce, "count": len(items)}, json=body
        )
        op.facts.pop("body", None)


class Province:
    """The province polling its region's overview over GraphQL."""

    def __init__(self, c: Client) -> None:
        self.c = c

    async def step(self) -> None:
        op = await self.c.call("graphql", "POST", "/graphql", json={"query": PROVINCE_QUERY})
        body = op.facts.pop("body", None)
        if op.status == 200 and body and body.get("errors"):
            op.code = "graphql_errors"
            op.facts["errors"] = [e.get("extensions", {}).get("code") or e.get("message") for e in body["errors"]][:3]


async def run_users(
    base_url: str,
    history: History,
    plan: Plan,
    *,
    seconds: float,
    per_liaison: int,
    timeout: float,
    max_file_kib: int = 300,
    seed: int = 19,
) -> None:
    """Every simulated user, stepping with a short think time until the time is up."""
    # idle connections are dropped before uvicorn's 5 s keep-alive closes them: otherwise a request sent on a
    # connection the server is closing at that moment gets no answer (a race of HTTP/1.1, not of the app)
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50, keepalive_expiry=2.0)
    async with (
        httpx.AsyncClient(base_url=base_url, limits=limits) as http,
        httpx.AsyncClient(limits=limits) as s3,
    ):
        actors: list[Any] = []
        master = random.Random(seed)

        def client(name: str) -> Client:
            return Client(http, history, name, timeout)

        for name, assignments in plan.liaisons.items():
            actors += [
                Liaison(client(name), assignments, random.Random(master.random()), s3, max_file_kib)
                for _ in range(per_liaison)
            ]
        actors += [Office(client(n), plan, random.Random(master.random())) for n in plan.office * 2]
        actors += [Evaluator(client(n), plan, random.Random(master.random())) for n in plan.evaluators]
        actors += [Province(client(n)) for n in plan.province]
        await asyncio.gather(*(a.c.login() for a in actors))
        stop_at = history.now() + seconds

        async def loop(actor: Any, rng: random.Random) -> None:
            while history.now() < stop_at:
                await actor.step()
                await asyncio.sleep(rng.uniform(0.1, 0.6))

        await asyncio.gather(*(loop(a, random.Random(master.random())) for a in actors))
