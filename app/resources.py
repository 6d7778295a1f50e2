"""Where the files shifan reads at run time lie: alembic.ini with migrations/, and data/ (the seed frameworks,
the demo county, holiday notices). In a checkout they are its top-level folders; an installed wheel carries
copies as app/_shipped/ (setup.py puts them there), so `shifan migrate` and `shifan demo` work wherever the
package is installed, from any working directory. Every reader asks here. May call: nothing."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_SHIPPED = _PACKAGE / "_shipped"

# the wheel's copy when there is one (an installed package), else the checkout this package lies in
ROOT = _SHIPPED if (_SHIPPED / "alembic.ini").is_file() else _PACKAGE.parent
ALEMBIC_INI = ROOT / "alembic.ini"  # its script_location is the migrations/ folder beside it
DATA = ROOT / "data"
