"""User text as it is accepted: no bidirectional overrides, no control characters.

A right-to-left override turns "报告\u202efdp.exe" into what a reader sees as "报告exe.pdf"; a C0 or C1
control character breaks the spreadsheets (openpyxl refuses the cell) and the ZIP index built from it.
Every schema that takes a name, a title, a comment or a statement uses one of the two types below, so
each route and GraphQL mutation strips them the same way before anything is stored.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BeforeValidator

# Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) and the invisible
# direction marks (U+200E, U+200F, U+061C); C0 controls, DEL and the C1 controls U+0080–U+009F.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_ONE_LINE = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{_BIDI}\u2028\u2029]")
_MULTI_LINE = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f{_BIDI}]")
_NEWLINES = re.compile("\r\n?|[\u2028\u2029\x0b\x0c]")


def clean_line(value: str) -> str:
    """value in NFC without control or direction-override characters (a name or a title)."""
    return _ONE_LINE.sub("", unicodedata.normalize("NFC", value))


def clean_text(value: str) -> str:
    """Multi-line text (a comment, a statement): the same, keeping line breaks (as \\n) and tabs."""
    return _MULTI_LINE.sub("", _NEWLINES.sub("\n", unicodedata.normalize("NFC", value)))


def _line(value: object) -> object:
    return clean_line(value) if isinstance(value, str) else value


def _text(value: object) -> object:
    return clean_text(value) if isinstance(value, str) else value


# Annotated[str, Field(max_length=…)] stays as it is; these only add the cleaning step before it.
Line = Annotated[str, BeforeValidator(_line)]
Text = Annotated[str, BeforeValidator(_text)]


def _url(value: object) -> object:
    """A web address people open: cleaned as a line, http or https with a host only (never javascript:, data:,
    file:, which a page or spreadsheet showing it as a link would run or open)."""
    if not isinstance(value, str):
        return value
    cleaned = clean_line(value).strip()
    parts = urlsplit(cleaned)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("网址须以 http:// 或 https:// 开头并包含网站地址")
    return cleaned


# A web address: http(s) only.
WebUrl = Annotated[str, BeforeValidator(_url)]
