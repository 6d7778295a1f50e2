"""The date a document speaks for, as suggested from its file: the first date written in its text (2023年3月5日,
2023-03-05, 二〇二三年三月五日 …) or a PDF's CreationDate. The unit confirms or changes it; nothing here is trusted
as the document's date by itself."""

from __future__ import annotations

import re
from datetime import date

_DIGITS = "０１２３４５６７８９"
_WIDE = str.maketrans(_DIGITS, "0123456789")
_CN = {c: n for n, c in enumerate("〇一二三四五六七八九")} | {"零": 0, "○": 0, "Ｏ": 0}
_CN_DIGIT = "〇零○Ｏ一二三四五六七八九"
_CN_SMALL = f"[{_CN_DIGIT}十]{{1,3}}"
_PATTERNS = (
    # 2023年3月5日 (spaces an OCR may put between the characters allowed)
    re.compile(r"(?<!\d)((?:19|20)\d\d)\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]"),
    # 2023-03-05, 2023.3.5, 2023/03/05
    re.compile(r"(?<!\d)((?:19|20)\d\d)[-./](\d{1,2})[-./](\d{1,2})(?!\d)"),
    # 二〇二三年三月五日, 二〇二三年十二月三十一日
    re.compile(rf"([{_CN_DIGIT}]{{4}})\s*年\s*({_CN_SMALL})\s*月\s*({_CN_SMALL})\s*[日号]"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\u200b\ufeff]")
_PDF_DATE = re.compile(r"^D?:?((?:19|20)\d\d)(\d\d)(\d\d)")
EARLIEST, LATEST = date(1990, 1, 1), date(2100, 12, 31)


def first_date(text: str) -> date | None:
    """The first real calendar date written in text (a 2023年2月30日 is skipped), or None."""
    text = _CONTROL.sub("", (text or "").translate(_WIDE))  # some PDFs' text comes out with NULs between characters
    found: list[tuple[int, date]] = []
    for pattern in _PATTERNS:
        for match in pattern.finditer(text):
            try:
                when = _date(*(_number(g) for g in match.groups()))
            except KeyError:  # 十十 and other strings that are no number
                continue
            if when is not None:
                found.append((match.start(), when))
                break  # the first of this pattern; the earliest of all patterns wins below
    return min(found)[1] if found else None


def pdf_date(raw: object) -> date | None:
    """The date of a PDF date string (D:20230305093000+08'00'), or None."""
    match = _PDF_DATE.match(str(raw or "").strip())
    return _date(*(int(g) for g in match.groups())) if match else None


def _number(text: str) -> int:
    if text.isdigit():
        return int(text)
    if len(text) == 4:  # a year, digit by digit: 二〇二三
        return int("".join(str(_CN[c]) for c in text))
    if "十" in text:  # 十, 十二, 二十, 三十一
        tens, _, ones = text.partition("十")
        return (_CN[tens] if tens else 1) * 10 + (_CN[ones] if ones else 0)
    return int("".join(str(_CN[c]) for c in text))


def _date(year: int, month: int, day: int) -> date | None:
    try:
        when = date(year, month, day)
    except ValueError:
        return None
    return when if EARLIEST <= when <= LATEST else None
