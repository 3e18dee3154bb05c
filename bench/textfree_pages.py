"""Art left alone: what the pipeline marks on generated pages that hold no text at all.

    python bench/textfree_pages.py [--pages 36] [--segmenter PATH] [--threshold T] [--coarse 4] [--out DIR]

Every pixel marked on a text-free page is art the inpainter would erase: eyes, hair, screentone,
cel-shaded cloth. ``bench/realpages.py`` shows this on six real pages; this measures it on many
generated ones, with the pipeline a user runs (``Pipeline.segment``, default parameters unless
overridden). Pages are ``make_sample(..., text=False)`` in the held-out split from seeds 7,000,000+
(no training, validation, mining or other benchmark page): every third a colour page, the rest
manga. It prints the share of each kind's pixels marked and the pages marked most; ``--out`` writes
those pages with the mask in red, to look at.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

SEED = 7_000_000


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=36)
    ap.add_argument("--segmenter", default=None, help="weight file or training checkpoint (default: shipped)")
    ap.add_argument("--threshold", type=float, default=None, help="override the model's threshold")
    ap.add_argument("--coarse", type=int, default=None, help="override the coarse pass for large lettering (0: off)")
    ap.add_argument("--worst", type=int, default=4, help="how many of the most-marked pages to list and draw")
    ap.add_argument("--out", default=None, help="folder for overlays of the most-marked pages")
    args = ap.parse_args(argv)
    from realpages import _runner_for
    from textclean.masks import MaskParams
    from textclean.pipeline import Pipeline, PipelineConfig
    from textclean_train.synth import make_sample

    config = PipelineConfig() if args.coarse is None else PipelineConfig(coarse_factor=args.coarse)
    pipeline = Pipeline(_runner_for(args.segmenter, args.threshold), config)
    params = MaskParams(threshold=args.threshold)
    marked = {"manga": [], "colour": []}
    pages = []
    t0 = time.perf_counter()
    for i in range(args.pages):
        kind = "colour" if i % 3 == 2 else "manga"
        raw = make_sample(SEED + i, kind, split="heldout", text=False).raw
        mask = pipeline.segment(raw, params=params) > 0
        marked[kind].append(float(mask.mean()))
        pages.append((float(mask.mean()), SEED + i, kind, raw, mask))
    pages.sort(key=lambda p: -p[0])
    print("| pages | n | marked share of the page (mean) | pages with over 1% marked |")
    print("| --- | --- | --- | --- |")
    out = {}
    for kind, shares in (*marked.items(), ("all", marked["manga"] + marked["colour"])):
        if shares:
            print(f"| {kind} | {len(shares)} | {100 * np.mean(shares):.3f}% | {sum(s > 0.01 for s in shares)} |")
            out[kind] = float(np.mean(shares))
    print()
    print("most marked: " + ", ".join(f"seed {s} ({k}) {100 * m:.2f}%" for m, s, k, _r, _m in pages[: args.worst]))
    if args.out:
        import cv2
        from textclean_train.metrics import overlay

        os.makedirs(args.out, exist_ok=True)
        for _share, seed, _kind, raw, mask in pages[: args.worst]:
            none = np.zeros_like(mask)
            shown = overlay(raw, none, mask, none)  # every mark is a false positive: red, as realpages draws it
            cv2.imwrite(os.path.join(args.out, f"{seed}.jpg"), cv2.cvtColor(shown, cv2.COLOR_RGB2BGR))
    print(f"{args.pages} pages in {time.perf_counter() - t0:.0f} s" + (f"; overlays in {args.out}" if args.out else ""))
    return out


if __name__ == "__main__":
    main()
