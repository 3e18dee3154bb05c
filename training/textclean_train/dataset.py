"""Crops of synthetic (or paired) pages stored as memory-mapped arrays.

Generating pages costs more than a training step on this CPU, so crops are
made ahead, in worker processes, into ``DIR/{raw,clean,label}.npy``; the
trainer then never waits for data and each rank reads the same files.

    python -m textclean_train.dataset synth DIR --pages 1500 --seed 0 [--split train]
    python -m textclean_train.dataset pairs PAIRS_DIR DIR
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
from torch.utils.data import Dataset

from .synth import IGNORE, Sample, make_sample

CROP = 320


def stored_crop(crop: int) -> int:
    """Side of the stored crops that ``crop``-px training crops need: room for the 0.7× scale jitter."""
    return max(CROP, crop * 5 // 4)


def crops_from(
    sample: Sample, rng: np.random.Generator, n: int, size: int = CROP, text_bias: float = 0.75
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``n`` crops; most centred on a random text pixel, so text is not a rarity."""
    raw, clean, label = sample.raw, sample.clean, sample.label
    h, w = label.shape
    if h < size or w < size:
        ph, pw = max(0, size - h), max(0, size - w)
        raw = cv2.copyMakeBorder(raw, 0, ph, 0, pw, cv2.BORDER_REFLECT)
        clean = cv2.copyMakeBorder(clean, 0, ph, 0, pw, cv2.BORDER_REFLECT)
        label = cv2.copyMakeBorder(label, 0, ph, 0, pw, cv2.BORDER_REFLECT)
        h, w = label.shape
    ys, xs = np.nonzero(label == 1)
    out = []
    for _ in range(n):
        if len(ys) and rng.random() < text_bias:
            i = int(rng.integers(len(ys)))
            cy, cx = ys[i] + int(rng.integers(-size // 3, size // 3)), xs[i] + int(rng.integers(-size // 3, size // 3))
        else:
            cy, cx = int(rng.integers(0, h)), int(rng.integers(0, w))
        y0 = int(np.clip(cy - size // 2, 0, h - size))
        x0 = int(np.clip(cx - size // 2, 0, w - size))
        sl = np.s_[y0 : y0 + size, x0 : x0 + size]
        out.append((raw[sl], clean[sl], label[sl]))
    return out


def _make_page_crops(
    args: tuple[int, str, str, int, bool, bool, int],
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    seed, kind, split, n, text, dense, crop = args
    sample = make_sample(seed, kind, split, text=text, dense=dense)
    return crops_from(sample, np.random.default_rng(seed + 7_000_000), n, size=crop)


def write_synthetic(
    out_dir: str,
    pages: int,
    seed: int,
    split: str = "train",
    crops_per_page: int = 4,
    colour_share: float = 0.3,
    workers: int = 2,
    negative_share: float = 0.1,
    dense_share: float = 0.1,
    crop: int = CROP,
) -> None:
    """Generate ``pages`` pages (seeds ``seed..seed+pages-1``) and store their crops.

    ``negative_share`` of the pages carry no text at all: art the segmenter must learn to leave alone.
    ``dense_share`` of the pages add columns of body text. ``crop`` is the stored crops' side: training
    on crops of 512 and more (stored at 640 for the scale jitter) needs them larger than the default.
    """
    from .fonts import index_fonts

    index_fonts()  # once, before the workers fork, instead of once in each
    os.makedirs(out_dir, exist_ok=True)
    n = pages * crops_per_page
    arrays = {
        "raw": np.lib.format.open_memmap(os.path.join(out_dir, "raw.npy"), "w+", np.uint8, (n, crop, crop, 3)),
        "clean": np.lib.format.open_memmap(os.path.join(out_dir, "clean.npy"), "w+", np.uint8, (n, crop, crop, 3)),
        "label": np.lib.format.open_memmap(os.path.join(out_dir, "label.npy"), "w+", np.uint8, (n, crop, crop)),
    }
    # Every k-th page is colour, so the share is exact and independent of the seed.
    every = max(1, round(1 / colour_share)) if colour_share > 0 else 0
    neg_every = max(1, round(1 / negative_share)) if negative_share > 0 else 0
    dense_every = max(1, round(1 / dense_share)) if dense_share > 0 else 0
    jobs = [
        (
            seed + i,
            "colour" if every and i % every == every - 1 else "manga",
            split,
            crops_per_page,
            not (neg_every and i % neg_every == neg_every // 2),
            bool(dense_every and i % dense_every == 0),
            crop,
        )
        for i in range(pages)
    ]
    t0, i = time.time(), 0
    ctx = mp.get_context("fork")
    with ctx.Pool(workers) as pool:
        for crops in pool.imap(_make_page_crops, jobs, chunksize=4):
            for raw, clean, label in crops:
                arrays["raw"][i], arrays["clean"][i], arrays["label"][i] = raw, clean, label
                i += 1
            if (i // crops_per_page) % 100 == 0:
                print(f"{i // crops_per_page}/{pages} pages, {time.time() - t0:.0f}s", flush=True)
    for a in arrays.values():
        a.flush()
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump(
            {
                "source": "synthetic",
                "pages": pages,
                "seed": seed,
                "split": split,
                "crops_per_page": crops_per_page,
                "colour_share": colour_share,
                "crop": crop,
                "negative_share": negative_share,
                "dense_share": dense_share,
            },
            f,
        )


class CropDataset(Dataset):
    """Random ``size`` crops with scale jitter from the stored crops.

    Returns float tensors: raw 3×S×S, clean 3×S×S in [0, 1], label 1×S×S
    (0, 1 or 255 for ignore).
    """

    def __init__(
        self,
        root: str,
        size: int = 256,
        scale: tuple[float, float] = (0.7, 1.3),
        augment: bool = True,
        length: int | None = None,
    ) -> None:
        self.raw = np.load(os.path.join(root, "raw.npy"), mmap_mode="r")
        self.clean = np.load(os.path.join(root, "clean.npy"), mmap_mode="r")
        self.label = np.load(os.path.join(root, "label.npy"), mmap_mode="r")
        if len(self.raw) and size > self.raw.shape[1]:
            # The crop would be upscaled into a scale the pages never had; make larger crops instead.
            raise ValueError(
                f"{root} holds crops of {self.raw.shape[1]} px, smaller than the {size} px asked for "
                f"(python -m textclean_train.dataset synth ... --crop-size {stored_crop(size)})"
            )
        self.size, self.scale, self.augment = size, scale, augment
        self.length = length or len(self.raw)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        i = index % len(self.raw)
        raw, clean, label = self.raw[i], self.clean[i], self.label[i]
        s = self.size
        if self.augment:
            rng = np.random.default_rng()
            scale = float(rng.uniform(*self.scale))
            src = min(raw.shape[0], int(round(s / scale)))
            y0, x0 = (int(rng.integers(0, raw.shape[0] - src + 1)), int(rng.integers(0, raw.shape[1] - src + 1)))
            sl = np.s_[y0 : y0 + src, x0 : x0 + src]
            raw, clean, label = raw[sl], clean[sl], label[sl]
            if src != s:
                interp = cv2.INTER_AREA if src > s else cv2.INTER_LINEAR
                raw, clean = (
                    cv2.resize(raw, (s, s), interpolation=interp),
                    cv2.resize(clean, (s, s), interpolation=interp),
                )
                label = cv2.resize(label, (s, s), interpolation=cv2.INTER_NEAREST)
            if rng.random() < 0.5:
                raw, clean, label = raw[:, ::-1], clean[:, ::-1], label[:, ::-1]
        else:
            o = (raw.shape[0] - s) // 2
            sl = np.s_[o : o + s, o : o + s]
            raw, clean, label = raw[sl], clean[sl], label[sl]
        return {
            "raw": torch.from_numpy(np.array(raw)).permute(2, 0, 1).float() / 255,
            "clean": torch.from_numpy(np.array(clean)).permute(2, 0, 1).float() / 255,
            "label": torch.from_numpy(np.array(label))[None].float(),
        }


class MixedCrops(Dataset):
    """Several crop folders drawn from in fixed proportions, such as synthetic pages and mined hard negatives.

    ``sources`` are ``"DIR"`` or ``"DIR:SHARE"``. A folder with a share fills that share of every batch
    (a small folder of hard negatives is oversampled this way); folders without one split what is left
    in proportion to their sizes.
    """

    def __init__(self, sources: list[str], **kwargs) -> None:
        self.parts: list[CropDataset] = []
        shares: list[float | None] = []
        for src in sources:
            root, _, share = src.partition(":")
            self.parts.append(CropDataset(root, **kwargs))
            shares.append(float(share) if share else None)
        fixed = sum(x for x in shares if x is not None)
        if fixed > 1 or (fixed == 1 and None in shares):
            raise ValueError(f"the given shares add up to {fixed:g}; they must leave room for the other folders")
        free = sum(len(p) for p, x in zip(self.parts, shares) if x is None)
        weights = [x if x is not None else (1 - fixed) * len(p) / free for p, x in zip(self.parts, shares)]
        self.cum = np.cumsum(np.asarray(weights) / sum(weights))
        self.length = sum(len(p) for p in self.parts)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        # The folder is a pure function of the index, so every rank and every resume agrees on it.
        u = np.random.default_rng(index).random()
        k = min(int(np.searchsorted(self.cum, u, side="right")), len(self.parts) - 1)
        return self.parts[k][index]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("synth", help="synthetic pages")
    s.add_argument("out")
    s.add_argument("--pages", type=int, default=1500)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--split", choices=["train", "heldout"], default="train")
    s.add_argument("--crops-per-page", type=int, default=4)
    s.add_argument("--colour-share", type=float, default=0.3)
    s.add_argument("--workers", type=int, default=2)
    s.add_argument("--negative-share", type=float, default=0.1, help="share of pages with no text at all")
    s.add_argument("--dense-share", type=float, default=0.1, help="share of pages with columns of body text")
    s.add_argument("--crop-size", type=int, default=CROP, help="side of the stored crops")
    p = sub.add_parser("pairs", help="a folder of raw/clean pairs")
    p.add_argument("pairs_dir")
    p.add_argument("out")
    p.add_argument("--crops-per-page", type=int, default=8)
    p.add_argument("--threshold", type=float, default=0.35)
    p.add_argument("--dilate", type=int, default=3)
    a = ap.parse_args()
    if a.cmd == "synth":
        write_synthetic(
            a.out,
            a.pages,
            a.seed,
            a.split,
            a.crops_per_page,
            a.colour_share,
            a.workers,
            a.negative_share,
            a.dense_share,
            a.crop_size,
        )
    else:
        from .pairs import write_pairs

        write_pairs(a.pairs_dir, a.out, a.crops_per_page, a.threshold, a.dilate)


if __name__ == "__main__":
    main()


__all__ = ["CROP", "IGNORE", "CropDataset", "MixedCrops", "crops_from", "stored_crop", "write_synthetic"]
