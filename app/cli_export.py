"""`shifan export …`: the files an office hands upward, written from the command line as a named account
(so the audit trail says who), with a progress bar on stderr for the long ones."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import TextIO

from sqlmodel import Session, select

from app.db import session_scope
from app.models import User
from app.models._base import COUNTY_ZONE
from app.services.access import Principal, principal_for
from app.services.errors import NotFound


class Progress:
    """A one-line bar on a terminal ("[#####-----]  52%  530/1024 MiB"), a line per 10 % elsewhere."""

    def __init__(
        self, label: str, total: int, *, unit: str = "MiB", scale: int = 1024 * 1024, out: TextIO = sys.stderr
    ) -> None:
        self.label, self.total, self.unit, self.scale, self.out = label, max(total, 1), unit, scale, out
        self.done = 0
        self._tty = out.isatty()
        self._shown = -1
        self._last = 0.0

    def advance(self, amount: int) -> None:
        self.done += amount
        percent = min(100, self.done * 100 // self.total)
        if self._tty and (time.monotonic() - self._last > 0.1 or percent == 100):
            bar = "#" * (percent // 5) + "-" * (20 - percent // 5)
            self.out.write(
                f"\r{self.label} [{bar}] {percent:3d}%  {self._amount(self.done)}/{self._amount(self.total)}"
            )
            self._last = time.monotonic()
        elif not self._tty and percent // 10 > self._shown:
            self._shown = percent // 10
            self.out.write(f"{self.label} {percent}%  {self._amount(self.done)}/{self._amount(self.total)}\n")
        self.out.flush()

    def close(self) -> None:
        if self._tty:
            self.out.write("\n")

    def _amount(self, n: int) -> str:
        return f"{n / self.scale:.0f} {self.unit}" if self.scale > 1 else f"{n} {self.unit}"

    def track(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """chunks, advancing the bar by each one's size."""
        for chunk in chunks:
            yield chunk
            self.advance(len(chunk))
        self.close()


def _acting(session: Session, username: str) -> Principal:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or not user.is_active:
        raise NotFound(f"账号“{username}”不存在或已停用", code="account_not_found")
    return principal_for(session, user)


def export(args: argparse.Namespace) -> None:
    """Write the asked-for file."""
    from app.services.accounts import regions
    from app.services.campaign import unit_sheet, units
    from app.services.exports import evidence_package, ledger, self_assessment
    from app.services.indicators import framework_sheet, frameworks
    from app.services.storage import get_store

    out = Path(args.out)
    if args.what == "package":
        with session_scope() as session:  # plan in one short transaction, then stream with no connection held
            who = _acting(session, args.as_user)
            package = evidence_package.plan(session, campaign_id=args.id, principal=who)
        bar = Progress("导出资料包", sum(e.size for e in package.entries))
        now = datetime.now(COUNTY_ZONE)
        chunks = evidence_package.stream(get_store(), package, now=now, principal=who)
        with out.open("wb") as f:
            for chunk in bar.track(chunks):
                f.write(chunk)
        print(f"wrote {out}: {len(package.entries)} files")
        return
    with session_scope() as session:
        who = _acting(session, args.as_user)
        if args.what == "framework":
            doc = frameworks.to_document(session, framework_id=args.id)
            body = (
                framework_sheet.write(doc)
                if out.suffix == ".xlsx"
                else (doc.model_dump_json(indent=1, exclude_none=True) + "\n").encode()
            )
        elif args.what == "self-assessment":
            _, body = self_assessment.render(
                session, campaign_id=args.id, principal=who, today=date.today(), round_id=args.round_id
            )
        elif args.what == "ledger":
            _, body = ledger.render(
                session, campaign_id=args.id, principal=who, today=date.today(), unit_id=args.unit_id
            )
        else:
            rows = units.list_units(session, county_id=args.id, principal=who)
            body = unit_sheet.write(regions.get_county_or_raise(session, county_id=args.id).name, rows)
    out.write_bytes(body)
    print(f"wrote {out}")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `export` subcommand."""
    p = sub.add_parser(
        "export",
        help="Write a framework, a ledger, a unit list, an evidence package or the self-assessment report",
        description="导出文件：framework ID（指标体系 .xlsx 或 .json）、ledger CAMPAIGN_ID（任务分工台账）、"
        "units COUNTY_ID（单位名单）、package CAMPAIGN_ID（已通过的印证资料 ZIP，带进度条）、"
        "self-assessment CAMPAIGN_ID（自评报告 .docx，--round 指定评分轮次）。",
    )
    p.add_argument("what", choices=["framework", "ledger", "units", "package", "self-assessment"])
    p.add_argument("id", type=int, help="framework, campaign or county id")
    p.add_argument("--out", required=True, help="file to write")
    p.add_argument("--as", dest="as_user", default="sysadmin", help="the account the export is made as (audited)")
    p.add_argument("--unit-id", type=int, help="ledger: one unit only")
    p.add_argument(
        "--round", dest="round_id", type=int, help="self-assessment: the round id (default: the latest released)"
    )
    p.set_defaults(func=export)
