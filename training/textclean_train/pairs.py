"""Pairs mode, the seed's method: a raw page and its cleaned page, matched by name.

The mask is where the two differ by more than ``threshold`` (a share of full
scale, 0.3-0.4 in the seed) in any channel, grown by ``dilate`` pixels so
the antialiased rim that fell under the threshold is included.

    raw/page001.png  clean/page001.png   ->  crops for both trainers
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
from textclean.imagefiles import EXTENSIONS, read_image
from textclean.pixels import to_u8_rgb

from .synth import Sample


def find_pairs(root: str | os.PathLike) -> list[tuple[Path, Path]]:
    """(raw, clean) paths: ``root/raw/NAME`` with ``root/clean/NAME`` (any image extension)."""
    root = Path(root)
    raw_dir, clean_dir = root / "raw", root / "clean"
    if not raw_dir.is_dir() or not clean_dir.is_dir():
        raise FileNotFoundError(f"{root} must hold the folders raw/ and clean/")
    clean_by_stem = {p.stem: p for p in clean_dir.iterdir() if p.suffix.lower() in EXTENSIONS}
    pairs = []
    for p in sorted(raw_dir.iterdir()):
        if p.suffix.lower() in EXTENSIONS and p.stem in clean_by_stem:
            pairs.append((p, clean_by_stem[p.stem]))
    if not pairs:
        raise FileNotFoundError(f"no raw/clean pairs with matching names under {root}")
    return pairs


def mask_from_pair(raw: np.ndarray, clean: np.ndarray, threshold: float = 0.35, dilate: int = 3) -> np.ndarray:
    """Label map (0 or 1) from a uint8 RGB raw/clean pair of equal size."""
    if raw.shape != clean.shape:
        raise ValueError(f"raw {raw.shape} and clean {clean.shape} differ in size")
    diff = np.abs(raw.astype(np.int16) - clean.astype(np.int16)).max(axis=2)
    text = (diff > threshold * 255).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * dilate + 1, 2 * dilate + 1))
    grown = cv2.dilate(text, kernel) if dilate > 0 else text
    return (grown > 0).astype(np.uint8)


def load_pair(raw_path: Path, clean_path: Path, threshold: float = 0.35, dilate: int = 3) -> Sample:
    raw, clean = to_u8_rgb(read_image(raw_path)), to_u8_rgb(read_image(clean_path))
    return Sample(raw, clean, mask_from_pair(raw, clean, threshold, dilate))


def write_pairs(pairs_dir: str, out_dir: str, crops_per_page: int = 8, threshold: float = 0.35, dilate: int = 3) -> int:
    """Store crops of every pair in the same format as the synthetic crops; returns the crop count."""
    from .dataset import CROP, crops_from

    pairs = find_pairs(pairs_dir)
    os.makedirs(out_dir, exist_ok=True)
    n = len(pairs) * crops_per_page
    arrays = {
        name: np.lib.format.open_memmap(
            os.path.join(out_dir, f"{name}.npy"),
            "w+",
            np.uint8,
            (n, CROP, CROP, 3) if name != "label" else (n, CROP, CROP),
        )
        for name in ("raw", "clean", "label")
    }
    i = 0
    rng = np.random.default_rng(0)
    for raw_path, clean_path in pairs:
        for raw, clean, label in crops_from(load_pair(raw_path, clean_path, threshold, dilate), rng, crops_per_page):
            arrays["raw"][i], arrays["clean"][i], arrays["label"][i] = raw, clean, label
            i += 1
    for a in arrays.values():
        a.flush()
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump(
            {
                "source": "pairs",
                "pairs_dir": str(pairs_dir),
                "pairs": len(pairs),
                "threshold": threshold,
                "dilate": dilate,
                "crop": CROP,
            },
            f,
        )
    return n
