"""Speech bubbles and caption boxes: where ``--bubbles-only`` lets text be removed.

A bubble is a closed region of near-flat colour around text: the white
inside of a balloon, a caption box, a black narration box. For each piece
of found text whose surrounding ring is one flat colour, the region of that
colour connected to it is flood-filled (with the text itself counted as that
colour). The region is a bubble when it is closed (it touches no page edge,
or one edge along less than 3/4 of it: a balloon cut by the trim), covers
at most a quarter of the page, fills at least 70% of its convex hull (a
panel's background carved by the art is not a balloon), and is at least half
of what it encloses (a thin light frame around a panel encloses the art), and is
not closed by text (the counter of a giant sound effect's "O"). Its inside, with
the text holes filled, is where text may be removed, a block of text at a time
(letters and lines closer than ``BLOCK_GAP``): a block that runs out of the bubble
is left whole, one with no more than ``OUTSIDE_SHARE`` of it on the bubble's outline
(a mask grown past lettering set close to it) is cut at the bubble's edge, so the
outline stays, and a bubble whose own text covers less than ``MIN_TEXT_SHARE`` of
it (a speck the segmenter took for text in a patch of flat art) is no bubble.
Text on art, on the page's gutter or across a balloon's outline fails one of
these tests and is left alone, so a cautious first run never touches the art.
"""

from __future__ import annotations

import cv2
import numpy as np

from .pixels import to_u8_rgb
from .structure import hole_rings

RING_PX = 3
TOLERANCE = 26  # of 255: JPEG noise and paper grain still count as flat
# Share of ring pixels allowed off the ring's colour: antialiased letter rims, and the outline a mask
# comes close to. At 0.11 the letters of a white outlined SFX over a white disc passed (a test page).
RING_OUTLIERS = 0.08
MAX_FRACTION = 0.25  # a "bubble" larger than this share of the page is a background, not a bubble
MIN_SOLIDITY = 0.7  # share of its convex hull a bubble fills
# Share of what a bubble encloses that is its own flat colour: the rest is its text. A thin light
# frame around a panel also encloses a solid shape, but what it encloses is the panel's art.
MIN_FLAT_SHARE = 0.5
NECK_PX = 5  # a bubble's fill is cut where it narrows below this (a dot screen's lace, a gap in an outline)
BLOCK_GAP = 12  # px: letters and lines of one block of text lie closer than this
OUTSIDE_SHARE = 0.1  # of a block's text pixels, the most that may lie off its bubble (on the outline it touches)
MIN_TEXT_SHARE = 0.02  # of a bubble's area, the least that its own text covers
# Share of the ink closing a region that the segmenter found as text, above which it is a letter's counter.
COUNTER_SHARE = 0.5


def bubble_area(image: np.ndarray, text: np.ndarray) -> np.ndarray:
    """H×W bool: the insides of the bubbles and caption boxes that hold text in ``text`` (H×W, nonzero)."""
    h, w = text.shape
    hole = text > 0
    work = to_u8_rgb(image).copy()
    seeds: list[tuple[int, int]] = []
    for box, comp, ring in hole_rings(hole, RING_PX):
        crop = work[box]
        values = crop[ring].astype(np.int16)
        if len(values) < 8:
            continue
        median = np.median(values, axis=0)
        deviation = np.abs(values - median).max(axis=1)
        if (deviation > TOLERANCE).mean() > RING_OUTLIERS:
            continue  # text over art or over a balloon's outline
        # The text counts as the bubble's colour for the fill, but not ink that runs on out of it: a
        # mask grown onto the balloon's outline would otherwise open the outline to the fill, and the
        # outline would go with the text.
        ink = np.abs(crop.astype(np.int16) - median).max(axis=2) > TOLERANCE
        _, pieces = cv2.connectedComponents(ink.astype(np.uint8), connectivity=8)
        line = np.isin(pieces, np.unique(pieces[ink & ~comp])) & ink & comp
        crop[comp & ~line] = median.astype(np.uint8)
        ys, xs = np.nonzero(ring)
        best = int(np.argmin(deviation))
        seeds.append((int(ys[best]) + box[0].start, int(xs[best]) + box[1].start))
    area = np.zeros((h, w), bool)
    filled = np.zeros((h + 2, w + 2), np.uint8)  # floodFill's mask: also stops later fills at known regions
    judged = 0
    flags = 4 | cv2.FLOODFILL_FIXED_RANGE | cv2.FLOODFILL_MASK_ONLY
    for sy, sx in seeds:
        if filled[sy + 1, sx + 1]:
            continue  # its region was judged already, and marked in ``area`` if a bubble
        judged += 1
        label = judged % 254 + 1
        diff = (TOLERANCE,) * 3
        _, _, _, (rx, ry, rw, rh) = cv2.floodFill(work, filled, (sx, sy), 0, diff, diff, flags | (label << 8))
        region = _without_lace(filled[ry + 1 : ry + 1 + rh, rx + 1 : rx + 1 + rw] == label)
        closed = _closed(rx, ry, rw, rh, w, h)
        small = region.sum() <= MAX_FRACTION * h * w
        box = (slice(ry, ry + rh), slice(rx, rx + rw))
        if closed and small and _solid(region) and not _counter(work, region, hole, box):
            area[box] |= _with_holes(region)
    return area


def inside_bubbles(image: np.ndarray, text: np.ndarray) -> np.ndarray:
    """``text`` (H×W uint8) keeping only the blocks of text that lie wholly inside a bubble.

    A piece of text that runs out of a bubble crosses its outline onto the art: cutting it at the
    bubble's edge would still repaint the part inside, next to art, so it is left whole instead.
    Pieces closer than ``BLOCK_GAP`` px count as one block, so a text block that a flat shape cuts
    in two is not half removed: only some of its letters, the ones over the shape, would go.
    """
    area = bubble_area(image, text)
    found = (text > 0).astype(np.uint8)
    grouped = cv2.dilate(found, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (BLOCK_GAP + 1, BLOCK_GAP + 1)))
    n, labels = cv2.connectedComponents(grouped, connectivity=8)
    labels[found == 0] = 0  # blocks are judged on their text pixels only
    if n <= 1:
        return text
    # Lettering that touches its balloon's outline puts a few of its block's pixels on the outline:
    # the block is kept, cut at the bubble's edge, so the outline stays. One that crosses it is not.
    outside = np.bincount(labels[~area], minlength=n) > OUTSIDE_SHARE * np.bincount(labels.ravel(), minlength=n)
    outside[0] = True
    # A balloon holds its dialogue: a flat patch of the art that holds only a speck the segmenter took
    # for text (a mark between the strokes of a giant sound effect, once the strokes are left out for
    # running over the art) is no balloon.
    m, regions = cv2.connectedComponents(area.astype(np.uint8), connectivity=8)
    kept = (found > 0) & ~outside[labels]
    held = np.bincount(regions[kept], minlength=m)
    empty = held < MIN_TEXT_SHARE * np.bincount(regions.ravel(), minlength=m)
    empty[0] = False
    outside |= np.bincount(labels[kept & empty[regions]], minlength=n) > 0
    return np.where(outside[labels] | ~area, 0, text).astype(text.dtype)


def _solid(region: np.ndarray) -> bool:
    """Balloons and boxes are nearly convex (a spiky balloon fills most of its hull); the flat
    background of a panel, carved by the art drawn over it, is not."""
    filled = _with_holes(region)
    if region.sum() < MIN_FLAT_SHARE * filled.sum():
        return False
    contours, _ = cv2.findContours(filled.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return False
    hull = cv2.contourArea(cv2.convexHull(np.concatenate(contours)))
    return hull > 0 and filled.sum() / hull >= MIN_SOLIDITY


def _counter(work: np.ndarray, region: np.ndarray, hole: np.ndarray, box: tuple[slice, slice]) -> bool:
    """Whether ``region`` (inside ``box``) is the counter of a letter: the paper inside a giant SFX
    "O" is flat and closed like a balloon, but the ink that closes it is text, mostly found as such,
    where a balloon's outline is art. The ink is what differs from the region's colour within one
    region size around it; each piece of it counts by how many pixels of the region's edge it holds.
    """
    h, w = hole.shape
    bh, bw = box[0].stop - box[0].start, box[1].stop - box[1].start
    y0, x0 = max(0, box[0].start - bh), max(0, box[1].start - bw)
    y1, x1 = min(h, box[0].stop + bh), min(w, box[1].stop + bw)
    inside = np.zeros((y1 - y0, x1 - x0), np.uint8)
    inside[box[0].start - y0 : box[0].stop - y0, box[1].start - x0 : box[1].stop - x0] = _with_holes(region)
    crop = work[y0:y1, x0:x1].astype(np.int16)
    colour = np.median(crop[inside > 0], axis=0)
    ink = (np.abs(crop - colour).max(axis=2) > TOLERANCE) & (inside == 0)
    edge = (cv2.dilate(inside, np.ones((5, 5), np.uint8)) > 0) & ink
    if not edge.any():
        return False
    n, labels = cv2.connectedComponents(ink.astype(np.uint8), connectivity=8)
    size = np.bincount(labels.ravel(), minlength=n)
    text = np.bincount(labels.ravel(), weights=(hole[y0:y1, x0:x1] > 0).ravel(), minlength=n)
    share = text / np.maximum(size, 1)
    return float(share[labels[edge]].mean()) > COUNTER_SHARE


def _closed(x: int, y: int, bw: int, bh: int, w: int, h: int) -> bool:
    """A region that touches no page edge, or one edge along less than 3/4 of it (a balloon cut by
    the trim). The gutter and the page's background run along several edges, or along most of one.
    """
    touches = [x == 0, y == 0, x + bw == w, y + bh == h]
    if sum(touches) == 0:
        return True
    if sum(touches) > 1:
        return False
    along = bh / h if touches[0] or touches[2] else bw / w
    return along < 0.75


def _without_lace(region: np.ndarray) -> np.ndarray:
    """``region``'s body: its largest part once strips narrower than ``NECK_PX`` are taken off.

    Where lettering touches a balloon's outline, the fill can slip past the outline and on into a
    dot screen of the balloon's grey, between the dots (a test page of tests/test_bubbles.py, once
    the mask changed by a few pixels); what it reaches there is lace, a few pixels wide, which the
    balloon's inside is not.
    """
    body = cv2.morphologyEx(
        region.astype(np.uint8), cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (NECK_PX, NECK_PX))
    )
    n, labels, stats, _ = cv2.connectedComponentsWithStats(body, connectivity=4)
    if n <= 1:
        return body > 0  # all lace: nothing in it could hold a line of text
    return labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))


def _with_holes(region: np.ndarray) -> np.ndarray:
    """``region`` plus everything it encloses (letters the segmenter missed, the counters of glyphs)."""
    outside = np.pad(~region, 1, constant_values=True).astype(np.uint8)
    cv2.floodFill(outside, None, (0, 0), 2)
    return outside[1:-1, 1:-1] != 2
