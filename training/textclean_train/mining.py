"""Hard-negative mining: crops of text-free art where the segmenter still fires.

After a training stage, the model runs over pages that hold no text at all
(the generator's art, faces, marks and package pictures with ``text=False``).
Whatever it marks there is a false positive by construction. Crops centred on
those places are stored like any other crops (label all 0), and the next stage
oversamples them, so training spends its steps on exactly what the model still
takes for text.

    python -m textclean_train.mining --segmenter runs/seg/last.pt DATA/negatives --pages 300
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import time

import cv2
import numpy as np
import torch

from .dataset import CROP
from .evaluate import load_model
from .synth import make_sample

MINING_SEED = 3_000_000  # text-free pages: seeds apart from training, validation and the benchmarks


def _page(seed: int) -> tuple[np.ndarray, str]:
    kind = "colour" if seed % 4 == 3 else "manga"
    return make_sample(seed, kind, "train", text=False).raw, kind


@torch.no_grad()
def page_probability(model: torch.nn.Module, rgb: np.ndarray) -> np.ndarray:
    """Text probability of a whole (small) page, padded to a multiple of 16."""
    h, w = rgb.shape[:2]
    ph, pw = -h % 16, -w % 16
    x = cv2.copyMakeBorder(rgb, 0, ph, 0, pw, cv2.BORDER_REPLICATE)
    t = torch.from_numpy(x).permute(2, 0, 1)[None].float() / 255
    return torch.sigmoid(model(t))[0, 0, :h, :w].numpy()


def false_positive_centres(prob: np.ndarray, threshold: float, min_area: int = 12) -> list[tuple[int, int, int]]:
    """(y, x, area) of each connected blob above ``threshold``, largest first."""
    n, _lab, stats, cents = cv2.connectedComponentsWithStats((prob >= threshold).astype(np.uint8), connectivity=8)
    out = [
        (int(cents[i][1]), int(cents[i][0]), int(stats[i, cv2.CC_STAT_AREA]))
        for i in range(1, n)
        if stats[i, cv2.CC_STAT_AREA] >= min_area
    ]
    return sorted(out, key=lambda c: -c[2])


def mine(
    segmenter: str,
    out_dir: str,
    pages: int,
    seed: int = MINING_SEED,
    threshold: float = 0.5,
    per_page: int = 4,
    workers: int = 2,
    crop: int = CROP,
) -> dict:
    """Run the model over ``pages`` text-free pages and store ``crop``-px crops around its false positives."""
    model, _ = load_model("segmenter", segmenter)  # as it ships: weights rounded to fp16
    torch.set_num_threads(max(1, workers))
    raws, fp_pixels, total_pixels = [], 0, 0
    t0 = time.time()
    ctx = mp.get_context("fork")
    with ctx.Pool(workers) as pool:
        for i, (raw, _kind) in enumerate(pool.imap(_page, range(seed, seed + pages), chunksize=2)):
            prob = page_probability(model, raw)
            fp = prob >= threshold
            fp_pixels += int(fp.sum())
            total_pixels += fp.size
            h, w = raw.shape[:2]
            rng = np.random.default_rng(seed + i)
            for cy, cx, _area in false_positive_centres(prob, threshold)[:per_page]:
                cy += int(rng.integers(-crop // 4, crop // 4 + 1))
                cx += int(rng.integers(-crop // 4, crop // 4 + 1))
                y0 = int(np.clip(cy - crop // 2, 0, max(0, h - crop)))
                x0 = int(np.clip(cx - crop // 2, 0, max(0, w - crop)))
                piece = raw[y0 : y0 + crop, x0 : x0 + crop]
                if piece.shape[:2] == (crop, crop):
                    raws.append(piece)
            if (i + 1) % 50 == 0:
                print(f"{i + 1}/{pages} pages, {len(raws)} crops, {time.time() - t0:.0f}s", flush=True)
    os.makedirs(out_dir, exist_ok=True)
    n = len(raws)
    stack = np.stack(raws) if raws else np.zeros((0, crop, crop, 3), np.uint8)
    np.save(os.path.join(out_dir, "raw.npy"), stack)
    np.save(os.path.join(out_dir, "clean.npy"), stack)  # nothing to remove: the clean page is the page
    np.save(os.path.join(out_dir, "label.npy"), np.zeros((n, crop, crop), np.uint8))
    report = {
        "source": "hard negatives",
        "segmenter": segmenter,
        "pages": pages,
        "seed": seed,
        "threshold": threshold,
        "crops": n,
        "false_positive_share": fp_pixels / max(1, total_pixels),
        "crop": crop,
        "seconds": round(time.time() - t0, 1),
    }
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump(report, f)
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--segmenter", required=True, help="training checkpoint or weight file")
    ap.add_argument("--pages", type=int, default=300)
    ap.add_argument("--seed", type=int, default=MINING_SEED)
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--per-page", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    print(json.dumps(mine(a.segmenter, a.out, a.pages, a.seed, a.threshold, a.per_page, a.workers)))


if __name__ == "__main__":
    main()
