"""Recall on display lettering of 150-400 px: glyphs larger than the segmenter's receptive field.

    python bench/large_text.py [--pages 12] [--segmenter PATH] [--no-check-blobs]

Each page is a generated manga page (held-out fonts, fixed seeds 6,000,000+) with one to three words of
SFX or title lettering at 150-400 px, plain or outlined, over the page's art (outlines as the training
generator draws them, at most ``synth.sfx_rim``: a few px, as letterers rim even 400-px SFX). It prints
recall (a text pixel counts as found when a marked pixel is within 3 px), the share of each glyph's
area that is found, and precision, per size band, for the full ``textclean mask`` pipeline.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

SEED = 6_000_000
BANDS = ((150, 220), (220, 300), (300, 400))


def large_text_page(seed: int, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """An RGB uint8 manga page with big lettering over its art, and the text label (bool)."""
    from textclean_train import corpus
    from textclean_train.pages import manga_page
    from textclean_train.synth import labels_from_alpha, sfx_rim
    from textclean_train.text import composite, pick_font, render_block

    rng = np.random.default_rng(seed)
    h, w = 1400, 1000
    gray, _ = manga_page(h, w, rng, scenery=False)
    page = np.repeat(gray[..., None], 3, axis=2)
    alpha = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(1, 3))):
        size = int(rng.integers(lo, hi))
        script = str(rng.choice(["ja", "en", "ko"]))
        text = corpus.sfx(rng, script)[: 3 if script != "en" else 6]
        # Before sfx_rim (session 21) rims were size / 14 or size / 9, up to 44 px: figures from
        # before then are not comparable.
        stroke = min(int(rng.choice([0, max(2, size // 14), max(3, size // 9)])), sfx_rim(size))
        block = render_block(
            [text],
            pick_font(rng, script, "heldout", bold=True),
            size,
            False,
            stroke,
            0,
            rng,
            float(rng.uniform(-20, 20)),
        )
        bh, bw = block.fill.shape
        x, y = int(rng.integers(0, max(1, w - bw))), int(rng.integers(0, max(1, h - bh)))
        fill = (0.0, 0.0, 0.0) if rng.random() < 0.6 else (1.0, 1.0, 1.0)
        outline = tuple(1.0 - c for c in fill)
        np.maximum(alpha, composite(page, block, x, y, fill, outline, (0.5,) * 3), out=alpha)
    raw = (np.clip(page, 0, 1) * 255 + 0.5).astype(np.uint8)
    return raw, labels_from_alpha(alpha) == 1


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=12, help="pages per size band")
    ap.add_argument("--segmenter", default=None, help="weight file or training checkpoint (default: shipped)")
    ap.add_argument("--coarse", type=int, default=None, help="the pipeline's coarse pass factor (0: off)")
    ap.add_argument("--no-check-blobs", action="store_true", help="without the blob check (the segmenter alone)")
    args = ap.parse_args(argv)
    from realpages import _runner_for
    from textclean.pipeline import Pipeline, PipelineConfig
    from textclean_train.metrics import tolerant_scores

    config = PipelineConfig() if args.coarse is None else PipelineConfig(coarse_factor=args.coarse)
    check = None if args.no_check_blobs else "shipped"
    pipeline = Pipeline(_runner_for(args.segmenter, None), config, blob_model=check)
    print("| lettering size | pages | recall (3 px) | precision (3 px) |")
    print("| --- | --- | --- | --- |")
    t0 = time.perf_counter()
    for lo, hi in BANDS:
        rs, ps = [], []
        for i in range(args.pages):
            raw, text = large_text_page(SEED + lo * 100 + i, lo, hi)
            mask = pipeline.segment(raw)
            p, r, *_ = tolerant_scores(mask, text)
            rs.append(r)
            ps.append(p)
        print(f"| {lo}-{hi} px | {args.pages} | {np.mean(rs):.3f} | {np.mean(ps):.3f} |", flush=True)
    print(f"\n{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
