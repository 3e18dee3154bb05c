"""Train the gated-convolution UNet inpainter from scratch.

    python -m textclean_train.train_inpainter --data DATA --val VAL --out runs/inp
    torchrun --nproc_per_node 2 -m textclean_train.train_inpainter ...   # DDP, same flags

Holes are the generator's real text masks grown by a few pixels, plus
free-form brush strokes; the input is the page *with* text and the hole
zeroed, the target the clean page, exactly as at inference. Loss:
hole-weighted L1 plus an L1 on image gradients. Validation compares PSNR and
SSIM inside text holes with OpenCV's Telea on the same holes.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import cv2
import numpy as np
import torch
from textclean.models import GatedUNet, InpainterConfig
from textclean.models.inpainter import coarse_fill

from . import distributed
from .dataset import CropDataset
from .loop import ProgressLog, end_of_step, endless_loader, load_checkpoint, lr_at, out_of_time, save_checkpoint
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


def guides(raw: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """The coarse (Telea) fill for each image of a batch, as the guided network expects."""
    out = [coarse_fill(r.permute(1, 2, 0).numpy(), h[0].numpy() > 0) for r, h in zip(raw, hole)]
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).contiguous()


def make_holes(labels: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    out = []
    for lab in labels[:, 0].numpy().astype(np.uint8):
        h, w = lab.shape
        hole = text_holes(lab, rng) if rng.random() < 0.75 else np.zeros((h, w), np.uint8)
        if rng.random() < 0.4 or hole.sum() < 20:
            hole |= free_form_strokes(h, w, rng)
        out.append(torch.from_numpy(hole.astype(np.float32)))
    return torch.stack(out)[:, None]


class _TorchInpainter:
    """Just enough of ``ModelRunner`` for the ``Pipeline`` to inpaint with a model being trained."""

    def __init__(self, model: torch.nn.Module, device: torch.device) -> None:
        self.model, self.device = model, device

    @torch.no_grad()
    def inpaint(self, image: np.ndarray, hole: np.ndarray) -> np.ndarray:
        h, w = hole.shape
        ph, pw = (-h) % GatedUNet.multiple, (-w) % GatedUNet.multiple
        x = np.pad(image, ((0, ph), (0, pw), (0, 0)), mode="edge")
        k = np.pad(hole, ((0, ph), (0, pw)))
        t = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None].to(self.device)
        m = torch.from_numpy(k.astype(np.float32))[None, None].to(self.device)
        g = torch.from_numpy(coarse_fill(x, k).transpose(2, 0, 1))[None].to(self.device) \
            if self.model.config.guided else None
        return self.model(t, m, g)[0, :, :h, :w].permute(1, 2, 0).float().cpu().numpy()


@torch.no_grad()
def validate(model: torch.nn.Module, root: str, device: torch.device, limit: int = 200) -> dict[str, float]:
    """PSNR/SSIM inside 2-px-grown text holes, split manga/colour, for:

    - ``model``: the network alone on every hole;
    - ``pipeline``: what ships, flat fill where the ring is flat and the network elsewhere;
    - ``telea``: OpenCV's Telea on the same holes.

    ``*_psnr`` is the mean over crops of each crop's PSNR; ``*_pooled_psnr``
    pools the squared error of all hole pixels first, so a crop with a large
    hole counts for more, and near-perfect flat holes cannot dominate.
    """
    from textclean.pipeline import Pipeline

    ds = CropDataset(root, size=320, augment=False)
    rng = np.random.default_rng(0)
    pipeline = Pipeline(_TorchInpainter(model, device))
    sums: dict[str, list[float]] = {}
    sq: dict[str, list[float]] = {}
    model.eval()
    for i in range(min(limit, len(ds))):
        it = ds[i]
        lab = it["label"][0].numpy().astype(np.uint8)
        hole = text_holes(lab, rng, grow=2)
        if hole.sum() < 30:
            continue
        raw = it["raw"][None].to(device)
        m = torch.from_numpy(hole.astype(np.float32))[None, None].to(device)
        guide = guides(it["raw"][None], m.cpu()).to(device) if model.config.guided else None
        pred = model(raw, m, guide)[0].permute(1, 2, 0).float().cpu().numpy()
        clean = it["clean"].permute(1, 2, 0).numpy()
        raw8 = (it["raw"].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
        telea = cv2.inpaint(raw8, hole, 3, cv2.INPAINT_TELEA).astype(np.float32) / 255
        shipped = pipeline.inpaint(raw8, hole * 255).astype(np.float32) / 255
        is_manga = float(np.abs(clean[..., 0] - clean[..., 2]).mean()) < 0.02
        kind = "manga" if is_manga else "colour"
        inside = hole.astype(bool)
        for name, img in (("model", pred), ("pipeline", shipped), ("telea", telea)):
            sums.setdefault(f"{kind}_{name}_psnr", []).append(psnr_in(img, clean, hole))
            sums.setdefault(f"{kind}_{name}_ssim", []).append(ssim_in(img, clean, hole))
            sq.setdefault(f"{kind}_{name}", []).extend(((img[inside] - clean[inside]) ** 2).ravel().tolist())
    model.train()
    out = {k: float(np.nanmean(v)) for k, v in sums.items()}
    out.update({f"{k}_pooled_psnr": float(10 * np.log10(1 / max(np.mean(v), 1e-10))) for k, v in sq.items()})
    return out


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
    ap.add_argument("--base-channels", type=int, default=16)
    ap.add_argument("--plain", action="store_true", help="no coarse Telea guide (the unguided network)")
    ap.add_argument("--pixel-loss", choices=["l2", "l1"], default="l2")
    ap.add_argument("--grad-weight", type=float, default=0.0, help="weight of the image-gradient L1 term")
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
    if args.threads:
        torch.set_num_threads(args.threads)
    rt = distributed.setup(args.device)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    config = InpainterConfig(base_channels=args.base_channels, guided=not args.plain)
    model = GatedUNet(config).to(rt.device).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.5, 0.999))
    last = os.path.join(args.out, "last.pt")
    start, best, history, wall = 0, -1.0, [], 0.0
    if os.path.exists(last):
        ckpt = load_checkpoint(last, model, opt)
        start, best = ckpt["step"], ckpt.get("best_psnr", -1.0)
        history, wall = json.loads(ckpt.get("history", "[]")), ckpt.get("wall_s", 0.0)
        if rt.is_main:
            print(f"resumed from {last} at step {start}", flush=True)
    net = distributed.wrap(model, rt)
    data = endless_loader(CropDataset(args.data, size=args.crop), rt, args.batch, args.seed, start, args.workers)
    rng = np.random.default_rng(args.seed * 100 + rt.rank + start)
    log = ProgressLog(args.steps, args.batch, rt.world_size, start)
    t0 = time.time()

    def checkpoint(step: int, name: str = "last.pt") -> None:
        if rt.is_main:
            save_checkpoint(os.path.join(args.out, name), model, opt, step, {
                "config": config.to_dict(), "best_psnr": best, "history": json.dumps(history),
                "wall_s": wall + time.time() - t0, "args": json.dumps(vars(args))})

    for step in range(start, args.steps):
        lr = lr_at(step, args.steps, args.lr, args.warmup)
        for g in opt.param_groups:
            g["lr"] = lr
        batch = next(data)
        hole = make_holes(batch["label"], rng)
        guide = guides(batch["raw"], hole).to(rt.device) if config.guided else None
        hole = hole.to(rt.device)
        raw = batch["raw"].to(rt.device).contiguous(memory_format=torch.channels_last)
        clean = batch["clean"].to(rt.device)
        loss = inpainting_loss(net(raw, hole, guide), clean, hole, grad_weight=args.grad_weight,
                               pixel=args.pixel_loss)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        if rt.is_main:
            log.step(step, loss.item(), lr)
        done = step + 1
        stop = out_of_time(args.max_minutes, t0, rt)
        if args.val and rt.is_main and (done % args.val_every == 0 or done == args.steps):
            entry = {"step": done, **validate(model, args.val, rt.device)}
            history.append(entry)
            print("val " + json.dumps({k: round(v, 3) for k, v in entry.items()}), flush=True)
            # What ships is the pipeline (flat fill + network), judged on all hole pixels together.
            if entry.get("manga_pipeline_pooled_psnr", -1) > best:
                best = entry["manga_pipeline_pooled_psnr"]
                checkpoint(done, "best.pt")
        if end_of_step(done, args.steps, args.ckpt_every, stop, rt, checkpoint):
            break
    distributed.sync_buffers(model, rt)
    distributed.barrier()
    distributed.teardown()
    return model


if __name__ == "__main__":
    main()
