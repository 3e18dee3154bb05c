"""Turning text probabilities into the mask that gets inpainted.

Every step is a user-settable field of ``MaskParams``:

- ``threshold``: probability above which a pixel is text. Lower finds faint
  or unusual lettering at the cost of more false positives.
- ``grow``: pixels the mask is dilated by, so antialiased rims and JPEG
  halos around glyphs are repainted too.
- ``min_area``: connected specks smaller than this (in page pixels) are
  dropped; isolated dots of screentone should never become holes.
- ``check_blobs``: drop blobs that the blob check (``blobcheck``) takes for
  art: eyes, hair, foliage, which the segmenter alone marks on real pages.
- ``fill_holes``: fill the enclosed background inside glyphs (the counters
  of o, a, 口); inpainting a glyph-shaped ring leaves its inside floating.
  Only enclosed holes up to ``max_hole_area`` page pixels are filled, so a
  ring of text around a picture does not swallow the picture.

One step is not a parameter: ``fit_to_ink`` takes each blob on plain ground
back to the ink in it. The segmenter's blobs spill onto the paper around
lettering (on the real pages, a third to three quarters of the false
positives lie 3-10 px from text), and ``grow`` then covers the rims.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields

import cv2
import numpy as np
from textclean_client import params as schema

_D = schema.BY_NAME


@dataclass(frozen=True)
class MaskParams:
    """The mask parameters of ``textclean_client.params`` (all but ``flat_fill``, an inpainting choice).

    Defaults and ranges come from that table, so they cannot drift from the protocol, the CLI or
    the plugins.
    """

    threshold: float | None = _D["threshold"].default  # None: the value the shipped segmenter was validated at
    grow: int = _D["grow"].default
    min_area: int = _D["min_area"].default
    fill_holes: bool = _D["fill_holes"].default
    check_blobs: bool = _D["check_blobs"].default
    max_hole_area: int = _D["max_hole_area"].default

    def validated(self) -> "MaskParams":
        """``self``, or ``ValueError`` (a ``schema.ParamError``) naming the field and its range."""
        for f in fields(self):
            schema.check(_D[f.name], getattr(self, f.name))
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_request(cls, params: dict) -> tuple["MaskParams", bool]:
        """(mask parameters, flat_fill) from a request's checked params; absent ones take the table's default."""
        d = dict(params)
        flat_fill = d.pop("flat_fill", _D["flat_fill"].default)
        return cls.from_dict(d), flat_fill

    @classmethod
    def from_dict(cls, d: dict) -> "MaskParams":
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown mask parameter(s): {', '.join(sorted(unknown))}")
        return cls(**d).validated()


def bands(mask: np.ndarray, min_rows: int = 4096) -> list[tuple[int, int]]:
    """Row ranges of ``mask``, each at least ``min_rows`` long (but the last), cut at rows with no mask pixel.

    No mask component crosses a cut, so a step that looks at whole components can run band by band.
    """
    h = mask.shape[0]
    if h <= min_rows:
        return [(0, h)]
    empty = np.flatnonzero(~mask.any(axis=1))
    out, start = [], 0
    while start < h:
        after = empty[np.searchsorted(empty, start + min_rows) :]
        cut = int(after[0]) if len(after) else h
        out.append((start, cut))
        start = cut
    return out


def in_bands(mask: np.ndarray, fn: Callable[[np.ndarray], None], min_rows: int = 4096) -> None:
    """Run ``fn`` (an in-place step) on row bands of ``mask`` cut at rows with no mask pixel.

    For ``drop_specks`` and ``fill_enclosed`` this is exact: no mask component crosses an empty
    row, and a background component that reaches one reaches the page's side through it, so it
    is no enclosed hole either way. It bounds their label images to a band of a long strip.
    Without an empty row the band grows until one comes (or the page ends).
    """
    for start, cut in bands(mask, min_rows):
        fn(mask[start:cut])


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


def _disk(r: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def grow(mask: np.ndarray, px: int) -> np.ndarray:
    if px <= 0:
        return mask
    return cv2.dilate(mask, _disk(px))


# fit_to_ink: a pixel is ink when a channel differs from its blob's ground by more than INK_CONTRAST levels.
# A blob's ground is the commonest colour of the RING_PX ring around it. The ground is plain (paper, a flat
# balloon or box) when at least GROUND_SHARE of the ring lies within one 8-level bin of it and at most
# RING_INK_SHARE of the ring is ink; other blobs are left as they are. Without the second rule a blob on light
# screentone became a sieve of its dots (on the real pages the rule costs 0.001 of mean F1).
INK_CONTRAST = 40
INK_REACH_PX = 2
RING_PX = 3
GROUND_SHARE = 0.5
RING_INK_SHARE = 0.1


def fit_to_ink(rgb: np.ndarray, mask: np.ndarray, reach: int = INK_REACH_PX) -> np.ndarray:
    """Clear (in place) the pixels of ``mask``'s blobs on plain ground that lie over ``reach`` px from ink.

    Lettering of either polarity keeps its glyphs and antialiased rims (within ``reach`` of pixels that
    differ from the ground); blobs on busy ground (art, screentone, gradients) keep every pixel, since there
    the ground cannot be told from the ink by colour.
    """
    if not mask.any():
        return mask
    inside = mask > 0
    n, labels = cv2.connectedComponents(inside.astype(np.uint8), connectivity=8)
    # Each ring pixel goes to the blob of the highest label within RING_PX; labels fit float32 exactly.
    near = cv2.dilate(labels.astype(np.float32), _disk(RING_PX)).astype(np.int32)
    ring = (near > 0) & ~inside
    owner = near[ring]
    counted = np.maximum(np.bincount(owner, minlength=n), 1)
    ground = np.zeros((n, 3), np.int16)
    plain = np.ones(n, bool)
    ring_px = rgb[ring]
    for c in range(3):
        hist = np.bincount(owner * 32 + (ring_px[:, c] >> 3), minlength=n * 32).reshape(n, 32)
        # The commonest 8-level bin with its neighbours: a colour on a bin edge still counts as one.
        padded = np.pad(hist, ((0, 0), (1, 1)))
        hist = padded[:, :-2] + padded[:, 1:-1] + padded[:, 2:]
        mode = hist.argmax(axis=1)
        plain &= hist[np.arange(n), mode] >= GROUND_SHARE * counted
        ground[:, c] = mode * 8 + 4
    ring_ink = np.abs(ring_px.astype(np.int16) - ground[owner]).max(axis=1) > INK_CONTRAST
    plain &= np.bincount(owner, weights=ring_ink, minlength=n) <= RING_INK_SHARE * counted
    plain[0] = False
    if not plain.any():
        return mask
    ys, xs = np.nonzero(inside & plain[labels])
    blob = labels[ys, xs]
    contrast = np.abs(rgb[ys, xs].astype(np.int16) - ground[blob]).max(axis=1)
    ink = np.zeros(mask.shape, np.uint8)
    ink[ys, xs] = contrast > INK_CONTRAST
    reached = cv2.dilate(ink, _disk(reach)) > 0
    far = ~reached[ys, xs]
    mask[ys[far], xs[far]] = 0
    return mask
