"""Words in scans and photos, read by Tesseract (Debian's tesseract-ocr with its chi_sim model: offline, no
download at run time). Runs inside the worker's limited file-job child (worker.sandbox), never in a request.

Tesseract is a separate program: each page goes to it on standard input as a PNG, its words come back on
standard output. It inherits the child's memory limit (RLIMIT_AS) and gets its own CPU limit; it runs with one
thread (OMP_THREAD_LIMIT=1: the worker shares the machine), is killed when the child dies (PR_SET_PDEATHSIG),
and every call has a timeout, so a file costs at most SHIFAN_OCR_SECONDS however many pages it has. Pages past
SHIFAN_OCR_MAX_PAGES are not read (the search then finds what the first pages say).
"""

from __future__ import annotations

import ctypes
import io
import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator

from PIL import Image, ImageOps

from app.services.media import photos  # noqa: F401 - registers the HEIC/HEIF opener with Pillow
from app.settings import get_settings

log = logging.getLogger("shifan.ocr")
DPI = 300  # Tesseract reads best with characters about 30 pixels high; a 小四 (12 pt) line at 300 dpi is 50
MAX_PIXELS = 40_000_000  # a page or photo larger than this is scaled down before reading
_PR_SET_PDEATHSIG = 1


class Unavailable(Exception):
    """No OCR engine here (tesseract or its language model missing): the file keeps no_text_layer."""


def available() -> bool:
    """Whether OCR is switched on and Tesseract is installed."""
    return get_settings().ocr_enabled and shutil.which("tesseract") is not None


def budget() -> tuple[int, float]:
    """The page cap and the seconds one file may take (kept under the file job's wall limit)."""
    s = get_settings()
    return s.ocr_max_pages, max(1.0, min(s.ocr_seconds, s.file_job_seconds - 10))


def read_images(images: Iterator[Image.Image]) -> str:
    """The words on each image (pages of one file), within the page cap and the time budget."""
    if not available():
        raise Unavailable("未安装 Tesseract 文字识别程序，或已关闭文字识别（OCR）")
    max_pages, seconds = budget()
    deadline = time.monotonic() + seconds
    parts: list[str] = []
    for n, image in enumerate(images):
        if n >= max_pages:
            log.info("OCR stopped at the page cap (%d)", max_pages)
            break
        left = deadline - time.monotonic()
        if left <= 1:
            log.info("OCR stopped at the time cap after %d pages", n)
            break
        parts.append(_tesseract(_prepared(image), timeout=left))
    return "\n".join(p for p in parts if p.strip())


def _prepared(image: Image.Image) -> bytes:
    """The image as Tesseract reads it best: upright (EXIF), grey, not huge; PNG bytes."""
    image = ImageOps.exif_transpose(image)
    if image.width * image.height > MAX_PIXELS:
        scale = (MAX_PIXELS / (image.width * image.height)) ** 0.5
        image = image.resize((max(1, int(image.width * scale)), max(1, int(image.height * scale))))
    out = io.BytesIO()
    image.convert("L").save(out, format="PNG")
    return out.getvalue()


def _die_with_parent() -> None:  # pragma: no cover - runs in the forked tesseract before exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _tesseract(png: bytes, *, timeout: float) -> str:
    s = get_settings()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OMP_THREAD_LIMIT": "1", "LC_ALL": "C.UTF-8"}
    # --psm 3: find the text blocks on the page (a decision has a title, paragraphs, a seal and a date)
    command = ["tesseract", "stdin", "stdout", "-l", s.ocr_languages, "--psm", "3"]
    try:
        done = subprocess.run(  # noqa: S603 - a fixed program and arguments, no shell
            command,
            input=png,
            capture_output=True,
            timeout=timeout,
            env=env,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl, no locks taken
            check=False,
        )
    except subprocess.TimeoutExpired:
        log.info("OCR page timed out")
        return ""
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace")[-300:]
        if "Failed loading language" in message or "Error opening data file" in message:
            raise Unavailable(f"Tesseract 缺少文字识别语言模型：{message}")
        log.info("tesseract failed: %s", message)
        return ""
    return done.stdout.decode("utf-8", "replace")
