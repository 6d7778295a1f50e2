"""Schemas shared by every resource: the page envelope of lists."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list: its items, the total that match, and where it starts."""

    items: list[T]
    total: int
    limit: int
    offset: int
