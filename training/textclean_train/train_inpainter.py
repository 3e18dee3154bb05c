"""Train the gated-convolution UNet inpainter from scratch.

    python -m textclean_train.train_inpainter --data DATA --val VAL --out runs/inp
    torchrun --nproc_per_node 2 -m textclean_train.train_inpainter ...   # DDP, same flags

Holes are the generator's real text masks grown by a few pixels, plus
free-form brush strokes; the input is the page *with* text and the hole
zeroed, the target the clean page. Every batch goes through
``textclean.structure.prepare``, the inpainter's preprocessing as it ships
(structure-continuing guide, flat part filled flat). Loss: hole-weighted
L2 or L1, optionally plus an L1 on image gradients. Validation runs the
network through ``textclean.backend.TorchInpainter`` and ``Pipeline``, as the
daemon does, beside OpenCV's Telea on the same holes.
"""

from __future__ import annotations

import argparse
import os

import cv2
import numpy as np
import torch
from textclean.models import build, config_of
from textclean.structure import prepare

from . import distributed, loop
from .dataset import CropDataset
from .loop import endless_loader
from .losses import inpainting_loss
from .metrics import psnr_in, ssim_in


def free_form_strokes(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Random brush strokes, as in Yu et al.'s free-form masks."""
    m = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(1, 5))):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        width = int(rng.integers(3, max(4, min(h, w) // 8)))
        for _v in range(int(rng.integers(2, 8))):
            angle = rng.uniform(0, 2 * np.pi)
            length = rng.uniform(5, min(h, w) / 3)
            nx = int(np.clip(x + length * np.cos(angle), 0, w - 1))
            ny = int(np.clip(y + length * np.sin(angle), 0, h - 1))
            cv2.line(m, (x, y), (nx, ny), 1, width)
            x, y = nx, ny
    return m


def text_holes(label: np.ndarray, rng: np.random.Generator, grow: int | None = None) -> np.ndarray:
    """The text mask (including its soft rim) grown by ``grow`` px, as the pipeline does."""
    g = int(rng.integers(1, 5)) if grow is None else grow
    text = (label > 0).astype(np.uint8)
    return cv2.dilate(text, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * g + 1, 2 * g + 1)))


def prepared_batch(
    raw: torch.Tensor, hole: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(image, hole, guide, owned) for a batch, through ``structure.prepare`` exactly as inference runs it.

    Hole pixels that ``prepare`` fills flat are painted into the image and
    leave the hole, so the network trains on what is left for it at inference.
    ``owned`` is the part of that hole whose output ships from the network:
    ``InpaintNetwork.inpaint`` replaces the settled pixels (continued
    screentone and lines, smooth shading) with the guide, so the hole weight
    of the loss belongs there only.
    """
    images, holes, guides, owned = [], [], [], []
    for r, h in zip(raw, hole):
        p = prepare(r.permute(1, 2, 0).numpy(), h[0].numpy() > 0)
        images.append(p.image)
        holes.append(p.hole.astype(np.float32)[None])
        owned.append((p.hole & ~p.settled).astype(np.float32)[None])
        guides.append(p.guide)
    as_nchw = lambda xs: torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).contiguous()  # noqa: E731
    return as_nchw(images), torch.from_numpy(np.stack(holes)), as_nchw(guides), torch.from_numpy(np.stack(owned))


def make_holes(labels: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    out = []
    for lab in labels[:, 0].numpy().astype(np.uint8):
        h, w = lab.shape
        hole = text_holes(lab, rng) if rng.random() < 0.75 else np.zeros((h, w), np.uint8)
        if rng.random() < 0.4 or hole.sum() < 20:
            hole |= free_form_strokes(h, w, rng)
        out.append(torch.from_numpy(hole.astype(np.float32)))
    return torch.stack(out)[:, None]


def validate(model: torch.nn.Module, root: str, device: torch.device, limit: int = 200) -> dict[str, float]:
    """PSNR/SSIM inside 2-px-grown text holes, split manga/colour, for:

    - ``model``: the network alone on every hole (through ``TorchInpainter``, as it ships);
    - ``pipeline``: what ships, ``Pipeline.inpaint`` with the network being trained;
    - ``telea``: OpenCV's Telea on the same holes.

    ``*_psnr`` is the mean over crops of each crop's PSNR; ``*_pooled_psnr``
    pools the squared error of all hole pixels first, so a crop with a large
    hole counts for more, and near-perfect flat holes cannot dominate.
    """
    ds = CropDataset(root, size=320, augment=False)
    rng = np.random.default_rng(0)
    pipeline = shipped_pipeline(model, device)
    network = pipeline.runner.network
    sums: dict[str, list[float]] = {}
    sq: dict[str, list[float]] = {}
    for i in range(min(limit, len(ds))):
        it = ds[i]
        lab = it["label"][0].numpy().astype(np.uint8)
        hole = text_holes(lab, rng, grow=2)
        if hole.sum() < 30:
            continue
        clean = it["clean"].permute(1, 2, 0).numpy()
        raw = it["raw"].permute(1, 2, 0).numpy()
        raw8 = (raw * 255 + 0.5).astype(np.uint8)
        inside = hole.astype(bool)
        pred = raw.copy()
        pred[inside] = network.inpaint(raw, inside)[inside]
        telea = cv2.inpaint(raw8, hole, 3, cv2.INPAINT_TELEA).astype(np.float32) / 255
        shipped = pipeline.inpaint(raw8, hole * 255).astype(np.float32) / 255
        is_manga = float(np.abs(clean[..., 0] - clean[..., 2]).mean()) < 0.02
        kind = "manga" if is_manga else "colour"
        for name, img in (("model", pred), ("pipeline", shipped), ("telea", telea)):
            sums.setdefault(f"{kind}_{name}_psnr", []).append(psnr_in(img, clean, hole))
            sums.setdefault(f"{kind}_{name}_ssim", []).append(ssim_in(img, clean, hole))
            sq.setdefault(f"{kind}_{name}", []).extend(((img[inside] - clean[inside]) ** 2).ravel().tolist())
    out = {k: float(np.nanmean(v)) for k, v in sums.items()}
    out.update({f"{k}_pooled_psnr": float(10 * np.log10(1 / max(np.mean(v), 1e-10))) for k, v in sq.items()})
    return out


def shipped_pipeline(model: torch.nn.Module, device: torch.device | str = "cpu"):
    """A ``Pipeline`` that inpaints with ``model`` exactly as the daemon would with its weights."""
    from textclean.backend import TorchInpainter
    from textclean.pipeline import Pipeline

    return Pipeline(_InpaintOnly(TorchInpainter(model, device)))


class _InpaintOnly:
    """Networks for a ``Pipeline`` that only inpaints: the network being trained, run as it ships."""

    default_threshold = 0.5

    def __init__(self, network) -> None:
        self.network = network

    def segment(self, tiles: np.ndarray) -> np.ndarray:
        raise NotImplementedError("training's validation pipeline only inpaints")

    def inpaint(self, image: np.ndarray, hole: np.ndarray) -> np.ndarray:
        return self.network.inpaint(image, hole)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--val", default=None)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=8, help="per process")
    ap.add_argument("--crop", type=int, default=160)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--preset", default="shipped", help="architecture preset (textclean.models.PRESETS)")
    ap.add_argument("--base-channels", type=int, default=None, help="override the preset's width")
    ap.add_argument("--plain", action="store_true", help="no coarse guide (the unguided network; preset 'plain')")
    ap.add_argument(
        "--init-from",
        default=None,
        help="start from this weight file or checkpoint (same architecture); fresh optimiser",
    )
    ap.add_argument("--pixel-loss", choices=["l2", "l1"], default="l2")
    ap.add_argument("--grad-weight", type=float, default=0.0, help="weight of the image-gradient L1 term")
    ap.add_argument(
        "--loss-on",
        choices=["owned", "hole"],
        default="owned",
        help="where the hole weight of the loss goes: the hole pixels whose output ships from the network "
        "(default), or the whole hole the network is given, settled pixels included (as every run before it)",
    )
    ap.add_argument("--val-every", type=int, default=500)
    ap.add_argument("--ckpt-every", type=int, default=100)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-minutes", type=float, default=0)
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> torch.nn.Module:
    """Train; returns the (unwrapped) model as this rank ends with it."""
    args = parse_args(argv)
    rt = loop.begin(args)
    config = config_of("inpainter", "plain" if args.plain else args.preset, base_channels=args.base_channels)
    model = build("inpainter", config)
    if args.init_from and not os.path.exists(os.path.join(args.out, "last.pt")):
        init_from(model, args.init_from)
        if rt.is_main:
            print(f"initialised from {args.init_from}", flush=True)
    model = model.to(rt.device).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.5, 0.999))
    state = loop.resume(args.out, model, opt, rt, legacy_best_key="best_psnr")
    net = distributed.wrap(model, rt)
    data = endless_loader(CropDataset(args.data, size=args.crop), rt, args.batch, args.seed, state.step, args.workers)
    rng = np.random.default_rng(args.seed * 100 + rt.rank + state.step)

    def loss_at(step: int) -> torch.Tensor:
        batch = next(data)
        image, hole, guide, owned = prepared_batch(batch["raw"], make_holes(batch["label"], rng))
        image = image.to(rt.device).contiguous(memory_format=torch.channels_last)
        hole = hole.to(rt.device)
        guide = guide.to(rt.device) if config.guided else None
        return inpainting_loss(
            net(image, hole, guide),
            batch["clean"].to(rt.device),
            owned.to(rt.device) if args.loss_on == "owned" else hole,
            grad_weight=args.grad_weight,
            pixel=args.pixel_loss,
        )

    def validation(step: int) -> dict:
        return validate(model, args.val, rt.device)

    # What ships is the pipeline (flat fill + network), judged on all hole pixels together.
    loop.run(
        args,
        rt,
        model,
        opt,
        state,
        loss_at,
        validation if args.val else None,
        "manga_pipeline_pooled_psnr",
        {"config": config.to_dict()},
    )
    return model


def init_from(model: torch.nn.Module, path: str) -> None:
    """Start from a shipped weight file or a training checkpoint of the same architecture."""
    data = torch.load(path, map_location="cpu", weights_only=True)
    state = data.get("state_dict", data.get("model"))
    if state is None:
        raise SystemExit(f"{path} is neither a textclean weight file nor a training checkpoint")
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})


if __name__ == "__main__":
    main()
