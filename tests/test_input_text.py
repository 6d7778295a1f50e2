"""Calendar year texts go through the shared text types (issue 23, point 8): the outside probe stored a calendar
year whose texts kept control and bidirectional characters and whose source was a `javascript:` address.
Through HTTP with a real token."""

from __future__ import annotations

from tests.evidence_kit import API

NOTICE = {
    "title": "国务院办公厅关于2095年\u202e部分节假日安排的通知\x07",
    "document_number": "国办发明电〔2094〕\u200f7号",
    "source_url": "https://www.gov.cn/zhengce/2095.htm",
    "festivals": [{"name": "元旦\u2066", "holiday_from": "2095-01-01", "holiday_to": "2095-01-03"}],
}


def test_calendar_texts_are_cleaned_and_only_web_addresses_accepted(client, world) -> None:
    admin = world.auth("sysadmin")
    r = client.put(f"{API}/calendar/years/2095", json=NOTICE, headers=admin)
    assert r.status_code == 200, r.text
    stored = client.get(f"{API}/calendar/years", headers=admin).json()["items"]
    [year] = [y for y in stored if y["year"] == 2095]
    assert year["title"] == "国务院办公厅关于2095年部分节假日安排的通知"
    assert year["document_number"] == "国办发明电〔2094〕7号" and year["festivals"][0]["name"] == "元旦"
    for bad in (
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,<b>x</b>",
        "file:///etc/passwd",
        "https://",
    ):
        r = client.put(f"{API}/calendar/years/2095", json={**NOTICE, "source_url": bad}, headers=admin)
        assert r.status_code == 422, (bad, r.text)
        assert "http" in r.text
