"""The campaign's approved evidence as one ZIP, streamed: a folder per level-1 indicator and item, files
named "<序号>-<单位>-<原文件名>", web addresses and statements written as files, and index.xlsx listing
every file with its SHA-256. Planned in one short transaction; the bytes then flow from the object
store into the ZIP chunk by chunk, so memory stays flat however large the package is."""

from __future__ import annotations

import hashlib
import io
import logging
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from itertools import chain

from sqlmodel import Session, col, select

from app.models import (
    Assignment,
    Campaign,
    Evidence,
    EvidenceText,
    EvidenceVersion,
    FrameworkSection,
    Heading,
    Item,
    MaterialRequestItem,
    Unit,
)
from app.models.evidence import EvidenceKind, EvidenceStatus
from app.models.framework import item_label, items_label
from app.services.access import Principal
from app.services.campaign import campaigns
from app.services.documents import sheets
from app.services.media import dating
from app.services.platform import audit
from app.services.storage import ObjectStore
from app.services.submission import integrity
from app.services.submission.filetypes import download_name, safe_filename

log = logging.getLogger("shifan.package")

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
INDEX_COLUMNS: sheets.Columns = (
    ("一级指标", 24),
    ("指标", 12),  # 第18项, 加分项第1项 (model.framework.item_label)
    ("指标内容", 40),
    ("责任单位", 20),
    ("资料标题", 24),
    ("类型", 8),
    ("包内路径", 50),
    ("原文件名", 24),
    ("大小（字节）", 14),
    ("SHA-256", 66),
    ("版本", 6),
    ("同时适用的指标", 16),
    ("校验", 8),
    ("成文日期", 12),  # as the unit gave it, else the date suggested from the file
    ("考核期外", 10),
    ("沿用自", 24),  # a version carried from an earlier campaign (carry-over): that campaign's name
)
_CHECK = {True: "一致", False: "校验失败", None: ""}
_OUTSIDE = {True: "是", False: "否", None: ""}
_KIND_LABEL = {EvidenceKind.file: "文件", EvidenceKind.url: "网址", EvidenceKind.statement: "情况说明"}


def _part(text: str, limit: int = 60) -> str:
    """A path segment Windows, macOS and Linux all accept (no separators, no control characters)."""
    cleaned = _UNSAFE.sub("_", text).strip().strip(".") or "_"
    return cleaned[:limit]


@dataclass
class Entry:
    """One file of the package and the index row that describes it."""

    path: str
    level1: str
    number: int
    label: str  # the item as people name it: 第18项, 加分项第1项
    item_text: str
    unit: str
    title: str
    kind: EvidenceKind
    version: int
    filename: str = ""
    size: int = 0
    sha256: str = ""
    object_key: str | None = None
    body: bytes | None = None  # a web address or statement, rendered
    covers: str = ""  # the other items the file counts for, in one phrase (第27、28项)
    verified: bool | None = None
    missing: bool = False
    record: EvidenceVersion | None = None  # the version a file entry was planned from (for the audit)
    document_date: date | None = None
    outside_period: bool | None = None
    carried_from: str = ""  # 沿用: the name of the campaign the version was carried from


@dataclass
class Package:
    """What a package will hold, decided before the first byte is sent."""

    campaign_name: str
    entries: list[Entry]

    @property
    def filename(self) -> str:
        return f"{_part(self.campaign_name, 80)}-印证资料.zip"


def _render(kind: EvidenceKind, version: EvidenceVersion, title: str) -> tuple[str, bytes]:
    """(extension, bytes) of a web address (an Internet shortcut) or a statement (UTF-8 text Notepad opens)."""
    if kind == EvidenceKind.url:
        return "url", f"[InternetShortcut]\r\nURL={version.url}\r\n".encode()
    return "txt", ("\ufeff" + f"{title}\r\n\r\n" + (version.text or "").replace("\n", "\r\n")).encode("utf-8")


def plan(session: Session, *, campaign_id: int, principal: Principal) -> Package:
    """The office's package of the campaign's approved evidence (current versions), in a few statements."""
    campaign = campaigns.get_managed(session, campaign_id=campaign_id, principal=principal)
    rows = session.exec(
        select(Evidence, EvidenceVersion, Unit.name, EvidenceText.suggested_date)
        .join(
            EvidenceVersion,
            (col(EvidenceVersion.evidence_id) == Evidence.id)
            & (col(EvidenceVersion.number) == Evidence.current_version),
        )
        .join(Unit, col(Unit.id) == Evidence.unit_id)
        .outerjoin(EvidenceText, col(EvidenceText.version_id) == EvidenceVersion.id)
        .where(Evidence.campaign_id == campaign_id, Evidence.status == EvidenceStatus.approved)
        .order_by(Evidence.id)
    ).all()
    items = {
        i.id: (i, section, position)
        for i, section, position in session.exec(
            select(Item, FrameworkSection.name, FrameworkSection.position)
            .join(FrameworkSection, col(FrameworkSection.id) == Item.section_id)
            .where(Item.framework_id == campaign.framework_id)
        ).all()
    }
    headings = {
        h: title
        for h, title in session.exec(
            select(Heading.id, Heading.title).where(Heading.framework_id == campaign.framework_id)
        ).all()
    }
    by_assignment: dict[int, int] = {}
    assigned: set[tuple[int, int]] = set()
    for a_id, unit_id, item_id in session.exec(
        select(Assignment.id, Assignment.unit_id, Assignment.item_id).where(Assignment.campaign_id == campaign_id)
    ).all():
        by_assignment[a_id] = item_id  # type: ignore[index]
        assigned.add((unit_id, item_id))
    requests = {e.material_request_id for e, _, _, _ in rows if e.material_request_id is not None}
    covered: dict[int, list[int]] = defaultdict(list)
    for request_id, item_id in session.exec(
        select(MaterialRequestItem.material_request_id, MaterialRequestItem.item_id).where(
            col(MaterialRequestItem.material_request_id).in_(requests)
        )
    ).all():
        covered[request_id].append(item_id)

    origins = {v.origin_campaign_id for _, v, _, _ in rows if v.origin_campaign_id is not None}
    origin_names = dict(session.exec(select(Campaign.id, Campaign.name).where(col(Campaign.id).in_(origins))).all())
    entries: list[Entry] = []
    taken: set[str] = set()
    period = {"start": campaign.assessment_start, "end": campaign.assessment_end}
    for evidence, version, unit_name, suggested in rows:
        if evidence.assignment_id is not None:
            item_ids = [by_assignment[evidence.assignment_id]]
        else:  # a material request: every covered item the unit is assigned; the file goes under the first
            item_ids = [i for i in covered[evidence.material_request_id] if (evidence.unit_id, i) in assigned]  # type: ignore[index]
        item_ids.sort(key=lambda i: (items[i][0].section_id, items[i][0].position))
        if not item_ids:
            continue
        item, section, position = items[item_ids[0]]
        level1 = headings.get(item.level1_id, section) if item.level1_id else section  # type: ignore[arg-type]
        kind = EvidenceKind(version.kind)
        entry = Entry(
            path="",
            level1=level1,
            number=item.number,
            label=item_label(item.number, section, position),
            item_text=item.text,
            unit=unit_name,
            title=evidence.title,
            kind=kind,
            version=version.number,
            covers=items_label([(items[i][0].number, items[i][1], items[i][2]) for i in item_ids[1:]]),
            document_date=version.document_date or suggested,
            outside_period=dating.outside_period(version, suggested=suggested, **period),
            carried_from=origin_names.get(version.origin_campaign_id, "") if version.origin_campaign_id else "",
        )
        if kind == EvidenceKind.file:
            entry.filename, entry.size, entry.sha256 = (
                safe_filename(version.filename or "file"),
                version.size or 0,
                version.sha256 or "",
            )
            entry.object_key, entry.record = version.object_key, version
            original = download_name(version.filename, version.extension)
        else:
            ext, entry.body = _render(kind, version, evidence.title)
            original = f"{_part(evidence.title)}.{ext}"
            entry.size, entry.sha256 = len(entry.body), hashlib.sha256(entry.body).hexdigest()
        folder = f"{_part(level1)}/{item.number:03d} {_part(item.text, 40)}"
        entry.path = _unique(f"{folder}/{_part(f'{item.number}-{unit_name}-{original}', 150)}", taken)
        entries.append(entry)
    audit.record(
        session,
        principal=principal,
        action="evidence.package",
        object_type="campaign",
        object_id=campaign_id,
        county_id=campaign.county_id,
        campaign_id=campaign_id,
        after={"files": len(entries), "bytes": sum(e.size for e in entries)},
    )
    return Package(campaign_name=campaign.name, entries=entries)


def _unique(path: str, taken: set[str]) -> str:
    """path, or path with " (2)", " (3)" … before the extension when a file of that name is already in."""
    candidate, n = path, 1
    stem, dot, ext = path.rpartition(".")
    while candidate.lower() in taken:
        n += 1
        candidate = f"{stem} ({n}).{ext}" if dot else f"{path} ({n})"
    taken.add(candidate.lower())
    return candidate


class _Sink(io.RawIOBase):
    """A write-only, unseekable stream whose bytes are collected until the generator hands them on."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._offset = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._buffer += data
        self._offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self._offset

    def take(self) -> bytes:
        data = bytes(self._buffer)
        self._buffer.clear()
        return data


def stream(store: ObjectStore, package: Package, *, now: datetime, principal: Principal | None) -> Iterator[bytes]:
    """The ZIP's bytes, chunk by chunk: each file read from the store as it is written, index.xlsx last
    (its 校验 column says whether each file's bytes still match the checksum taken at upload; a file whose
    stored size already differs is left out, and every mismatch is audited)."""
    sink = _Sink()
    stamp = now.timetuple()[:6]
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        for entry in package.entries:
            info = zipfile.ZipInfo(entry.path, date_time=stamp)  # type: ignore[arg-type]
            # Evidence files are mostly compressed already (PDF, JPEG, PNG, OFD, DOCX, MP4, ZIP): stored as they
            # are, which keeps the package at the store's speed; generated text is deflated.
            info.compress_type = zipfile.ZIP_STORED if entry.object_key else zipfile.ZIP_DEFLATED
            digest = hashlib.sha256()
            chunks = _open(store, entry, principal)
            if chunks is None:
                continue
            with archive.open(info, mode="w", force_zip64=True) as out:
                for chunk in chunks:
                    out.write(chunk)
                    digest.update(chunk)
                    yield sink.take()
            entry.verified = digest.hexdigest() == entry.sha256
            if not entry.verified and entry.record is not None:
                integrity.report(
                    entry.record, principal=principal, where="package", found_size=None, found_sha256=digest.hexdigest()
                )
            yield sink.take()
        index = zipfile.ZipInfo("index.xlsx", date_time=stamp)  # type: ignore[arg-type]
        archive.writestr(index, index_workbook(package), compress_type=zipfile.ZIP_DEFLATED)
    yield sink.take()


def _open(store: ObjectStore, entry: Entry, principal: Principal | None) -> Iterator[bytes] | None:
    """The entry's bytes, already requested: a file the store cannot find is left out of the ZIP and marked
    缺失 in the index (one lost object must not cut a package of thousands short); one whose stored size
    differs from the record is left out and marked 校验失败."""
    if entry.object_key is None:
        return iter([entry.body or b""])
    try:
        size = store.size_of(entry.object_key)
    except Exception:  # noqa: BLE001 - the store unreachable for this file: read below says whether it is there
        size = entry.size
    if size != entry.size:
        entry.missing, entry.verified = size is None, False
        if entry.record is not None:
            integrity.report(entry.record, principal=principal, where="package", found_size=size)
        return None
    chunks = store.iter_bytes(entry.object_key)
    try:
        first = next(chunks, b"")
    except Exception:  # noqa: BLE001 - any store's "not there"; logged with the path
        log.error("evidence package: %s is missing from the store", entry.path, exc_info=True)
        entry.missing = True
        return None
    return chain([first], chunks)


def index_workbook(package: Package) -> bytes:
    """index.xlsx: one row per file of the package."""
    wb = sheets.workbook()
    ws = sheets.sheet(wb, "资料清单")
    sheets.header(ws, f"{package.campaign_name} 印证资料清单", INDEX_COLUMNS)
    for e in package.entries:
        sheets.row(
            ws,
            [e.level1, e.label, e.item_text, e.unit, e.title, _KIND_LABEL[e.kind], e.path, e.filename, e.size,
             e.sha256, e.version, e.covers, _CHECK[e.verified] if not e.missing else "缺失", e.document_date,
             _OUTSIDE[e.outside_period], e.carried_from],
        )  # fmt: skip
    return sheets.to_bytes(wb)
