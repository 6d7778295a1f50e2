"""Chinese word segmentation with jieba: every word and its sub-words when indexing, whole words when asking."""

from __future__ import annotations

import logging
import re
import threading
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jieba

_CJK = r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]"
_SPACED = re.compile(rf"(?<={_CJK})[ \t]+(?={_CJK})|(?<={_CJK})[ \t]+(?=\d)|(?<=\d)[ \t]+(?={_CJK})")
_WORD = re.compile(r"\w", re.UNICODE)


_loading = threading.Lock()


@cache
def _tokenizer() -> jieba.Tokenizer:
    with _loading:  # one load even when the start-up's and a first request's threads ask at once
        return _load()


@cache
def _load() -> jieba.Tokenizer:
    import jieba  # here, not at the top: a process that never segments (the CLI's commands) does not pay its import

    jieba.setLogLevel(logging.WARNING)  # its dictionary ships in the wheel; no download, only a cache file
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def load_dictionary() -> None:
    """Load the segmenter's dictionary now (about a second), so that no search pays for it: the app calls it at
    start, off the event loop."""
    _tokenizer()


def unspace(text: str) -> str:
    """Letter-spaced text, as PDF extraction often yields it (本 机 关), joined again between Chinese characters."""
    return _SPACED.sub("", text)


def tidy(text: str) -> str:
    """Text as a reader sees it: no NUL, runs of blanks and empty lines cut."""
    text = text.replace("\x00", "")
    return re.sub(r"[ \t\r\f\v]+", " ", re.sub(r"\n\s*\n+", "\n", text)).strip()


def for_index(text: str) -> str:
    """The words to index, space-separated: 行政复议决定书 gives 行政 复议 行政复议 决定 决定书."""
    words = (w.strip().lower() for w in _tokenizer().cut_for_search(text))
    return " ".join(w for w in words if w and _WORD.search(w))


def for_query(q: str) -> list[str]:
    """The words of a search, each to be found (行政复议 stays one word), without repeats."""
    words = (w.strip().lower() for w in _tokenizer().cut(q))
    return list(dict.fromkeys(w for w in words if w and _WORD.search(w)))
