"""Sample files and helpers for the evidence tests: real PDFs and PNGs, multipart uploads, a picker
that hands each test assignments no other test has touched."""

from __future__ import annotations

import itertools
import struct

from sqlmodel import Session, col, select

from app.models import Assignment, Engagement, Evidence, Item, MaterialRequestItem
from app.services.demo import samples

API = "/api/v1"


def pdf(text: str = "Shifan evidence") -> bytes:
    """A small, well-formed one-page PDF."""
    return samples.one_page_pdf(f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode(), width=612, height=792)


def png(width: int = 2, height: int = 2) -> bytes:
    """A valid RGB PNG image."""
    return samples.solid_png(width, height, b"\xff\x00\x00")


# Every Picker's hand-outs, per database: a module's own Picker(campaign) and the shared one (whose fallback, late
# in a run, hands out other campaigns' assignments) never hand out the same assignment twice.
_HANDED_OUT: dict[str, set[int]] = {}


def _handed_out(session: Session) -> set[int]:
    return _HANDED_OUT.setdefault(str(session.get_bind().url), set())


def keep_from_pickers(session: Session, assignment_ids: list[int]) -> None:
    """Assignments a test keeps for itself: no Picker hands them out."""
    _handed_out(session).update(assignment_ids)


class Picker:
    """Hands out the 县司法局 liaison's assignments in 陵川, each to one test only."""

    def __init__(self, campaign_id: int | None = None) -> None:
        self._counter = itertools.count()
        self._campaign_id = campaign_id  # None: the shared world's campaign

    def assignment(self, session: Session, unit_id: int, *, exclude_items: set[int] | None = None) -> Assignment:
        rows = session.exec(self._mine(session, unit_id).order_by(Assignment.id)).all()
        # Items a material request shares with another of the unit's items are kept for shared_material():
        # handed out only when nothing else is left.
        shared = self._shared_items(session, [r.item_id for r in rows])
        rows = sorted(rows, key=lambda r: r.item_id in shared)
        used = _handed_out(session)
        for row in rows:
            if row.id not in used and row.item_id not in (exclude_items or set()):
                used.add(row.id)  # type: ignore[arg-type]
                return row
        # The suite's tests outnumber the items the framework gives 县司法局: hand out a new one.
        free = [i for i in self._free_items(session, unit_id) if i not in (exclude_items or set()) and i not in shared]
        free = free or self._free_items(session, unit_id)[:1]
        if not free:  # every item of the world's campaign is the unit's already: one of its other campaigns'
            # untouched ones only: a test takes its assignment to have nothing handed in (tests that work without the
            # picker hand evidence in for the unit's assignments of their own campaigns)
            touched = select(Evidence.assignment_id).where(col(Evidence.assignment_id).is_not(None))
            others = session.exec(
                select(Assignment)
                .where(Assignment.unit_id == unit_id, col(Assignment.id).not_in(touched))
                .order_by(Assignment.id)
            ).all()
            excluded = exclude_items or set()
            world = self._world(session, unit_id)
            # first a campaign whose evaluators are the world campaign's (tests have the evaluator read what they
            # hand in), then the same due date (open when the world's is)
            evaluators = select(Engagement.user_id).where(Engagement.campaign_id == world.campaign_id)
            engaged = set(session.exec(select(Engagement.campaign_id).where(col(Engagement.user_id).in_(evaluators))))
            others = sorted(others, key=lambda r: (r.campaign_id not in engaged, r.due_on != world.due_on))
            row = next((r for r in others if r.id not in used and r.item_id not in excluded), None)
            assert row is not None, "every assignment of this unit in every campaign is handed out already"
            used.add(row.id)  # type: ignore[arg-type]
            return row
        [row] = self._add(session, unit_id, free[:1])
        used.add(row.id)  # type: ignore[arg-type]
        return row

    def _mine(self, session: Session, unit_id: int):  # noqa: ANN202
        """The unit's assignments in the world's campaign (tests may launch other campaigns of the county)."""
        campaign_id = self._world(session, unit_id).campaign_id
        return select(Assignment).where(Assignment.unit_id == unit_id, Assignment.campaign_id == campaign_id)

    def _world(self, session: Session, unit_id: int) -> Assignment:
        """The unit's first assignment in this picker's campaign (by default the shared world's)."""
        query = select(Assignment).where(Assignment.unit_id == unit_id)
        if self._campaign_id is not None:
            query = query.where(Assignment.campaign_id == self._campaign_id)
        first = session.exec(query.order_by(Assignment.id)).first()
        assert first is not None, "the unit has no assignment in the world"
        return first

    def _free_items(self, session: Session, unit_id: int) -> list[int]:
        """Items of the world campaign's framework the unit has no assignment for yet."""
        template = self._world(session, unit_id)
        framework_id = session.exec(select(Item.framework_id).where(Item.id == template.item_id)).one()
        taken = select(Assignment.item_id).where(
            Assignment.unit_id == unit_id, Assignment.campaign_id == template.campaign_id
        )
        query = select(Item.id).where(Item.framework_id == framework_id, col(Item.id).not_in(taken)).order_by(Item.id)
        return list(session.exec(query).all())

    def _add(self, session: Session, unit_id: int, item_ids: list[int]) -> list[Assignment]:
        """New assignments of the unit in the world campaign (as the office adds them by hand), committed."""
        assert item_ids, "every item of the framework is assigned to this unit already"
        template = self._world(session, unit_id)
        rows = [
            Assignment(
                campaign_id=template.campaign_id,
                item_id=item_id,
                unit_id=unit_id,
                role="co",
                phase_id=template.phase_id,
                due_on=template.due_on,
            )
            for item_id in item_ids
        ]
        session.add_all(rows)
        session.commit()
        for row in rows:
            session.refresh(row)
        return rows

    @staticmethod
    def _shared_items(session: Session, item_ids: list[int]) -> set[int]:
        covers = session.exec(select(MaterialRequestItem).where(col(MaterialRequestItem.item_id).in_(item_ids))).all()
        by_request: dict[int, set[int]] = {}
        for c in covers:
            by_request.setdefault(c.material_request_id, set()).add(c.item_id)
        return {i for items in by_request.values() if len(items) >= 2 for i in items}

    def _shared_elsewhere(self, session: Session, unit_id: int) -> tuple[int, list[Assignment]]:
        """A material request covering two or more unused assignments of the unit in any one campaign."""
        used = _handed_out(session)
        unused = [a for a in session.exec(select(Assignment).where(Assignment.unit_id == unit_id)) if a.id not in used]
        covering: dict[int, list[int]] = {}  # item id → the material requests covering it, read in one statement
        items = {a.item_id for a in unused}
        for c in session.exec(select(MaterialRequestItem).where(col(MaterialRequestItem.item_id).in_(items))):
            covering.setdefault(c.item_id, []).append(c.material_request_id)
        groups: dict[tuple[int, int], list[Assignment]] = {}
        for a in unused:
            for request_id in covering.get(a.item_id, []):
                groups.setdefault((a.campaign_id, request_id), []).append(a)
        (_, request_id), rows = max(groups.items(), key=lambda kv: len(kv[1]), default=((0, 0), []))
        assert len(rows) >= 2, "no material request covers two unused assignments of this unit"
        return request_id, rows

    def shared_material(self, session: Session, unit_id: int) -> tuple[int, list[Assignment]]:
        """A material request covering at least two of the unit's unused assignments."""
        used = _handed_out(session)
        mine = {a.item_id: a for a in session.exec(self._mine(session, unit_id)).all() if a.id not in used}
        covers = session.exec(select(MaterialRequestItem).where(col(MaterialRequestItem.item_id).in_(list(mine)))).all()
        by_request: dict[int, list[Assignment]] = {}
        for c in covers:
            by_request.setdefault(c.material_request_id, []).append(mine[c.item_id])
        request_id, rows = max(by_request.items(), key=lambda kv: len(kv[1]), default=(0, []))
        if len(rows) < 2:  # used up: new assignments on the items of a request the unit has none of yet
            free = set(self._free_items(session, unit_id))
            requests: dict[int, list[int]] = {}
            for c in session.exec(select(MaterialRequestItem).where(col(MaterialRequestItem.item_id).in_(free))).all():
                requests.setdefault(c.material_request_id, []).append(c.item_id)
            request_id, items = max(requests.items(), key=lambda kv: len(kv[1]), default=(0, []))
            if len(items) >= 2:
                rows = self._add(session, unit_id, sorted(items))
            else:  # the world campaign is used up: two unused assignments of another campaign under one request
                request_id, rows = self._shared_elsewhere(session, unit_id)
        used.update(a.id for a in rows)  # type: ignore[misc]
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


def find_listed(client, headers, campaign_id: int, evidence_id: int, **params) -> dict:
    """One piece of evidence as the campaign's evidence list shows it, walking its pages (the shared world's campaign
    holds every test's evidence, oldest change first: a piece just handed in is on whichever page it falls)."""
    offset = 0
    while True:
        paging = {**params, "limit": 200, "offset": offset}
        r = client.get(f"/api/v1/campaigns/{campaign_id}/evidence", params=paging, headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()
        found = [e for e in page["items"] if e["id"] == evidence_id]
        if found:
            return found[0]
        offset += len(page["items"])
        assert page["items"] and offset < page["total"], f"evidence {evidence_id} is not in the campaign's list"


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


def hot_read_paths(client, world, session, words: str) -> dict[str, str]:
    """The busiest reads (issue 28) as 县司法局's liaison may ask them: its to-do list, its campaign's ledger, and a
    piece of evidence it hands in now (words: its title and its PDF's text)."""
    a = PICKER.assignment(session, world.ids["lc_sfj"])
    r = upload(client, world.auth("lc-sfj"), a.id, pdf(words), f"{words}.pdf", title=words)
    assert r.status_code == 201, r.text
    return {
        "todo": "/api/v1/me/assignments",
        "ledger": f"/api/v1/campaigns/{a.campaign_id}/assignments",
        "evidence": f"/api/v1/evidence/{r.json()['id']}",
    }
