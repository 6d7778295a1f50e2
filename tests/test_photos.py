"""Phone photos through HTTP (issue 26, point 2): an iPhone's HEIC is accepted after its structure is checked
(libheif), previewed the way its EXIF turns it, downloadable as the original and as a JPEG; a file named .heic
that is not one is refused with heic_invalid; the capture time and place (拍摄时间/拍摄地点) are shown to the unit
that sent the photo, the office and the evaluators, not to the province nor (they cannot read it at all) to
another unit; a JPEG's EXIF orientation turns its preview too."""

from __future__ import annotations

import io
from datetime import date

import pytest
from PIL import Image

from app.services.storage import LocalStore
from app.services.worker import previews
from tests.conftest import pin_today, use_store
from tests.evidence_kit import API, PICKER, find_listed, pdf, upload
from tests.graphql_kit import gql
from tests.photo_kit import heic, jpeg


@pytest.fixture
def store(app, tmp_path):
    """The API on a fresh local folder, on a day uploads are open; the worker is handed the same store."""
    from app.api import deps

    pin_today(app, date(2023, 2, 10))
    found = LocalStore(tmp_path / "objects")
    found.ensure_ready()
    use_store(app, found)
    yield found
    app.dependency_overrides.pop(deps._store, None)


def _send(client, world, session, data: bytes, name: str) -> dict:
    target = PICKER.assignment(session, world.ids["lc_sfj"])
    r = upload(client, world.auth("lc-sfj"), target.id, data, name, title=f"现场照片-{name}")
    assert r.status_code == 201, r.text
    return r.json()


def _blue_on_top(png: bytes) -> bool:
    """The test picture's blue half stands on top once turned by orientation 6 (it was the left half)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    top, bottom = image.getpixel((image.width // 2, 2)), image.getpixel((image.width // 2, image.height - 3))
    return image.height > image.width and top[2] > 200 > top[0] and bottom[0] > 200 > bottom[2]


def test_a_heic_photo_is_accepted_previewed_upright_and_downloadable_as_heic_and_jpeg(
    client, world, session, store
) -> None:
    sent = _send(client, world, session, heic(), "IMG_0001.HEIC")
    version = sent["current"]
    assert (version["content_type"], version["download_name"], version["preview"]) == (
        "image/heic",
        "IMG_0001.HEIC",
        "pending",
    )
    office = world.auth("lc-office")
    assert previews.run_once(store, limit=10_000)["ready"] >= 1
    preview = client.get(f"{API}/evidence/{sent['id']}/versions/1/preview.png", headers=office)
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/png"
    assert _blue_on_top(preview.content)  # turned the way the photo was taken

    original = client.get(f"{API}/evidence/{sent['id']}/versions/1/content", headers=office)
    assert original.status_code == 200 and original.content == heic()
    as_jpeg = client.get(f"{API}/evidence/{sent['id']}/versions/1/content.jpg", headers=office)
    assert as_jpeg.status_code == 200, as_jpeg.text
    assert as_jpeg.headers["content-type"] == "image/jpeg"
    assert "IMG_0001.jpg" in as_jpeg.headers["content-disposition"]
    picture = Image.open(io.BytesIO(as_jpeg.content))
    assert picture.format == "JPEG" and picture.size == (32, 64)  # full size, upright
    assert picture.getexif().get(0x0112) == 1  # turned already: no viewer turns it twice

    # another unit (县公安局) cannot read the photo in any form
    for path in ("", "/versions/1/content", "/versions/1/content.jpg"):
        r = client.get(f"{API}/evidence/{sent['id']}{path}", headers=world.auth("lc-gaj"))
        assert r.status_code == 404, (path, r.text)
    # a PDF has no JPEG form
    other = PICKER.assignment(session, world.ids["lc_sfj"])
    made = upload(client, world.auth("lc-sfj"), other.id, pdf(), "方案.pdf").json()
    r = client.get(f"{API}/evidence/{made['id']}/versions/1/content.jpg", headers=office)
    assert r.status_code == 409 and r.json()["code"] == "not_an_image"


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"this is a text file, not a photo\n" * 20, "IMG_0002.HEIC"),  # named .heic, holds no image at all
        (heic()[:300], "IMG_0003.heic"),  # a HEIC cut short: the right first bytes, boxes missing
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 500, "IMG_0004.heif"),  # a bare header
    ],
)
def test_a_file_named_heic_that_is_not_one_is_refused(client, world, session, store, data, name) -> None:
    target = PICKER.assignment(session, world.ids["lc_sfj"])
    r = upload(client, world.auth("lc-sfj"), target.id, data, name)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "heic_invalid"
    assert "HEIC" in body["detail"]
    assert not list(store.keys("ev/")), "a refused file is not kept"


def test_capture_time_and_place_are_shown_to_the_unit_office_and_evaluators_only(client, world, session, store) -> None:
    sent = _send(client, world, session, heic(), "IMG_0005.HEIC")
    expected = {"taken_at": "2023-03-05T10:20:30", "latitude": 35.78, "longitude": 113.26}
    assert sent["current"]["photo"] == expected  # the unit that sent it
    for who in ("lc-office", "evaluator"):
        r = client.get(f"{API}/evidence/{sent['id']}", headers=world.auth(who))
        assert r.status_code == 200, r.text
        assert r.json()["versions"][0]["photo"] == expected, who
    shown = find_listed(client, world.auth("lc-office"), sent["campaign_id"], sent["id"])
    assert shown["current"]["photo"] == expected

    province = client.get(f"{API}/evidence/{sent['id']}", headers=world.auth("sx-province"))
    if province.status_code == 200:  # the province reads the county's evidence, not where its people stand
        assert province.json()["versions"][0]["photo"] is None
    else:
        assert province.status_code == 404
    assert client.get(f"{API}/evidence/{sent['id']}", headers=world.auth("lc-gaj")).status_code == 404
    assert client.get(f"{API}/evidence/{sent['id']}", headers=world.auth("gp-office")).status_code == 404

    query = "query($id: Int!) { evidence(id: $id) { versions { photo { takenAt latitude longitude } } } }"
    data = gql(client, world.auth("lc-office"), query, {"id": sent["id"]})["data"]
    assert data["evidence"]["versions"][0]["photo"] == {"takenAt": "2023-03-05T10:20:30", "latitude": 35.78,
                                                        "longitude": 113.26}  # fmt: skip


def test_a_jpeg_is_previewed_the_way_its_exif_turns_it_and_keeps_its_capture_facts(
    client, world, session, store
) -> None:
    sent = _send(client, world, session, jpeg(), "DSC_0001.jpg")
    assert sent["current"]["photo"]["taken_at"] == "2023-03-05T10:20:30"
    assert previews.run_once(store, limit=10_000)["ready"] >= 1
    preview = client.get(f"{API}/evidence/{sent['id']}/versions/1/preview.png", headers=world.auth("lc-office"))
    assert preview.status_code == 200 and _blue_on_top(preview.content)
