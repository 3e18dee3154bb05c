"""Redraw ``before-after.png``, the README's picture: each example page, the mask found, the result.

    python docs/screenshots/make_before_after.py

It runs the shipped pipeline with default parameters (what ``textclean clean`` does) on
``examples/manga.png`` and ``examples/colour.png``; run it again whenever the weights or the mask's
post-processing change, so the README shows what the code does.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
HEIGHT = {"manga.png": 600, "colour.png": 400}


def row(name: str) -> np.ndarray:
    from textclean.imagefiles import read_image
    from textclean.pipeline import default_pipeline
    from textclean.pixels import to_u8_rgb

    image = read_image(ROOT / "examples" / name)
    mask, cleaned = default_pipeline().remove_text(image)
    panels = [to_u8_rgb(image), np.repeat(mask[..., None], 3, axis=2), to_u8_rgb(cleaned)]
    h = HEIGHT[name]
    panels = [cv2.resize(p, (round(p.shape[1] * h / p.shape[0]), h), interpolation=cv2.INTER_AREA) for p in panels]
    gap = np.full((h, 6, 3), 255, np.uint8)
    return np.concatenate([panels[0], gap, panels[1], gap, panels[2]], axis=1)


def main() -> None:
    rows = [row(n) for n in HEIGHT]
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 6), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    out = ROOT / "docs" / "screenshots" / "before-after.png"
    cv2.imwrite(str(out), np.concatenate(rows)[:-6, :, ::-1])
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
