"""OCR of scans (`python -m bench.ocr`): accuracy (character error rate) and speed of the worker's OCR on generated
scans, as BENCHMARKS.md's "OCR of scans" reports them.

Each page: 10 lines of county legal-affairs prose (bench/scans.py) drawn with Noto Sans CJK SC at 14 pt (小四 is
12 pt, 四号 14 pt) on A4 at 300 dpi, turned by up to ±1.5°, with speckles, a slight blur and a grey cast; saved as
an image-only PDF (PDFium draws it again at 300 dpi for Tesseract) and as a JPEG (quality 80). Each is read with
search.extract.extract, the function the worker's child process runs (one Tesseract thread, as in the worker),
timed by wall clock; CER = edit distance / characters expected, whitespace ignored. Also at 12 pt and turned 3°,
the harder cases.
"""

from __future__ import annotations

import argparse
import statistics
import time

from app.services.search import extract
from bench import scans


def _case(label: str, pages: int, *, size_pt: int, angle: float | None, kind: str) -> dict[str, object]:
    errors, seconds = [], []
    for seed in range(pages):
        lines = scans.page_text(seed)
        page = scans.draw_page(lines, seed=seed, size_pt=size_pt, angle=angle)
        data, ext = (scans.as_pdf([page]), "pdf") if kind == "pdf" else (scans.as_jpeg(page), "jpg")
        started = time.perf_counter()
        found = extract.extract(data, extension=ext)
        seconds.append(time.perf_counter() - started)
        expected = "".join(lines)
        errors.append(scans.cer(expected, found.text))
    return {
        "case": label,
        "pages": pages,
        "cer_mean": statistics.mean(errors),
        "cer_max": max(errors),
        "pages_per_second": pages / sum(seconds),
        "seconds_per_page": statistics.median(seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=8, help="pages per case")
    args = parser.parse_args()
    cases = [
        ("image-only PDF, 14 pt, ±1.5°", {"size_pt": 14, "angle": None, "kind": "pdf"}),
        ("JPEG (q 80), 14 pt, ±1.5°", {"size_pt": 14, "angle": None, "kind": "jpg"}),
        ("image-only PDF, 12 pt, ±1.5°", {"size_pt": 12, "angle": None, "kind": "pdf"}),
        ("image-only PDF, 14 pt, 3°", {"size_pt": 14, "angle": 3.0, "kind": "pdf"}),
    ]
    print("| scans | pages | CER mean | CER worst page | pages/s | s per page (median) |")
    print("|---|---|---|---|---|---|")
    for label, kw in cases:
        row = _case(label, args.pages, **kw)  # type: ignore[arg-type]
        print(
            f"| {row['case']} | {row['pages']} | {row['cer_mean']:.1%} | {row['cer_max']:.1%} | "
            f"{row['pages_per_second']:.2f} | {row['seconds_per_page']:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
