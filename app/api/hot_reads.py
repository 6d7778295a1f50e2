"""The busiest reads answered on the event loop (issue 28): a liaison's to-do list, the office's assignment ledger
and evidence detail.

For a GET to one of these routes this layer does what FastAPI would do — finds the route, validates its path and
query parameters with FastAPI's own validation of what the route declares, takes the bearer token and checks it and
the route's duty as the route's dependency does — and then calls the route's own endpoint, whose reader runs the
read on the loop (app/loop_reads.py): no dependency solving per request and no worker-thread hop. The endpoint, the
caller's check, the tenancy conditions and the compiled statements are the ones the general path runs.

Whatever this layer does not answer itself goes on to the app untouched and is answered the general way: a
parameter FastAPI would refuse, a dependency a test overrides, a refusal or error of any kind (the general path
raises it again, as problem+json), a read that needs more than compiled statements (app/loop_reads.NotOnLoop), and
every request on SQLite. So every answer that is not a 200 comes from the general path, and a 200 is the same bytes
(tests/test_hot_reads_loop.py). The layer sits inside RequestMiddleware: the request id, access log, metrics, CORS
and security headers apply to its answers as to any other."""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.utils import request_params_to_args
from fastapi.responses import Response
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.requests import Request
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from app import loop_reads
from app.api import deps
from app.api.routes import campaigns, evidence, me
from app.observability import HOT_READS

log = logging.getLogger("shifan.hot_reads")
_ON_LOOP, _GENERAL = HOT_READS.labels("loop"), HOT_READS.labels("general")

# The routes answered here: endpoints whose parameters are path and query parameters and the dependencies below.
HOT: tuple[Callable[..., Any], ...] = (me.list_my_assignments, campaigns.list_assignments, evidence.read_evidence)


class LoopReader(deps.Reader):
    """A route's reader (deps.ReadDep) that runs the read on the event loop (app/loop_reads.py)."""

    async def __call__(self, work: Callable[..., Any]) -> Response:
        body = await loop_reads.run(lambda session: self.answer(session, work))
        return Response(body, media_type="application/json")


@dataclass(frozen=True)
class _Hot:
    matched: APIRoute  # the route as declared: what the general path puts in the scope
    dependant: Any  # the route's dependencies as included in the app: with those the inclusion adds
    endpoint: Callable[..., Any]
    pattern: re.Pattern[str]
    dependencies: tuple[tuple[str, Any], ...]  # (argument name, dependency function) of the endpoint
    calls: frozenset[Any]  # every function in the endpoint's dependency tree (an override of one: the general way)
    _validated: dict[tuple[str, str | bytes], dict[str, Any] | None] = field(default_factory=dict, compare=False)

    def validated(self, what: str, fields: Any, given: Any, raw: str | bytes) -> dict[str, Any] | None:
        """The values of fields (this route's path, query or page parameters: what) as FastAPI validates them from
        given, None where it would refuse them; kept per raw path or query string (a client asks for the same page
        shape again and again, and FastAPI's validation is a pure function of it costing more than the rest of the
        request's Python)."""
        key = (what, raw)
        found = self._validated.get(key, self._validated)
        if found is self._validated:
            values, errors = request_params_to_args(fields, given)
            found = None if errors else values
            if len(raw) <= _KEPT_LENGTH:  # a long one is validated each time: what is kept stays small
                if len(self._validated) >= _VALIDATED_MAX:
                    self._validated.clear()
                self._validated[key] = found
        return found


_VALIDATED_MAX = 4096  # path and query strings of one route; cleared when full (simpler than an LRU)
_KEPT_LENGTH = 256  # the longest path or query string kept (at most ~1 MB a route)


async def _reader(request: Request, _hot: _Hot) -> deps.Reader:
    token = await deps._bearer(request)
    return LoopReader((await deps._reader(request, token)).claims)


async def _page(request: Request, hot: _Hot) -> deps.PageParams | None:
    dependant = next(d for d in hot.dependant.dependencies if d.call is deps._page)
    values = hot.validated("page", dependant.query_params, request.query_params, request.scope["query_string"])
    return None if values is None else await deps._page(request, **values)


# How this layer provides each dependency a hot endpoint takes (the same functions FastAPI would call)
_PROVIDERS: dict[Any, Callable[[Request, _Hot], Any]] = {deps._reader: _reader, deps._page: _page}


class HotReads:
    """ASGI middleware: answers a plain GET of a HOT route on the loop, passes everything else on."""

    def __init__(self, app: ASGIApp, *, api: FastAPI) -> None:
        self.app = app
        self.api = api
        self._hot: list[_Hot] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and loop_reads.available():
            response = await self._answer(scope)
            if response is not None:
                _ON_LOOP.inc()
                await response(scope, receive, send)
                return
            if "route" in scope:  # a hot route, answered the general way
                _GENERAL.inc()
        await self.app(scope, receive, send)

    def hot(self) -> list[_Hot]:
        """The HOT routes as the app has them, each taken only where no route before it matches its paths."""
        if self._hot is None:
            self._hot = _hot_routes(self.api)
        return self._hot

    async def _answer(self, scope: Scope) -> Response | None:
        path = scope["path"]
        for hot in self.hot():
            found = hot.pattern.match(path)
            if found is not None:
                break
        else:
            return None
        if self.api.dependency_overrides.keys() & hot.calls - {deps._today}:
            return None  # a test's override: FastAPI applies it
        scope["route"], scope["path_params"] = hot.matched, found.groupdict()
        request = Request(scope)
        try:
            kwargs = await self._arguments(request, hot)
            return None if kwargs is None else await hot.endpoint(**kwargs)
        except Exception:  # noqa: BLE001 - a refusal, an error, NotOnLoop: the general path answers (raises it again)
            return None

    async def _arguments(self, request: Request, hot: _Hot) -> dict[str, Any] | None:
        """The endpoint's arguments, or None where FastAPI would refuse or convert something this layer does not."""
        dependant = hot.dependant
        path = hot.validated("path", dependant.path_params, request.path_params, request.scope["path"])
        query = hot.validated("query", dependant.query_params, request.query_params, request.scope["query_string"])
        if path is None or query is None:
            return None
        kwargs = {**path, **query}
        for name, call in hot.dependencies:
            value = await (_today(self.api) if call is deps._today else _PROVIDERS[call](request, hot))
            if value is None:
                return None
            kwargs[name] = value
        return kwargs


async def _today(api: FastAPI) -> date | None:
    """The day overdue is judged against: today, or what an override without parameters gives (a test's or a
    report's pinned day, deps.Today); None (the general way) for an override that takes parameters."""
    pinned = api.dependency_overrides.get(deps._today)
    if pinned is None:
        return date.today()
    if inspect.signature(pinned).parameters:
        return None
    value = pinned()
    return await value if inspect.isawaitable(value) else value


def _hot_routes(api: FastAPI) -> list[_Hot]:
    contexts = [c for c in iter_route_contexts(api.router.routes) if isinstance(c.original_route, APIRoute)]
    found = []
    for context in contexts:
        if context.endpoint not in HOT or "GET" not in (context.methods or ()):
            continue
        dependant = context.dependant  # as included: with the dependencies an inclusion adds
        dependencies = tuple((d.name, d.call) for d in dependant.dependencies)
        calls = frozenset(_calls(dependant))
        if calls - _PROVIDED or any(call not in _PROVIDERS and call is not deps._today for _, call in dependencies):
            log.warning("%s takes a dependency the hot path does not provide: answered the general way", context.path)
            continue
        pattern = compile_path(context.path)[0]
        probe = re.sub(r"\{[^}]+\}", "1", context.path)
        earlier = [
            c for c in contexts[: contexts.index(context)]
            if "GET" in (c.methods or ()) and compile_path(c.path)[0].match(probe)
        ]  # fmt: skip
        if earlier:
            log.warning("%s is matched by %s first: answered the general way", context.path, earlier[0].path)
            continue
        found.append(_Hot(context.original_route, dependant, context.endpoint, pattern, dependencies, calls))
    return found


# Every function a hot endpoint's dependencies may call: the providers above, the day, and the bearer token the
# reader's dependency takes (HotReads reads it through the same deps._bearer)
_PROVIDED = frozenset({*_PROVIDERS, deps._today, deps._bearer})


def _calls(dependant: Any) -> list[Any]:
    found = []
    for sub in dependant.dependencies:
        found += [sub.call, *_calls(sub)]
    return found
