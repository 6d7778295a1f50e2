"""The locks (`make lock`) agree with pyproject.toml and with each other: requirements.lock, which the offline
bundle ships, pins every runtime requirement at a version pyproject.toml allows, with hashes, and at the very
version requirements-dev.lock (what the tests run on) pins — so the bundle installs what was tested."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _pins(name: str) -> dict[str, tuple[Version, int]]:
    """Each locked package: its version and how many hashes it carries."""
    text = (ROOT / name).read_text(encoding="utf-8")
    blocks = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)((?: \\\n\s+--hash=sha256:[0-9a-f]{64})*)", text, re.M)
    return {canonicalize_name(n): (Version(v), hashes.count("--hash=")) for n, v, hashes in blocks}


def _requirements(extra: str | None = None) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    listed = project["optional-dependencies"][extra] if extra else project["dependencies"]
    return [Requirement(r) for r in listed]


def test_every_pin_carries_hashes() -> None:
    for name in ("requirements.lock", "requirements-dev.lock"):
        pins = _pins(name)
        assert len(pins) > 20, name
        assert all(count >= 1 for _, count in pins.values()), [p for p, (_, c) in pins.items() if not c]


def test_the_locks_hold_what_pyproject_asks_for() -> None:
    runtime, dev = _pins("requirements.lock"), _pins("requirements-dev.lock")
    for lock, requirements in ((runtime, _requirements()), (dev, _requirements() + _requirements("dev"))):
        for req in requirements:
            name = canonicalize_name(req.name)
            assert name in lock, f"{req.name} is not locked: run make lock"
            assert req.specifier.contains(lock[name][0], prereleases=True), f"{req} but {lock[name][0]} locked"
    assert "pytest" not in runtime and "uv" not in runtime  # the bundle ships no test or build tools


def test_the_bundle_ships_the_versions_the_tests_ran_on() -> None:
    runtime, dev = _pins("requirements.lock"), _pins("requirements-dev.lock")
    tested = {name: version for name, (version, _) in dev.items()}
    differ = {name: (v, tested.get(name)) for name, (v, _) in runtime.items() if tested.get(name) != v}
    assert not differ, f"requirements.lock and requirements-dev.lock disagree (run make lock): {differ}"
