"""First-page previews through HTTP: a PDF and a PNG are uploaded, the versions say preview "pending" and
the preview answers 404 preview_not_ready; after one worker batch they say "ready" and preview.png is
a small PNG of what the file shows; a Word file has none (404 preview_unavailable); the same access as
the file itself (another county's or unit's is not found); the sweeper keeps previews a version names."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from docx import Document
from PIL import Image

from app.services.demo import samples
from app.services.storage import LocalStore
from app.services.submission import rendering, uploads
from app.services.submission.previews import PREVIEW_ROOT
from app.services.worker import previews
from tests.conftest import pin_today, use_store
from tests.evidence_kit import API, PICKER, png, upload
from tests.graphql_kit import gql


def drawn_pdf() -> bytes:
    """A one-page A4 PDF (595×842 pt) whose upper half is a black rectangle, with a line of text."""
    return samples.one_page_pdf(b"0 0 0 rg 0 421 595 421 re f BT /F1 24 Tf 72 200 Td (Shifan preview) Tj ET")


def word_file() -> bytes:
    doc = Document()
    doc.add_paragraph("会议纪要")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


@pytest.fixture
def store(app, tmp_path):
    """The API on a fresh local folder, on a day uploads are open; the worker is handed the same store."""
    from app.api import deps

    pin_today(app, date(2023, 2, 10))  # inside the demo campaign's submission phase
    found = LocalStore(tmp_path / "objects")
    found.ensure_ready()
    use_store(app, found)
    yield found
    app.dependency_overrides.pop(deps._store, None)


def _version(client, headers, evidence_id: int) -> dict:
    r = client.get(f"{API}/evidence/{evidence_id}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["versions"][0]


def test_the_worker_makes_first_page_previews(client, world, session, store) -> None:
    liaison, office = world.auth("lc-sfj"), world.auth("lc-office")
    sent = {}
    for name, data in (("方案.pdf", drawn_pdf()), ("照片.png", png(600, 300)), ("纪要.docx", word_file())):
        target = PICKER.assignment(session, world.ids["lc_sfj"])
        r = upload(client, liaison, target.id, data, name, title=f"预览-{name}")
        assert r.status_code == 201, r.text
        sent[name] = r.json()["id"]
    url = {name: f"{API}/evidence/{eid}/versions/1/preview.png" for name, eid in sent.items()}

    assert _version(client, office, sent["方案.pdf"])["preview"] == "pending"
    assert _version(client, office, sent["照片.png"])["preview"] == "pending"
    assert _version(client, office, sent["纪要.docx"])["preview"] == "none"
    waiting = client.get(url["方案.pdf"], headers=office)
    assert waiting.status_code == 404 and waiting.json()["code"] == "preview_not_ready"

    # One worker batch (large enough for whatever other tests left pending in the shared database).
    counts = previews.run_once(store, limit=10_000)
    assert counts["ready"] >= 2, counts

    for name, expected in (("方案.pdf", (227, 320)), ("照片.png", (320, 160))):
        assert _version(client, office, sent[name])["preview"] == "ready"
        for who in (office, liaison):  # the reviewer and the unit that sent it
            r = client.get(url[name], headers=who)
            assert r.status_code == 200, r.text
            assert r.headers["content-type"] == "image/png"
        image = Image.open(io.BytesIO(r.content))
        assert image.format == "PNG" and image.size == expected, (name, image.size)
        assert len(r.content) < 20_000
        if name == "方案.pdf":  # what the page shows: black above, white below
            rgb = image.convert("RGB")
            assert rgb.getpixel((113, 40)) == (0, 0, 0) and rgb.getpixel((113, 300)) == (255, 255, 255)
        else:
            assert image.convert("RGB").getpixel((10, 10)) == (255, 0, 0)  # evidence_kit's PNG is red
    none = client.get(url["纪要.docx"], headers=office)
    assert none.status_code == 404 and none.json()["code"] == "preview_unavailable"

    for who, code in (("gp-office", "evidence_not_found"), ("lc-gaj", "evidence_not_found")):
        refused = client.get(url["方案.pdf"], headers=world.auth(who))
        assert refused.status_code == 404 and refused.json()["code"] == code, (who, refused.text)
    assert client.get(url["方案.pdf"]).status_code == 401
    assert client.get(f"{API}/evidence/{sent['方案.pdf']}/versions/9/preview.png", headers=office).status_code == 404

    body = gql(
        client,
        office,
        "query($id: Int!) { evidence(id: $id) { versions { number preview } current { preview } } }",
        {"id": sent["方案.pdf"]},
    )
    assert body["data"]["evidence"]["current"]["preview"] == "ready", body

    # The sweeper keeps a preview its version names and removes one nobody names.
    stray = f"{PREVIEW_ROOT}{'0' * 32}"
    store.put_stream(stray, io.BytesIO(b"x"), content_type="image/png", max_bytes=1)
    uploads.sweep(session, store, now=datetime.now(UTC) + timedelta(days=1), grace=timedelta(hours=1))
    assert store.size_of(stray) is None
    assert client.get(url["方案.pdf"], headers=office).status_code == 200
    assert client.get(url["照片.png"], headers=office).status_code == 200


def test_a_file_that_differs_from_its_record_gets_a_failed_preview_and_is_not_retried(
    client, world, session, store
) -> None:
    liaison, office = world.auth("lc-sfj"), world.auth("lc-office")
    target = PICKER.assignment(session, world.ids["lc_sfj"])
    evidence_id = upload(client, liaison, target.id, drawn_pdf(), "丢失.pdf", title="预览-丢失").json()["id"]
    from sqlmodel import select

    from app.models import EvidenceVersion

    session.expire_all()
    version = session.exec(select(EvidenceVersion).where(EvidenceVersion.evidence_id == evidence_id)).one()
    # The stored bytes changed behind the record's back: no preview of what nobody checked.
    store.delete(version.object_key)
    store.put_stream(version.object_key, io.BytesIO(png(4, 4)), content_type="image/png", max_bytes=10_000)
    previews.run_once(store, limit=10_000)
    shown = _version(client, office, evidence_id)
    assert shown["preview"] == "failed", shown
    assert shown["preview_failure"] == {"code": "checksum", "message": "存储的文件与登记的校验值不符"}
    r = client.get(f"{API}/evidence/{evidence_id}/versions/1/preview.png", headers=office)
    assert r.status_code == 404 and r.json()["code"] == "preview_unavailable"
    assert previews.run_once(store, limit=10_000)["claimed"] == 0 or _version(client, office, evidence_id) == shown
    with pytest.raises(rendering.Unrenderable):
        rendering.render(drawn_pdf()[:200], "pdf")


def test_leases_keep_two_workers_from_taking_the_same_version(client, world, session, store) -> None:
    from app.db import session_scope
    from app.models._base import utcnow

    target = PICKER.assignment(session, world.ids["lc_sfj"])
    evidence_id = upload(client, world.auth("lc-sfj"), target.id, drawn_pdf(), "并发.pdf", title="预览-并发").json()[
        "id"
    ]
    version_id = _version_with_id(session, evidence_id)["id"]
    now = utcnow()
    with session_scope() as s:
        first = {w.version.id: w for w in previews.claim(s, now=now, limit=10_000)}
    with session_scope() as s:
        second = previews.claim(s, now=now, limit=10_000)
    assert version_id in first and not set(first) & {w.version.id for w in second}
    # A lease that ran out is taken over; the first worker's late answer is refused.
    with session_scope() as s:
        later = now + timedelta(seconds=previews.LEASE_SECONDS + 1)
        again = {w.version.id: w for w in previews.claim(s, now=later, limit=10_000)}
    assert again[version_id].lease_token != first[version_id].lease_token
    with session_scope() as s:
        assert not previews.settle(s, work=first[version_id], key="pv/late", retry=False, now=now)
    outcome = previews.make(store, again[version_id])
    assert outcome.key is not None and not outcome.retry and outcome.failure is None
    with session_scope() as s:
        assert previews.settle(s, work=again[version_id], key=outcome.key, retry=False, now=later)
    assert _version(client, world.auth("lc-office"), evidence_id)["preview"] == "ready"


def _version_with_id(session, evidence_id: int) -> dict:
    from sqlmodel import select

    from app.models import EvidenceVersion

    session.expire_all()
    row = session.exec(select(EvidenceVersion).where(EvidenceVersion.evidence_id == evidence_id)).one()
    return {"id": row.id}


def test_a_claim_past_the_attempts_allowed_is_given_up_not_retried(client, world, session, store) -> None:
    """A worker killed mid-job every time (the lease runs out, the version is claimed again): after
    MAX_ATTEMPTS claims the preview and the search text are marked failed "gave_up", and no claim follows."""
    from sqlalchemy import update

    from app.db import session_scope
    from app.models import EvidenceVersion
    from app.services.worker import leases, texts

    target = PICKER.assignment(session, world.ids["lc_sfj"])
    evidence_id = upload(client, world.auth("lc-sfj"), target.id, drawn_pdf(), "反复.pdf", title="预览-反复").json()[
        "id"
    ]
    with session_scope() as s:
        s.execute(
            update(EvidenceVersion)
            .where(EvidenceVersion.evidence_id == evidence_id)
            .values(preview_attempts=leases.MAX_ATTEMPTS, text_attempts=leases.MAX_ATTEMPTS)
        )
    previews.run_once(store, limit=10_000)
    texts.run_once(store, limit=10_000)
    shown = _version(client, world.auth("lc-office"), evidence_id)
    assert shown["preview"] == "failed" and shown["preview_failure"]["code"] == "gave_up", shown
    assert shown["text_status"] == "failed" and shown["text_failure"]["code"] == "gave_up", shown
    assert shown["preview_failure"]["message"] == "多次尝试仍未完成，已停止重试"
