"""Validation figures for checkpoints or shipped weights.

    python -m textclean_train.evaluate --val VAL [--val-heldout VAL2] [--segmenter PATH] [--inpainter PATH]

PATH is a training checkpoint (``runs/.../best.pt``) or an exported weight
file; without one, the shipped weights are evaluated. The inpainter is run
through ``textclean.backend.TorchInpainter`` and ``Pipeline``, as it ships.
"""

from __future__ import annotations

import argparse
import json

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
    args = ap.parse_args()
    torch.set_num_threads(2)
    if args.only != "inpainter":
        model, _ = load_model("segmenter", args.segmenter)
        print(json.dumps({"segmenter": evaluate_segmenter(model, args.val, args.val_heldout)}, indent=1))
    if args.only != "segmenter":
        model, _ = load_model("inpainter", args.inpainter)
        print(json.dumps({"inpainter": evaluate_inpainter(model, args.val)}, indent=1))


if __name__ == "__main__":
    main()
