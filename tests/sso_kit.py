"""What the SSO tests share: accounts of their own (a county, its office, a unit and an admin), settings switched
on and back off, and reading the audit trail as that admin."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlmodel import Session

from app import db as app_db
from app.models.region import RegionCreate, RegionLevel
from app.models.unit import UnitCreate
from app.models.user import Role, UserCreate
from app.services.accounts import regions, users
from app.services.campaign import units
from app.settings import get_settings

PASSWORD = "Sso-Test-2026"  # the password rules: 3 of 4 classes


def make_accounts(tag: str) -> dict[str, object]:
    """A county with an office account, a unit and an audit administrator, all named after tag (unique per run)."""
    suffix = uuid.uuid4().hex[:6]
    with Session(app_db.get_engine(), expire_on_commit=False) as s:
        province = regions.create(s, data=RegionCreate(name=f"测试省{suffix}", level=RegionLevel.province))
        city = regions.create(
            s, data=RegionCreate(name=f"测试市{suffix}", level=RegionLevel.city, parent_id=province.id)
        )
        county = regions.create(
            s, data=RegionCreate(name=f"测试县{suffix}", level=RegionLevel.county, parent_id=city.id)
        )
        unit = units.create_unit(
            s, county_id=county.id, data=UnitCreate(name="县司法局", kind="department"), principal=None
        )
        made = {"county_id": county.id, "unit_id": unit.id, "suffix": suffix}
        for key, role, binding in (
            ("office", Role.office, {"county_id": county.id}),
            ("admin", Role.audit_admin, {}),  # reads the audit trail (三员分立: the audit administrator)
        ):
            name = f"{tag}-{key}-{suffix}"
            users.create(
                s,
                data=UserCreate(username=name, display_name=name, role=role, password=PASSWORD, **binding),
            )
            made[key] = name
        s.commit()
    return made


@contextmanager
def configured(**values: object) -> Iterator[None]:
    """SHIFAN_<NAME> set to each value for the block (None: unset), then the environment as it was."""
    before = {name: os.environ.get(f"SHIFAN_{name.upper()}") for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(f"SHIFAN_{name.upper()}", None)
            else:
                os.environ[f"SHIFAN_{name.upper()}"] = str(value)
        get_settings.cache_clear()
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(f"SHIFAN_{name.upper()}", None)
            else:
                os.environ[f"SHIFAN_{name.upper()}"] = value
        get_settings.cache_clear()


def bearer(client, username: str) -> dict[str, str]:
    """Headers with a password login's token."""
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def audit_entries(client, admin: str, action: str) -> list[dict]:
    """The newest audit entries of action (read as admin: refusals belong to no county)."""
    r = client.get("/api/v1/audit", params={"action": action, "limit": 50}, headers=bearer(client, admin))
    assert r.status_code == 200, r.text
    return r.json()["items"]
