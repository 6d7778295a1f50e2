"""A tenancy rule changed at run time, as the hot-read guards use it: the fast paths must follow app/services/access.py
(looked up at each call), never a copy of the rules compiled earlier."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import ColumnElement, false

from app.services import access
from app.services.access import Principal


def swap_rules(monkeypatch: pytest.MonkeyPatch, ids: dict[str, Any]) -> None:
    """From now on 陵川's office sees 高平 and not its own county, and a liaison sees every unit of its county."""
    original_county, original_unit = access.county_scope, access.unit_scope

    def county_swapped(principal: Principal, county_column: ColumnElement[int]) -> ColumnElement[bool]:
        if principal.role == access.Role.office and principal.county_id == ids["lc_county"]:
            return county_column == ids["gp_county"]
        return original_county(principal, county_column)

    def every_unit(principal: Principal, unit_column: ColumnElement[int]) -> ColumnElement[bool]:
        return original_unit(principal, unit_column) if principal.role != access.Role.liaison else ~false()

    monkeypatch.setattr(access, "county_scope", county_swapped)
    monkeypatch.setattr(access, "unit_scope", every_unit)
