"""Turning text probabilities into the mask that gets inpainted.

Every step is a user-settable field of ``MaskParams``:

- ``threshold``: probability above which a pixel is text. Lower finds faint
  or unusual lettering at the cost of more false positives.
- ``grow``: pixels the mask is dilated by, so antialiased rims and JPEG
  halos around glyphs are repainted too.
- ``min_area``: connected specks smaller than this (in page pixels) are
  dropped; isolated dots of screentone should never become holes.
- ``fill_holes``: fill the enclosed background inside glyphs (the counters
  of o, a, 口); inpainting a glyph-shaped ring leaves its inside floating.
  Only enclosed holes up to ``max_hole_area`` page pixels are filled, so a
  ring of text around a picture does not swallow the picture.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import cv2
import numpy as np


@dataclass(frozen=True)
class MaskParams:
    threshold: float | None = None  # None: the value the shipped segmenter was validated at
    grow: int = 3
    min_area: int = 12
    fill_holes: bool = True
    max_hole_area: int = 2500

    def validated(self) -> "MaskParams":
        if self.threshold is not None and not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold must be between 0 and 1, got {self.threshold}")
        if not 0 <= self.grow <= 64:
            raise ValueError(f"grow must be 0..64 px, got {self.grow}")
        if self.min_area < 0 or self.max_hole_area < 0:
            raise ValueError("min_area and max_hole_area must not be negative")
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "MaskParams":
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown mask parameter(s): {', '.join(sorted(unknown))}")
        return cls(**d).validated()


def drop_specks(mask: np.ndarray, min_area: int) -> np.ndarray:
    """Remove 8-connected components smaller than ``min_area`` pixels (in place)."""
    if min_area <= 1 or not mask.any():
        return mask
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    small = np.nonzero(stats[:, cv2.CC_STAT_AREA] < min_area)[0]
    small = small[small > 0]
    if len(small):
        mask[np.isin(labels, small)] = 0
    return mask


def fill_enclosed(mask: np.ndarray, max_area: int) -> np.ndarray:
    """Set enclosed background components up to ``max_area`` pixels to text (in place)."""
    if max_area <= 0 or not mask.any():
        return mask
    background = (mask == 0).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(background, connectivity=4)
    h, w = mask.shape
    x, y = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    bw, bh = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    touches_border = (x == 0) | (y == 0) | (x + bw == w) | (y + bh == h)
    holes = np.nonzero(~touches_border & (stats[:, cv2.CC_STAT_AREA] <= max_area))[0]
    holes = holes[holes > 0] if n else holes
    if len(holes):
        mask[np.isin(labels, holes) & (background > 0)] = mask.max() or 255
    return mask


def grow(mask: np.ndarray, px: int) -> np.ndarray:
    if px <= 0:
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    return cv2.dilate(mask, kernel)
