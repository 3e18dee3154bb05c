"""Held-out validation on whole pages, through the pipeline a user runs.

    python bench/heldout_pages.py [--pages 60] [--segmenter PATH] [--threshold T] [--blobcheck off] [--by-kind]

The training validation (``textclean_train.evaluate``) scores the network alone on 320-px crops. A
crop cut from inside lettering of 300 px, or from the hollow middle of an outlined word, holds no sign
of text at all, and the crops' worst dozen hold almost a third of the errors. The user never sees a
crop: ``textclean mask`` looks at the whole page, with the second look, the blob check and the mask
post-processing. This runs that on generated pages in the held-out font families only (the same seeds
as the crop validation, 2,000,000+, so no training page), every third a colour page, and prints
precision, recall and F1 pooled over the pages' pixels, strict and with the 3 px tolerance (a marked
pixel within 3 px of text is not a false positive; a text pixel within 3 px of a marked one is
found). Pixels the generator labels ignore (JPEG ringing around colour text) count for neither side.
``--by-kind`` adds the recall of each kind of lettering the generator sets (``synth.KINDS``: balloons,
SFX, text on the art...), and its share of all the text missed: what to work on next.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

SEED = 2_000_000  # the held-out crop validation's pages (campaign.make_data)
TOLERANCE_PX = 3


def page_counts(mask: np.ndarray, label: np.ndarray, px: int = TOLERANCE_PX) -> np.ndarray:
    """Counts [marked, marked on text, text, text found] strict, then the same with a ``px`` tolerance."""
    from textclean_train.metrics import IGNORE, tolerant_scores

    pred, ref = (mask > 0) & (label != IGNORE), label == 1
    *_, found, false, missed = tolerant_scores(pred, ref, px)
    marked, text, hit = int(pred.sum()), int(ref.sum()), int((pred & ref).sum())
    return np.array([marked, hit, text, hit, marked, int(found.sum()), text, text - int(missed.sum())], np.int64)


def kind_counts(mask: np.ndarray, label: np.ndarray, kinds: np.ndarray, px: int = TOLERANCE_PX) -> np.ndarray:
    """Text pixels and found text pixels (``px`` tolerance) per kind of lettering: a 2 × len(KINDS) array."""
    from textclean_train.metrics import IGNORE, tolerant_scores
    from textclean_train.synth import KINDS

    ref = label == 1
    *_, missed = tolerant_scores((mask > 0) & (label != IGNORE), ref, px)
    return np.stack(
        [np.bincount(kinds[ref], minlength=len(KINDS)), np.bincount(kinds[ref & ~missed], minlength=len(KINDS))]
    ).astype(np.int64)


def kind_table(counts: np.ndarray) -> list[str]:
    """Markdown rows from summed ``kind_counts``: each kind's share of the text, recall, share of the misses."""
    from textclean_train.synth import KINDS

    text, found = counts
    missed = max(1, int((text - found).sum()))
    rows = ["| lettering | share of text | recall (3 px) | share of all missed |", "| --- | --- | --- | --- |"]
    for k in np.argsort(found - text):  # most missed first
        if text[k]:
            share, recall, lost = text[k] / text.sum(), found[k] / text[k], (text[k] - found[k]) / missed
            rows.append(f"| {KINDS[k]} | {share:.3f} | {recall:.3f} | {lost:.3f} |")
    return rows


def scores(counts: np.ndarray) -> dict[str, float]:
    """Precision, recall and F1, strict and tolerant, from summed ``page_counts``."""
    out = {}
    for name, (marked, right, text, found) in (("strict", counts[:4]), ("tolerant", counts[4:])):
        p, r = right / max(1, marked), found / max(1, text)
        out.update({f"{name}_precision": p, f"{name}_recall": r, f"{name}_f1": 2 * p * r / max(1e-9, p + r)})
    return out


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=60)
    ap.add_argument("--segmenter", default=None, help="weight file or training checkpoint (default: shipped)")
    ap.add_argument("--threshold", type=float, default=None, help="override the model's threshold")
    ap.add_argument(
        "--blobcheck", default=None, help="'off' for the segmenter without the blob check (default: as shipped)"
    )
    ap.add_argument("--tile", type=int, default=None, help="override the pipeline's largest tile side")
    ap.add_argument("--margin", type=int, default=None, help="override the tiles' overlap margin")
    ap.add_argument("--second-scale", type=float, default=None, help="override the second look (0: off)")
    ap.add_argument("--coarse", type=int, default=None, help="override the coarse pass for large lettering (0: off)")
    ap.add_argument("--by-kind", action="store_true", help="also the recall of each kind of lettering")
    args = ap.parse_args(argv)
    from realpages import _runner_for
    from textclean.masks import MaskParams
    from textclean.pipeline import Pipeline, PipelineConfig
    from textclean_train.synth import KINDS, make_sample

    overrides = {
        "tile": args.tile,
        "margin": args.margin,
        "second_scale": args.second_scale,
        "coarse_factor": args.coarse,
    }
    config = PipelineConfig(**{k: v for k, v in overrides.items() if v is not None})
    blob_model = None if args.blobcheck == "off" else "shipped"
    pipeline = Pipeline(_runner_for(args.segmenter, args.threshold), config, blob_model=blob_model)
    params = MaskParams(threshold=args.threshold)
    totals = {kind: np.zeros(8, np.int64) for kind in ("manga", "colour")}
    pages = dict.fromkeys(totals, 0)
    by_kind = np.zeros((2, len(KINDS)), np.int64)
    t0 = time.perf_counter()
    for i in range(args.pages):
        kind = "colour" if i % 3 == 2 else "manga"
        s = make_sample(SEED + i, kind, split="heldout", kinds=args.by_kind)
        mask = pipeline.segment(s.raw, params=params)
        totals[kind] += page_counts(mask, s.label)
        if args.by_kind:
            by_kind += kind_counts(mask, s.label, s.kinds)
        pages[kind] += 1
    print("| pages | n | precision | recall | F1 | precision (3 px) | recall (3 px) | F1 (3 px) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    every = {**totals, "all": totals["manga"] + totals["colour"]}
    pages["all"] = args.pages
    for kind, c in every.items():
        f = scores(c)
        print(
            f"| {kind} | {pages[kind]} | {f['strict_precision']:.3f} | {f['strict_recall']:.3f} | {f['strict_f1']:.3f} "
            f"| {f['tolerant_precision']:.3f} | {f['tolerant_recall']:.3f} | {f['tolerant_f1']:.3f} |"
        )
    if args.by_kind:
        print("\n" + "\n".join(kind_table(by_kind)))
    print(f"\n{args.pages} pages in {time.perf_counter() - t0:.0f} s")
    return scores(every["all"])


if __name__ == "__main__":
    main()
