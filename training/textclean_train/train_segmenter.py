"""Train the text segmenter (DeepLabV3+ / MobileNetV2) from scratch.

    python -m textclean_train.train_segmenter --data DATA --val VAL --out runs/seg [--loss focal]
    torchrun --nproc_per_node 2 -m textclean_train.train_segmenter ...   # DDP, same flags

The seed recipe is focal loss (gamma 2, alpha 0.25) with SGD + Nesterov
momentum; ``--loss bce_dice`` is the alternative it is compared against.
``out/last.pt`` is written every ``--ckpt-every`` steps and at the end, and a
rerun with the same ``--out`` resumes from it. ``out/best.pt`` keeps the
checkpoint with the best validation F1.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import torch
from textclean.models import build, config_of

from . import distributed, loop
from .dataset import CropDataset, MixedCrops
from .loop import endless_loader
from .losses import SEGMENTER_LOSSES
from .metrics import MaskCounts


@torch.no_grad()
def validate(model: torch.nn.Module, root: str, device: torch.device, size: int = 320, batch: int = 8) -> MaskCounts:
    ds = CropDataset(root, size=size, augment=False)
    counts = MaskCounts()
    model.eval()
    for i in range(0, len(ds), batch):
        items = [ds[j] for j in range(i, min(len(ds), i + batch))]
        raw = torch.stack([it["raw"] for it in items]).to(device)
        prob = torch.sigmoid(model(raw)).float().cpu().numpy()[:, 0]
        for p, it in zip(prob, items):
            counts.add(p, it["label"][0].numpy().astype(np.uint8))
    model.train()
    return counts


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--data",
        required=True,
        nargs="+",
        help="crop folders from textclean_train.dataset, each DIR or DIR:WEIGHT (share of each batch)",
    )
    ap.add_argument("--val", default=None, help="validation crop folder (never trained on)")
    ap.add_argument("--val-heldout", default=None, help="validation crops rendered with held-out fonts")
    ap.add_argument("--out", required=True)
    ap.add_argument("--loss", choices=sorted(SEGMENTER_LOSSES), default="focal")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=12, help="per process")
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--weight-decay", type=float, default=4e-5)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--preset", default="shipped", help="architecture preset (textclean.models.PRESETS)")
    ap.add_argument("--width", type=float, default=None, help="override the preset's width multiplier")
    ap.add_argument("--aspp-channels", type=int, default=None, help="override the preset's")
    ap.add_argument("--decoder-channels", type=int, default=None, help="override the preset's")
    ap.add_argument(
        "--refine-channels",
        type=int,
        default=None,
        help="override the preset's full-resolution refinement head (0: none)",
    )
    ap.add_argument(
        "--init-from",
        default=None,
        help="start from this checkpoint's weights (layers it lacks start fresh); fresh optimiser",
    )
    ap.add_argument("--val-every", type=int, default=500)
    ap.add_argument("--ckpt-every", type=int, default=100)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: leave as is)")
    ap.add_argument("--workers", type=int, default=1, help="data loader processes")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-minutes", type=float, default=0, help="stop (and checkpoint) after this long")
    ap.add_argument(
        "--time-schedule",
        action="store_true",
        help="anneal the learning rate over --max-minutes rather than --steps, so a time-boxed run "
        "ends at the bottom of its cosine instead of being cut off half-way",
    )
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> torch.nn.Module:
    """Train; returns the (unwrapped) model as this rank ends with it."""
    args = parse_args(argv)
    rt = loop.begin(args)
    config = config_of(
        "segmenter",
        args.preset,
        width_mult=args.width,
        aspp_channels=args.aspp_channels,
        decoder_channels=args.decoder_channels,
        refine_channels=args.refine_channels,
    )
    model = build("segmenter", config)
    if args.init_from and not os.path.exists(os.path.join(args.out, "last.pt")):
        state, _config = loop.trained_state(args.init_from)
        missing, _ = model.load_state_dict(state, strict=False)
        if rt.is_main:
            print(f"initialised from {args.init_from}; new layers: {sorted({k.split('.')[0] for k in missing})}")
    model = model.to(rt.device).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(
        model.parameters(), lr=args.lr, momentum=args.momentum, nesterov=True, weight_decay=args.weight_decay
    )
    state = loop.resume(args.out, model, opt, rt, legacy_best_key="best_f1")
    net = distributed.wrap(model, rt)
    loss_fn = SEGMENTER_LOSSES[args.loss]
    data = endless_loader(MixedCrops(args.data, size=args.crop), rt, args.batch, args.seed, state.step, args.workers)

    def loss_at(step: int) -> torch.Tensor:
        batch = next(data)
        raw = batch["raw"].to(rt.device, non_blocking=True).contiguous(memory_format=torch.channels_last)
        return loss_fn(net(raw), batch["label"].to(rt.device, non_blocking=True))

    def validation(step: int) -> dict:
        counts = validate(model, args.val, rt.device)
        thr, m = counts.best()
        entry = {"threshold": thr, **m, "f1@0.5": counts.at(0.5)["f1"]}
        if args.init_from:
            entry["init_from"] = args.init_from
        if args.val_heldout:
            entry["heldout_f1"] = validate(model, args.val_heldout, rt.device).at(thr)["f1"]
        return entry

    loop.run(
        args,
        rt,
        model,
        opt,
        state,
        loss_at,
        validation if args.val else None,
        "f1",
        {"config": config.to_dict(), "loss": args.loss},
    )
    return model


if __name__ == "__main__":
    main()
