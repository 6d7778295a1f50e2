"""The demo campaign brought to life through the services (so the audit trail shows every step): files
uploaded and statements written by liaisons, returned with a comment, approved, a few assignments past
their due date, a scoring round with the office's scores, a rectification."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, col, select

from app.models import Assignment, Campaign, Item
from app.models.campaign import AssignmentUpdate
from app.models.evidence import EvidenceKind, ReviewCreate, ReviewDecision
from app.models.rectification import RectificationCreate
from app.models.scoring import RoundCreate, ScoreBatch, ScoreCreate
from app.services.access import Principal
from app.services.assessment import scoring, scoring_config
from app.services.campaign import assignments
from app.services.review import rectification, reviews
from app.services.storage import ObjectStore
from app.services.submission import evidence, uploads
from app.services.submission.evidence import Content, Where
from app.settings import get_settings

RETURN_COMMENT = "请补充会议纪要的盖章扫描件，并注明会议日期。"


def tiny_pdf(text: str) -> bytes:
    """A small, well-formed one-page PDF saying text (ASCII)."""
    stream = f"BT /F1 14 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>",
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


def tiny_png(width: int = 16, height: int = 16) -> bytes:
    """A valid RGB PNG (a red square), as a photo of a notice board would be."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xc0\x20\x20" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _file(
    session: Session, store: ObjectStore, *, assignment_id: int, data: bytes, filename: str, who: Principal, today: date
) -> int:
    """Upload a file as the liaison would: checked, streamed into the store, then recorded."""
    where = Where(assignment_id=assignment_id)
    target = evidence.resolve(session, where=where, principal=who, today=today)
    received = uploads.receive(
        store, target=target, source=io.BytesIO(data), filename=filename, max_bytes=get_settings().max_upload_bytes
    )
    row = evidence.submit(session, where=where, content=received.content(), title=None, principal=who, today=today)
    return row.id  # type: ignore[return-value]


def _statement(session: Session, *, assignment_id: int, text: str, who: Principal, today: date) -> int:
    content = Content(kind=EvidenceKind.statement, text=text)
    row = evidence.submit(
        session, where=Where(assignment_id=assignment_id), content=content, title=None, principal=who, today=today
    )
    return row.id  # type: ignore[return-value]


def _review(session: Session, evidence_id: int, decision: ReviewDecision, office: Principal, comment: str = "") -> None:
    data = ReviewCreate(decision=decision, version=1, comment=comment)
    reviews.review(session, evidence_id=evidence_id, data=data, principal=office)


def _open_assignments(session: Session, campaign_id: int, unit_id: int | None) -> list[Assignment]:
    return list(
        session.exec(
            select(Assignment)
            .join(Item, col(Item.id) == Assignment.item_id)
            .where(Assignment.campaign_id == campaign_id, Assignment.unit_id == unit_id)
            .order_by(Item.position)
        ).all()
    )


def bring_to_life(
    session: Session, *, store: ObjectStore, today: date, campaign_id: int, principals: dict[str, Principal]
) -> dict[str, Any]:
    """Work done in the campaign as of today by 县司法局 (lc-sfj), 县公安局 (lc-gaj) and the office."""
    office, sfj, gaj = principals["lc-office"], principals["lc-sfj"], principals["lc-gaj"]
    mine = _open_assignments(session, campaign_id, sfj.unit_id)
    theirs = _open_assignments(session, campaign_id, gaj.unit_id)
    ids = [a.id for a in mine[:6]]
    submitted = _file(
        session,
        store,
        assignment_id=ids[0],
        data=tiny_pdf("Lingchuan justice bureau: work plan"),
        filename="工作方案.pdf",
        who=sfj,
        today=today,
    )
    photo = _file(
        session, store, assignment_id=ids[1], data=tiny_png(), filename="公示栏照片.png", who=sfj, today=today
    )
    statement = _statement(
        session, assignment_id=ids[2], text="本单位已按要求落实，相关制度已印发执行。", who=sfj, today=today
    )
    minutes = _file(
        session,
        store,
        assignment_id=ids[3],
        data=tiny_pdf("Meeting minutes (draft)"),
        filename="会议纪要.pdf",
        who=sfj,
        today=today,
    )
    late = _statement(session, assignment_id=ids[4], text="材料正在整理中，先行说明。", who=sfj, today=today)
    _review(session, photo, ReviewDecision.approve, office)
    _review(session, statement, ReviewDecision.approve, office)
    _review(session, minutes, ReviewDecision.return_, office, RETURN_COMMENT)
    _review(session, late, ReviewDecision.return_, office, "说明过于简略，请附上具体材料。")
    # A few items were due earlier (the office set their dates): they show as overdue.
    overdue = [ids[4], *(a.id for a in theirs[:3])]
    for assignment_id in overdue:
        data = AssignmentUpdate(due_on=today - timedelta(days=3))
        assignments.set_due(session, assignment_id=assignment_id, data=data, principal=office, today=today)  # type: ignore[arg-type]
    _statement(session, assignment_id=theirs[3].id, text="执法公示信息已在县政府网站公开。", who=gaj, today=today)  # type: ignore[arg-type]
    # The office's first scoring round on what has been approved or returned so far.
    round_ = scoring.create_round(
        session, campaign_id=campaign_id, data=RoundCreate(name="县级初审（第一轮）"), principal=office
    )
    campaign = session.get(Campaign, campaign_id)
    assert campaign is not None
    scheme = scoring_config.scheme(session, campaign=campaign)
    items: dict[int, Item] = {a.id: session.get(Item, a.item_id) for a in mine[:4]}  # type: ignore[misc]
    entries = [
        ScoreCreate(item_id=items[ids[1]].id, points=scheme.max_of(items[ids[1]]), comment="材料齐全"),  # type: ignore[union-attr, arg-type]
        ScoreCreate(item_id=items[ids[2]].id, points=scheme.max_of(items[ids[2]]), comment="已落实"),  # type: ignore[union-attr, arg-type]
        ScoreCreate(
            item_id=items[ids[3]].id,  # type: ignore[union-attr, arg-type]
            points=round(scheme.max_of(items[ids[3]]) / 2, 1),  # type: ignore[arg-type]
            comment="会议纪要缺盖章件",
            finding="会议纪要未加盖公章，无法证明会议已召开",
        ),
    ]
    scores = scoring.record(session, round_id=round_.id, batch=ScoreBatch(scores=entries), principal=office)  # type: ignore[arg-type]
    finding = next(s for s in scores if s.item_id == items[ids[3]].id)  # type: ignore[union-attr]
    fix = rectification.create(
        session,
        campaign_id=campaign_id,
        data=RectificationCreate(unit_id=sfj.unit_id, due_on=today + timedelta(days=14), from_score_id=finding.id),  # type: ignore[arg-type]
        principal=office,
    )
    return {
        "submitted": [submitted],
        "approved": [photo, statement],
        "returned": [minutes, late],
        "overdue_assignments": overdue,
        "round_id": round_.id,
        "rectification_id": fix.id,
    }
