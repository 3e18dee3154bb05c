"""The segmenter on real comic pages this project did not make, against their reference masks.

    python bench/realpages.py                                # the shipped weights, default parameters
    python bench/realpages.py --segmenter runs/seg/best.pt   # a training checkpoint or weight file
    python bench/realpages.py --out /tmp/realpages            # where the overlays go

The pages live in ``../shared/realpages/`` (``--pages`` or ``TEXTCLEAN_REALPAGES`` to change it) and
are for evaluation only: never copy them into the repository or train on them. Read that folder's
README. Each page's mask is computed exactly as ``textclean mask`` does, with default
parameters. For each page with a reference mask (``NAME.ctd-mask.png``) it prints precision, recall
and F1 with a 3 px tolerance: a marked pixel within 3 px of reference text is not a false positive,
and a reference pixel within 3 px of a marked one is found. It also prints how many pixels the mask
holds per reference pixel (a fat mask destroys the art around text even when F1 looks fine).

For every page, referenced or not, it writes an overlay to look at: found text green, false
positives red, missed text blue; pages without a reference show the mask in red over the page.
Look at every one before calling a model done: eyes, mouths and hair taken for text are what
ruin a page for an artist.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from textclean_train.metrics import overlay, tolerant_scores

DEFAULT_PAGES = Path(__file__).resolve().parents[2] / "shared" / "realpages"


@dataclass
class PageScore:
    name: str
    precision: float
    recall: float
    f1: float
    area_ratio: float  # mask pixels per reference pixel

    def row(self) -> str:
        return f"| {self.name} | {self.precision:.3f} | {self.recall:.3f} | {self.f1:.3f} | {self.area_ratio:.2f} |"


def _runner_for(segmenter: str | None, threshold: float | None):
    """A ModelRunner for the shipped weights, a weight file, or a training checkpoint."""
    import torch
    from textclean import weights as weights_mod
    from textclean.backend import ModelRunner

    if segmenter is None:
        return ModelRunner("cpu")
    data = torch.load(segmenter, map_location="cpu", weights_only=True)
    if isinstance(data, dict) and data.get("format") == weights_mod.FORMAT:
        return ModelRunner("cpu", segmenter_path=segmenter, backend="torch")
    # A training checkpoint: its model state, its config, and the best validation threshold it logged.
    history = json.loads(data.get("history", "[]"))
    thr = threshold or (history[-1]["threshold"] if history else 0.5)
    tmp = Path(tempfile.mkdtemp(prefix="textclean-realpages-")) / "segmenter.pt"
    weights_mod.save(tmp, "segmenter", data["config"], data["model"], {"threshold": thr})
    return ModelRunner("cpu", segmenter_path=str(tmp), backend="torch")


def main(argv: list[str] | None = None) -> list[PageScore]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--pages",
        default=os.environ.get("TEXTCLEAN_REALPAGES", str(DEFAULT_PAGES)),
        help="folder of real pages (default: ../shared/realpages)",
    )
    ap.add_argument("--segmenter", default=None, help="weight file or training checkpoint (default: shipped)")
    ap.add_argument("--threshold", type=float, default=None, help="override the model's threshold")
    ap.add_argument("--grow", type=int, default=None, help="override the mask's grow (default: the CLI's)")
    ap.add_argument(
        "--coarse", type=int, default=None, help="override the pipeline's coarse pass for large lettering (0: off)"
    )
    ap.add_argument(
        "--second-scale",
        type=float,
        default=None,
        help="override the pipeline's second look (times the working scale; 0: off)",
    )
    ap.add_argument("--tile", type=int, default=None, help="override the pipeline's largest tile side")
    ap.add_argument("--margin", type=int, default=None, help="override the tiles' overlap margin")
    ap.add_argument(
        "--out", default=os.path.join(tempfile.gettempdir(), "textclean-realpages"), help="folder for the overlays"
    )
    ap.add_argument(
        "--blobcheck",
        default=None,
        help="blob check trees to use (a JSON from textclean_train.train_blobcheck), or 'off' "
        "(default: the shipped one, when it was fitted to the segmenter in use)",
    )
    ap.add_argument("--json", default=None, help="also write the scores here")
    args = ap.parse_args(argv)

    from textclean.imagefiles import read_image
    from textclean.masks import MaskParams
    from textclean.pipeline import Pipeline, PipelineConfig
    from textclean.pixels import to_u8_rgb

    pages = sorted(
        p
        for p in Path(args.pages).glob("*")
        if p.suffix.lower() in (".jpg", ".jpeg", ".png") and not p.name.endswith(".ctd-mask.png")
    )
    if not pages:
        sys.exit(f"no pages in {args.pages}: point --pages or TEXTCLEAN_REALPAGES at the real-pages folder")
    overrides = {
        "coarse_factor": args.coarse,
        "second_scale": args.second_scale,
        "tile": args.tile,
        "margin": args.margin,
    }
    config = PipelineConfig(**{k: v for k, v in overrides.items() if v is not None})
    from textclean.blobcheck import BlobModel

    if args.blobcheck is None:
        blob_model = "shipped"
    elif args.blobcheck == "off":
        blob_model = None
    else:
        blob_model = BlobModel.load(args.blobcheck)
    pipeline = Pipeline(_runner_for(args.segmenter, args.threshold), config, blob_model=blob_model)
    params = MaskParams(threshold=args.threshold)
    if args.grow is not None:
        params = MaskParams(threshold=args.threshold, grow=args.grow)
    os.makedirs(args.out, exist_ok=True)
    scores: list[PageScore] = []
    print("| page | precision | recall | F1 | mask px / reference px |")
    print("| --- | --- | --- | --- | --- |")
    t0 = time.perf_counter()
    for page in pages:
        image = read_image(str(page))
        rgb = to_u8_rgb(image)
        mask = pipeline.segment(image, params=params)
        ref_path = page.with_name(page.stem + ".ctd-mask.png")
        if ref_path.exists():
            ref = cv2.imread(str(ref_path), cv2.IMREAD_GRAYSCALE)
            if ref.shape != mask.shape:
                ref = cv2.resize(ref, mask.shape[::-1], interpolation=cv2.INTER_NEAREST)
            p, r, f1, found, false, missed = tolerant_scores(mask, ref)
            score = PageScore(page.stem, p, r, f1, float((mask > 0).sum()) / max(1, int((ref > 0).sum())))
            scores.append(score)
            print(score.row(), flush=True)
            vis = overlay(rgb, found, false, missed)
        else:
            vis = overlay(rgb, np.zeros_like(mask, bool), mask > 0, np.zeros_like(mask, bool))
            print(f"| {page.stem} | – | – | – | {(mask > 0).mean() * 100:.1f}% of the page |", flush=True)
        cv2.imwrite(os.path.join(args.out, page.stem + ".overlay.jpg"), vis[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 88])
    if scores:
        mean_f1 = float(np.mean([s.f1 for s in scores]))
        min_p = min(s.precision for s in scores)
        print(
            f"\nmean F1 {mean_f1:.3f}; lowest precision {min_p:.3f}; "
            f"{len(pages)} pages in {time.perf_counter() - t0:.1f} s; overlays in {args.out}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump([s.__dict__ for s in scores], f, indent=1)
    return scores


if __name__ == "__main__":
    main()
