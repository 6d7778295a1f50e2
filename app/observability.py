"""Operations: Prometheus metrics (requests and latency by route, evidence bytes, outbox backlog) and
structured JSON logs carrying the request id that the response's X-Request-ID header and the audit
trail carry too."""

from __future__ import annotations

import json
import logging
import logging.config
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import Scope

from app.services.platform.audit import request_id

REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "shifan_http_requests", "HTTP requests by route template and status", ["method", "route", "status"],
    registry=REGISTRY,
)  # fmt: skip
LATENCY = Histogram(
    "shifan_http_request_duration_seconds", "Time to the end of the response, by route template", ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120), registry=REGISTRY,
)  # fmt: skip
UPLOAD_BYTES = Counter(
    "shifan_evidence_upload_bytes", "Evidence bytes stored, by way in (api: streamed; direct: presigned PUT)",
    ["path"], registry=REGISTRY,
)  # fmt: skip

# The busiest reads (app/api/hot_reads.py): answered on the event loop, or passed on to the general path (a refusal,
# an error, a read needing more than compiled statements, SQLite) — a rising "general" share is worth a look
HOT_READS = Counter(
    "shifan_hot_reads", "Reads of the busiest routes by where they were answered (loop, general)", ["path"],
    registry=REGISTRY,
)  # fmt: skip

access_log = logging.getLogger("shifan.access")


class OutboxBacklog(Collector):
    """Webhook deliveries waiting (pending) or given up (dead), read from the database at scrape time, so
    every instance reports the same shared backlog."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from sqlalchemy import func
        from sqlmodel import select

        from app.db import session_scope
        from app.models import Delivery

        gauge = GaugeMetricFamily("shifan_outbox_backlog", "Webhook deliveries by status", labels=["status"])
        try:
            with session_scope() as session:
                counts = dict(session.exec(select(Delivery.status, func.count()).group_by(Delivery.status)).all())
        except Exception:  # noqa: BLE001 - a scrape must not fail because the database is away
            logging.getLogger("shifan").warning("outbox backlog not readable", exc_info=True)
            return
        for status in ("pending", "dead"):
            gauge.add_metric([status], counts.get(status, 0))
        yield gauge


REGISTRY.register(OutboxBacklog())


def route_template(scope: Scope) -> str:
    """The matched route as a template with the router prefix, e.g. /api/v1/campaigns/{campaign_id}
    (label values stay bounded whatever ids are requested); "unmatched" for a 404 on no route."""
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    if template is None:
        return "unmatched"
    try:  # the route knows its path below the router's prefix; the prefix is what the request path adds
        tail = template.format(**scope.get("path_params", {}))
    except (KeyError, IndexError, ValueError):
        return template
    path = scope["path"]
    return path[: len(path) - len(tail)] + template if path.endswith(tail) else template


def observe(method: str, route: str, status: int, seconds: float) -> None:
    """Count one finished request and its latency (scrapes of /metrics itself are left out)."""
    if route != "/metrics":
        REQUESTS.labels(method, route, str(status)).inc()
        LATENCY.labels(method, route).observe(seconds)


_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object per line: time, level, logger, message, request id, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = request_id.get()
        if rid:
            entry["request_id"] = rid
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": JsonFormatter}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
    "loggers": {
        "shifan": {"level": "INFO"},
        "uvicorn": {"level": "INFO"},
        "uvicorn.access": {"level": "WARNING"},  # replaced by shifan.access, which has the request id
    },
    "root": {"handlers": ["stdout"], "level": "WARNING"},
}


def configure_logging() -> None:
    """JSON lines on stdout for the service's and uvicorn's loggers."""
    logging.config.dictConfig(LOGGING)
