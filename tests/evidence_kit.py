"""Sample files and helpers for the evidence tests: real PDFs and PNGs, multipart uploads, a picker
that hands each test assignments no other test has touched."""

from __future__ import annotations

import itertools
import struct
import zlib

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.models import Assignment, Item, MaterialRequestItem

API = "/api/v1"


def pdf(text: str = "Shifan evidence") -> bytes:
    """A small, well-formed one-page PDF."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>",
        b"<</Length " + str(len(stream)).encode() + b">>stream\n" + stream + b"\nendstream",
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj".encode() + body + b"endobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer<</Size {len(objects) + 1}/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def png(width: int = 2, height: int = 2) -> bytes:
    """A valid RGB PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _world_campaign(unit_id: int):  # noqa: ANN202 - a SQL condition
    """Assignments of the unit's first campaign: the shared world's (other tests launch more campaigns)."""
    first = select(func.min(Assignment.campaign_id)).where(Assignment.unit_id == unit_id).scalar_subquery()
    return (Assignment.unit_id == unit_id) & (Assignment.campaign_id == first)


class Picker:
    """Hands out the 县司法局 liaison's assignments in 陵川's world campaign, each to one test only."""

    def __init__(self) -> None:
        self._used: set[int] = set()
        self._counter = itertools.count()

    def assignment(self, session: Session, unit_id: int, *, exclude_items: set[int] | None = None) -> Assignment:
        rows = session.exec(select(Assignment).where(_world_campaign(unit_id)).order_by(Assignment.id)).all()
        # Items a material request shares with another of the unit's items are kept for shared_material():
        # handed out only when nothing else is left.
        shared = self._shared_items(session, [r.item_id for r in rows])
        rows = sorted(rows, key=lambda r: r.item_id in shared)
        for row in rows:
            if row.id not in self._used and row.item_id not in (exclude_items or set()):
                self._used.add(row.id)  # type: ignore[arg-type]
                return row
        raise AssertionError("no unused assignment left for this unit")

    @staticmethod
    def _shared_items(session: Session, item_ids: list[int]) -> set[int]:
        covers = session.exec(select(MaterialRequestItem).where(col(MaterialRequestItem.item_id).in_(item_ids))).all()
        by_request: dict[int, set[int]] = {}
        for c in covers:
            by_request.setdefault(c.material_request_id, set()).add(c.item_id)
        return {i for items in by_request.values() if len(items) >= 2 for i in items}

    def shared_material(self, session: Session, unit_id: int) -> tuple[int, list[Assignment]]:
        """A material request covering at least two of the unit's unused assignments."""
        mine = {
            a.item_id: a
            for a in session.exec(select(Assignment).where(_world_campaign(unit_id))).all()
            if a.id not in self._used
        }
        covers = session.exec(select(MaterialRequestItem).where(col(MaterialRequestItem.item_id).in_(list(mine)))).all()
        by_request: dict[int, list[Assignment]] = {}
        for c in covers:
            by_request.setdefault(c.material_request_id, []).append(mine[c.item_id])
        request_id, rows = max(by_request.items(), key=lambda kv: len(kv[1]))
        assert len(rows) >= 2
        self._used.update(a.id for a in rows)  # type: ignore[misc]
        return request_id, rows


PICKER = Picker()


def upload(client, headers, assignment_id: int, data: bytes, filename: str, **params):
    """POST a file as multipart to an assignment."""
    return client.post(
        f"{API}/assignments/{assignment_id}/evidence/file",
        files={"file": (filename, data, "application/octet-stream")},
        params=params,
        headers=headers,
    )


def item_number(session: Session, item_id: int) -> int:
    return session.get(Item, item_id).number  # type: ignore[union-attr]


def box(kind: bytes, payload: bytes) -> bytes:
    """One ISO-BMFF box."""
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4(brand: bytes = b"isom", *, moov: bool = True) -> bytes:
    """A structurally valid MP4: ftyp with a brand, moov, mdat."""
    ftyp = box(b"ftyp", brand + b"\x00\x00\x02\x00" + brand)
    return ftyp + (box(b"moov", box(b"mvhd", bytes(100))) if moov else b"") + box(b"mdat", bytes(2000))


def pdf_pages(pages: int, *, user_password: str | None = None, owner_password: str | None = None) -> bytes:
    """A PDF of blank pages written by pypdf, encrypted when a password is given."""
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    if user_password is not None or owner_password is not None:
        writer.encrypt(user_password=user_password or "", owner_password=owner_password, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
