"""Installs without internet (issue 24, point 3): the bundle `make bundle` builds is unpacked and, inside network
namespaces with no network (`unshare -n`, loopback only), installed with its install.sh into a temporary prefix,
then migrated, started with `shifan demo --serve`, logged in to and uploaded to (tests/offline_install_kit.py
does the part inside). Once on a SQLite file, once on a private PostgreSQL cluster started inside the namespace;
the objects go to a local folder.

Building the bundle needs the package index the first time for a lock (the runtime wheels are then cached by the
lock's hash under ~/.cache/shifan-bundle) and installing takes a minute, so this module is its own step, `make
bundle-test` (CI runs it after `make test`), which covers both databases in one run; in `make test` it is
skipped with that reason."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.pg_cluster import bin_dir

ROOT = Path(__file__).resolve().parents[1]
KIT = Path(__file__).with_name("offline_install_kit.py")
NO_NETWORK = ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]

pytestmark = pytest.mark.skipif(
    os.environ.get("SHIFAN_OFFLINE_INSTALL_TEST") != "1", reason="its own step: make bundle-test (CI runs it)"
)


def _needs(condition: bool, what: str) -> None:
    if not condition:
        if IN_CI:
            pytest.fail(f"{what} (required in CI; .ci/run installs it)")
        pytest.skip(what)


def _inside_no_network(*args: str, cwd: Path) -> dict:
    """Run the kit in a new network namespace; what it reports, after checking nothing outside was reachable."""
    done = subprocess.run(
        [*NO_NETWORK, sys.executable, str(KIT), *args], capture_output=True, text=True, cwd=cwd, timeout=900
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"\noffline {args[0]} {' '.join(args[3:])}: {json.dumps(result, ensure_ascii=False)}")
    # nothing outside the namespace could be reached, neither by address nor by name
    assert result["outside"]["connect"].startswith("refused"), result["outside"]
    assert result["outside"]["resolve"].startswith("refused"), result["outside"]
    return result


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """The bundle, built as `make bundle` builds it, unpacked: shifan-offline-<version>/."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "bundle.py"), "--out", str(out)], check=True, timeout=1200)
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    unpacked = tmp_path_factory.mktemp("unpacked")
    with tarfile.open(out / f"shifan-offline-{version}.tar.gz") as tar:
        tar.extractall(unpacked, filter="data")
    folder = unpacked / f"shifan-offline-{version}"
    assert sorted(p.name for p in folder.iterdir()) == ["install.sh", "requirements.lock", "wheels"]
    return folder


@pytest.fixture(scope="module")
def prefix(bundle, tmp_path_factory) -> Path:
    """The bundle installed with install.sh inside a namespace with no network."""
    _needs(os.geteuid() == 0, "unshare -n needs root")
    _needs(bool(shutil.which("unshare") and shutil.which("ip")), "unshare and ip (util-linux, iproute2)")
    where = tmp_path_factory.mktemp("opt") / "shifan"
    result = _inside_no_network("install", str(bundle), str(where), cwd=where.parent)
    assert result["install_rc"] == 0, result.get("install_output")
    return where


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_the_installed_bundle_serves_with_no_network(prefix, database, tmp_path) -> None:
    if database == "postgresql":
        _needs(bin_dir() is not None, "PostgreSQL server binaries (initdb, pg_ctl)")
    work = tmp_path / "office"
    work.mkdir()
    result = _inside_no_network("serve", str(prefix), str(work), database, cwd=work)
    # the installed package runs, not the checkout's
    assert result["app_file"].startswith(str(prefix)), result["app_file"]
    assert result["migrate_rc"] == 0, result.get("migrate_output")
    assert result["ready_seconds"] is not None, result.get("server_log")
    assert result["login_status"] == 200, result.get("login_body")
    assert result["upload_status"] == 201, result.get("upload_body")
    assert result["upload_title"] == "离线安装验证照片"
    assert result["download_status"] == 200 and result["download_matches"] is True
    # what it wrote stayed in its working folder: the uploaded file and the demo's sample files
    assert result["stored_objects"] >= 1
    assert (work / "shifan.db").is_file() == (database == "sqlite")
