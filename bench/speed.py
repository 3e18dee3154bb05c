"""Segmenter and inpainter milliseconds per 512×512 and per full page, in-process.

    python bench/speed.py [--device cpu] [--threads 2]

The page is a synthetic 1654×2339 (A4 at 200 dpi) manga page the models
never trained on.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import median_time, test_page  # noqa: E402
from textclean.backend import ModelRunner  # noqa: E402
from textclean.pipeline import Pipeline  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    runner = ModelRunner(args.device)
    pipeline = Pipeline(runner)
    rng = np.random.default_rng(0)
    tile = rng.integers(0, 256, (1, 512, 512, 3), dtype=np.uint8)
    crop = rng.random((512, 512, 3), dtype=np.float32)
    hole = np.zeros((512, 512), bool)
    hole[128:384, 128:384] = True
    page, true_mask = test_page()
    seg_512 = median_time(lambda: runner.segment(tile), repeats=5)
    inp_512 = median_time(lambda: runner.inpaint(crop, hole), repeats=5)
    seg_page = median_time(lambda: pipeline.segment(page))
    inp_page = median_time(lambda: pipeline.inpaint(page, true_mask))
    inp_page_model = median_time(lambda: pipeline.inpaint(page, true_mask, flat_fill=False))
    e2e = median_time(lambda: pipeline.remove_text(page))
    h, w = page.shape[:2]
    info = runner.info()
    print(f"device {info['device']} ({info['backend']}), {args.threads} threads, page {w}×{h}")
    print(f"{'what':44s} {'ms':>9s}")
    rows = [
        ("segmenter, one 512×512 tile", seg_512),
        ("inpainter, one 512×512 crop", inp_512),
        (f"segment, full page ({w * h / 1e6:.1f} MP)", seg_page),
        ("inpaint, full page, true mask, flat fill on", inp_page),
        ("inpaint, full page, true mask, model only", inp_page_model),
        ("remove_text end to end, full page", e2e),
    ]
    for name, t in rows:
        print(f"{name:44s} {1000 * t:9.1f}")
    print(
        f"segmenter throughput: {w * h / 1e6 / seg_page:.2f} MP/s on the page, "
        f"{512 * 512 / 1e6 / seg_512:.2f} MP/s per tile"
    )


if __name__ == "__main__":
    main()
