"""Schemas shared by every resource: the page envelope of lists."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list: its items, the total that match, where it starts, and how to get the next one
    (`next`: this request's URL with the cursor of the following page; null on the last page)."""

    items: list[T]
    total: int
    limit: int
    offset: int
    next_cursor: str | None = None
    next: str | None = None

    @classmethod
    def model_parametrized_name(cls, params: tuple[type[Any], ...]) -> str:
        """`Page[AssignmentPublic]` is called `AssignmentPage` (in OpenAPI and generated clients)."""
        return params[0].__name__.removesuffix("Public") + "Page"
