"""Relay cursor connections: edges with opaque cursors, pageInfo, first/after, a hard page-size maximum."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import strawberry

from app.services.errors import Invalid

T = TypeVar("T")

DEFAULT_PAGE = 20
MAX_PAGE = 100
_PREFIX = "offset:"


@strawberry.type(description="Relay 分页信息")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    total_count: int

    @strawberry.field(description="本页的对象（不需要游标时使用）")
    def nodes(self) -> list[T]:
        return [e.node for e in self.edges]


@dataclass(frozen=True)
class Page:
    """Where a page starts and how long it is, read from Relay's first/after."""

    offset: int
    limit: int


def cursor_at(offset: int) -> str:
    """The opaque cursor of the row at offset."""
    return base64.urlsafe_b64encode(f"{_PREFIX}{offset}".encode()).decode()


def page(first: int | None, after: str | None) -> Page:
    """The page asked for; Invalid when first is out of range or the cursor is not one of ours."""
    limit = DEFAULT_PAGE if first is None else first
    if not 0 <= limit <= MAX_PAGE:
        raise Invalid(f"每页最多 {MAX_PAGE} 条（first 取 0–{MAX_PAGE}）", code="page_too_large")
    if after is None:
        return Page(offset=0, limit=limit)
    try:
        text = base64.urlsafe_b64decode(after.encode()).decode()
        if not text.startswith(_PREFIX):
            raise ValueError(text)
        return Page(offset=int(text.removeprefix(_PREFIX)) + 1, limit=limit)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise Invalid("分页游标无效，请使用上一页返回的 endCursor", code="cursor_invalid") from exc


def connection(nodes: Sequence[T], *, at: Page, total: int) -> Connection[T]:
    """A connection of one page of nodes that starts at `at.offset` of `total`."""
    edges = [Edge(cursor=cursor_at(at.offset + i), node=n) for i, n in enumerate(nodes)]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=at.offset + len(nodes) < total,
            has_previous_page=at.offset > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total_count=total,
    )
