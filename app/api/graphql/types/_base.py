"""What every type module shares: the resolver's Info, building a type from a service's public model."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeAlias, TypeVar

import strawberry

from app.api.graphql.context import Context
from app.api.graphql.types import enums  # noqa: F401 - registers the enums before any type uses them

T = TypeVar("T")

Info: TypeAlias = strawberry.Info[Context, None]


def from_obj(cls: type[T], obj: Any, **override: Any) -> T:
    """An instance of the strawberry type cls with its plain fields read off obj (override wins)."""
    names = [f.name for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]
    return cls(**{n: override[n] if n in override else getattr(obj, n) for n in names})
