"""Build the offline bundle (make bundle): dist/shifan-offline-<version>.tar.gz, which unpacks to
shifan-offline-<version>/ holding wheels/ (every runtime package for manylinux x86_64 / CPython 3.11 and the
project's own wheel), requirements.lock and install.sh. Needs the package index (PyPI or the mirror pip is set
up with); the machine that installs it needs nothing but Python 3.11.

The runtime wheels are the locked files, checked against requirements.lock's hashes as they are downloaded, and
kept in a cache keyed by the lock's SHA-256 (~/.cache/shifan-bundle, or SHIFAN_BUNDLE_CACHE), so a second
bundle of the same lock downloads nothing. A package published only as source is built into a wheel here; the
bundle's copy of requirements.lock adds that wheel's hash (and the project's), so install.sh installs every file
with --require-hashes."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
INSTALLER = ROOT / "deploy" / "offline-install.sh"
# what the project's wheel is built from (setup.py copies alembic.ini, migrations/ and data/ into it)
PROJECT_FILES = ("pyproject.toml", "setup.py", "alembic.ini", "app", "migrations", "data")
# Published as source only (no wheel on PyPI): built into a wheel here. A locked package missing from this list
# that has no wheel makes `pip download` fail naming it; add it here then.
SOURCE_ONLY = ("jieba",)
# The oldest Linux the bundle runs on is set by the newest manylinux tag accepted: glibc 2.28 (Debian 10,
# RHEL/CentOS 8, openEuler, Kylin V10, UOS 20). pip takes each tag literally, so every older one is named too.
PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(28, 4, -1)] + [
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
]
TARGET = ["--python-version", "3.11", "--implementation", "cp", "--abi", "cp311"]


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args], check=True)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def lock_blocks(text: str) -> dict[str, str]:
    """Each locked package's block (the `name==version` line and its hashes), keyed by its normalised name."""
    blocks = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*==\S+(?: \\\n\s+--hash=sha256:[0-9a-f]{64})+)", text, re.M)
    return {re.split("==", b, maxsplit=1)[0].lower().replace("_", "-").replace(".", "-"): b for b in blocks}


def runtime_wheels(lock_text: str, cache_root: Path) -> tuple[Path, dict[str, str]]:
    """The folder of every locked runtime wheel, from the cache or downloaded (and built) into it; with the
    hashes of the wheels built here, by package name."""
    key = hashlib.sha256(lock_text.encode()).hexdigest()[:16]
    ready = cache_root / key
    if (ready / "built.json").is_file():
        print(f"bundle: runtime wheels from the cache {ready}")
        return ready / "wheels", json.loads((ready / "built.json").read_text())
    cache_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{key}.", dir=cache_root))
    blocks = lock_blocks(lock_text)
    unknown = set(SOURCE_ONLY) - set(blocks)
    if unknown:
        raise SystemExit(f"bundle: SOURCE_ONLY names packages requirements.lock does not hold: {sorted(unknown)}")
    binary = work / "binary.txt"
    binary.write_text("\n".join(b for name, b in blocks.items() if name not in SOURCE_ONLY) + "\n")
    source = work / "source.txt"
    source.write_text("\n".join(blocks[name] for name in SOURCE_ONLY) + "\n")
    wheels = work / "wheels"
    print(f"bundle: downloading {len(blocks) - len(SOURCE_ONLY)} runtime wheels (hash-checked)")
    platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
    pip("download", "--quiet", "--no-deps", "--only-binary=:all:", "--require-hashes", *platforms, *TARGET,
        "-r", str(binary), "-d", str(wheels))  # fmt: skip
    before = set(wheels.iterdir())
    print(f"bundle: building wheels of {', '.join(SOURCE_ONLY)} from their (hash-checked) source")
    pip("wheel", "--quiet", "--no-deps", "--no-binary=:all:", "--require-hashes", "-r", str(source), "-w", str(wheels))
    built = {}
    for path in set(wheels.iterdir()) - before:
        name = path.name.split("-")[0].lower().replace("_", "-")
        if not path.name.endswith("-py3-none-any.whl"):  # a compiled one would fit only the machine it was built on
            raise SystemExit(f"bundle: {path.name} built from source is not a pure-Python wheel")
        built[name] = sha256(path)
    (work / "built.json").write_text(json.dumps(built, indent=1, sort_keys=True))
    try:
        work.rename(ready)
    except OSError:  # another build filled the same cache entry meanwhile: both hold the same locked files
        shutil.rmtree(work)
    return ready / "wheels", built


def project_wheel(into: Path) -> Path:
    """The project's own wheel, built from a copy of its files (a build in the checkout would leave build/ and
    *.egg-info behind)."""
    with tempfile.TemporaryDirectory(prefix="shifan-wheel-") as tmp:
        source = Path(tmp) / "shifan"
        source.mkdir()
        for name in PROJECT_FILES:
            if (ROOT / name).is_dir():
                shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(ROOT / name, source / name)
        before = set(into.iterdir())
        pip("wheel", "--quiet", "--no-deps", "-w", str(into), str(source))
        (made,) = set(into.iterdir()) - before
        return made


def bundle_lock(lock_text: str, built: dict[str, str], project: Path, version: str) -> str:
    """requirements.lock as install.sh reads it: the lock, each wheel built here allowed by its own hash too,
    and the project pinned to its wheel."""
    blocks = lock_blocks(lock_text)
    for name, digest in built.items():
        block = blocks[name]
        lock_text = lock_text.replace(block, f"{block} \\\n    --hash=sha256:{digest}")
    head = (
        "# The bundle's copy of requirements.lock: the same versions, plus the hashes of the wheels built from\n"
        f"# source for it ({', '.join(sorted(built)) or 'none'}) and the project's own wheel.\n"
    )
    return f"{head}{lock_text}shifan=={version} \\\n    --hash=sha256:{sha256(project)}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="folder for the archive (default dist/)")
    default_cache = Path(os.environ.get("SHIFAN_BUNDLE_CACHE", Path.home() / ".cache" / "shifan-bundle"))
    parser.add_argument("--cache", type=Path, default=default_cache, help="runtime wheels kept by the lock's hash")
    args = parser.parse_args()
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    name = f"shifan-offline-{version}"
    lock_text = LOCK.read_text()
    cached, built = runtime_wheels(lock_text, args.cache)
    with tempfile.TemporaryDirectory(prefix="shifan-bundle-") as tmp:
        folder = Path(tmp) / name
        wheels = folder / "wheels"
        shutil.copytree(cached, wheels)
        project = project_wheel(wheels)
        (folder / "requirements.lock").write_text(bundle_lock(lock_text, built, project, version))
        shutil.copy2(INSTALLER, folder / "install.sh")
        (folder / "install.sh").chmod(0o755)
        args.out.mkdir(parents=True, exist_ok=True)
        archive = args.out / f"{name}.tar.gz"
        partial = archive.with_name(archive.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(folder, arcname=name, filter=_owned_by_root)
        partial.replace(archive)
    count = len(list(cached.iterdir())) + 1
    print(f"bundle: {archive} ({archive.stat().st_size / 2**20:.1f} MiB, {count} wheels)")


def _owned_by_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


if __name__ == "__main__":
    main()
