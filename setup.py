"""The wheel carries what `shifan` reads at run time besides its code: alembic.ini, migrations/ and data/ stay at
the checkout's top level and are copied into the wheel as app/_shipped/, so an installed `shifan migrate` and
`shifan demo` work anywhere (app/resources.py finds either place). Everything else is in pyproject.toml."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
SHIPPED = ("alembic.ini", "migrations", "data")  # app/resources.py names the same three


class BuildPyWithShipped(build_py):
    """build_py, then the run-time files into the built package (not for an editable install: it reads them
    from the checkout)."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib) / "app" / "_shipped"
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for name in SHIPPED:
            source = HERE / name
            if not source.exists():  # a wheel without its migrations would install and then fail on first use
                raise SystemExit(f"{source} is missing: build the wheel from a checkout (make bundle)")
            if source.is_dir():
                shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(source, target / name)


setup(cmdclass={"build_py": BuildPyWithShipped})
