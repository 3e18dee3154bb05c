"""Validation figures for checkpoints or shipped weights.

    python -m textclean_train.evaluate --val VAL [--val-heldout VAL2] [--segmenter PATH] [--inpainter PATH]
    python -m textclean_train.evaluate --val VAL2 --only segmenter --worst 12 --montage worst.png

``--worst N`` lists the N validation crops that hold most of the segmenter's errors (misses, and
marks more than 3 px from text) and ``--montage`` draws them, raw beside the overlay: found text
green, false positives red, misses blue. The set-wide F1 says how much is wrong; these say what.

PATH is a training checkpoint (``runs/.../best.pt``) or an exported weight
file; without one, the shipped weights are evaluated. The inpainter is run
through ``textclean.backend.TorchInpainter`` and ``Pipeline``, as it ships.
"""

from __future__ import annotations

import argparse
import json

import cv2
import numpy as np
import torch
from textclean.models import build
from textclean.weights import FORMAT, load


def load_model(kind: str, path: str | None) -> tuple[torch.nn.Module, dict]:
    """A model from a checkpoint or weight file, evaluated as shipped: weights rounded to fp16."""
    if path:
        data = torch.load(path, map_location="cpu", weights_only=True)
    if not path or data.get("format") == FORMAT:
        w = load(kind, path)
        config, state, meta = w.config, w.state_dict, w.meta
    else:
        config, state, meta = data["config"], data["model"], {"step": data["step"]}
    model = build(kind, config)
    model.load_state_dict({k: v.half().float() if v.is_floating_point() else v for k, v in state.items()})
    return model.eval(), meta


def evaluate_segmenter(
    model: torch.nn.Module, val: str, heldout: str | None = None, threshold: float | None = None
) -> dict:
    from .train_segmenter import validate

    counts = validate(model, val, torch.device("cpu"))
    thr, best = counts.best() if threshold is None else (threshold, counts.at(threshold))
    out = {"threshold": thr, **{f"val_{k}": v for k, v in best.items()}}
    if heldout:
        held = validate(model, heldout, torch.device("cpu"))
        out.update({f"heldout_{k}": v for k, v in held.at(thr).items()})
    return out


def crop_errors(model: torch.nn.Module, val: str, threshold: float, batch: int = 8) -> list[dict]:
    """Per validation crop: text pixels, misses, and marks more than ``TOLERANCE_PX`` from text,
    worst first (by misses + far marks), each with its found, false and missed maps (as ``overlay`` draws)."""
    from .dataset import CropDataset
    from .metrics import IGNORE, TOLERANCE_PX

    ds = CropDataset(val, size=320, augment=False)
    near = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * TOLERANCE_PX + 1, 2 * TOLERANCE_PX + 1))
    rows = []
    with torch.no_grad():
        for i in range(0, len(ds), batch):
            items = [ds[j] for j in range(i, min(len(ds), i + batch))]
            prob = torch.sigmoid(model(torch.stack([it["raw"] for it in items]))).numpy()[:, 0]
            for j, (p, it) in enumerate(zip(prob, items)):
                label = it["label"][0].numpy().astype(np.uint8)
                pred, text = (p >= threshold) & (label != IGNORE), label == 1
                far = cv2.dilate((label > 0).astype(np.uint8), near) == 0
                missed, false = text & ~pred, pred & far
                rows.append(
                    {
                        "index": i + j,
                        "text_px": int(text.sum()),
                        "missed_px": int(missed.sum()),
                        "false_px": int(false.sum()),
                        "found": pred & ~far,
                        "false": false,
                        "missed": missed,
                    }
                )
    rows.sort(key=lambda r: -(r["missed_px"] + r["false_px"]))
    return rows


def error_montage(val: str, rows: list[dict], columns: int = 2) -> np.ndarray:
    """RGB montage of ``rows`` (from ``crop_errors``): each crop raw, then overlaid as ``bench/realpages.py`` does."""
    from .metrics import overlay

    raw = np.load(f"{val}/raw.npy", mmap_mode="r")
    tiles = []
    for r in rows:
        img = np.array(raw[r["index"]][:320, :320])
        tiles.append(np.concatenate([img, overlay(img, r["found"], r["false"], r["missed"])], 1))
    while len(tiles) % columns:
        tiles.append(np.full_like(tiles[0], 255))
    return np.concatenate([np.concatenate(tiles[k : k + columns], 1) for k in range(0, len(tiles), columns)], 0)


def evaluate_inpainter(model: torch.nn.Module, val: str, limit: int = 300) -> dict:
    from .train_inpainter import validate

    return validate(model, val, torch.device("cpu"), limit)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--val", required=True)
    ap.add_argument("--val-heldout", default=None)
    ap.add_argument("--segmenter", default=None)
    ap.add_argument("--inpainter", default=None)
    ap.add_argument("--only", choices=["segmenter", "inpainter"], default=None)
    ap.add_argument("--worst", type=int, default=0, help="list the N crops of --val with most segmenter errors")
    ap.add_argument("--montage", default=None, help="with --worst: draw those crops into this PNG")
    ap.add_argument("--threshold", type=float, default=None, help="for --worst (default: the model's own)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    if args.worst:
        model, meta = load_model("segmenter", args.segmenter)
        thr = args.threshold if args.threshold is not None else float(meta.get("threshold", 0.5))
        rows = crop_errors(model, args.val, thr)
        total = sum(r["missed_px"] + r["false_px"] for r in rows) or 1
        print(f"threshold {thr}; errors = misses + marks more than 3 px from text, over {len(rows)} crops")
        for r in rows[: args.worst]:
            share = (r["missed_px"] + r["false_px"]) / total
            print(
                f"crop {r['index']:5d}: text {r['text_px']:6d} px, missed {r['missed_px']:6d}, "
                f"false {r['false_px']:6d} ({share:.1%} of all errors)"
            )
        worst = sum(r["missed_px"] + r["false_px"] for r in rows[: args.worst]) / total
        print(f"the worst {args.worst} crops hold {worst:.0%} of the errors")
        if args.montage:
            cv2.imwrite(args.montage, cv2.cvtColor(error_montage(args.val, rows[: args.worst]), cv2.COLOR_RGB2BGR))
        return
    if args.only != "inpainter":
        model, _ = load_model("segmenter", args.segmenter)
        print(json.dumps({"segmenter": evaluate_segmenter(model, args.val, args.val_heldout)}, indent=1))
    if args.only != "segmenter":
        model, _ = load_model("inpainter", args.inpainter)
        print(json.dumps({"inpainter": evaluate_inpainter(model, args.val)}, indent=1))


if __name__ == "__main__":
    main()
