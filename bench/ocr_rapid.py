"""The same generated scans read by RapidOCR (PP-OCRv4 models bundled in the rapidocr_onnxruntime wheel), to choose
the engine by measurement. Not a project dependency: run it in a separate virtualenv that has rapidocr_onnxruntime
and Pillow (`python -m venv /tmp/rapid && /tmp/rapid/bin/pip install rapidocr_onnxruntime`, then from the checkout
`OMP_NUM_THREADS=1 /tmp/rapid/bin/python -m bench.ocr_rapid`). One thread, as the worker's OCR runs."""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time

from PIL import Image

from bench import scans


def main() -> None:
    from rapidocr_onnxruntime import RapidOCR  # type: ignore[import-not-found]

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=8)
    args = parser.parse_args()
    threads = int(os.environ.get("OMP_NUM_THREADS", "1"))
    engine = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1)
    cases = [("JPEG (q 80), 14 pt, ±1.5°", 14, None), ("JPEG (q 80), 12 pt, ±1.5°", 12, None),
             ("JPEG (q 80), 14 pt, 3°", 14, 3.0)]  # fmt: skip
    print("| scans (RapidOCR) | pages | CER mean | CER worst page | pages/s | s per page (median) |")
    print("|---|---|---|---|---|---|")
    for label, size_pt, angle in cases:
        errors, seconds = [], []
        for seed in range(args.pages):
            lines = scans.page_text(seed)
            jpeg = scans.as_jpeg(scans.draw_page(lines, seed=seed, size_pt=size_pt, angle=angle))
            started = time.perf_counter()
            image = Image.open(io.BytesIO(jpeg)).convert("RGB")
            result, _ = engine(image)
            seconds.append(time.perf_counter() - started)
            text = "\n".join(r[1] for r in result or [])
            errors.append(scans.cer("".join(lines), text))
        print(f"| {label} | {args.pages} | {statistics.mean(errors):.1%} | {max(errors):.1%} | "
              f"{args.pages / sum(seconds):.2f} | {statistics.median(seconds):.2f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
