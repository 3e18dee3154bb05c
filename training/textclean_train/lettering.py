"""Lettering the way letterers set it, beyond plain fills: the styles real SFX and titles use.

Each function transforms a ``TextBlock`` (coverage maps) or describes how to
paint it, so the label still comes exactly from the coverage that was painted:

- ``warp``: arcs, waves and perspective, applied to every map of the block alike;
- ``jittered_block``: SFX drawn glyph by glyph, each with its own size and offset;
- ``hand_drawn``: SFX drawn with a pen, not typed: strokes that wander, edges that tremble;
- ``second_outline`` and ``glow``: a double outline or a soft halo around the outline;
- ``fill_pattern``: gradient and screentoned fills instead of one colour;
- ``furigana``: a column of small kana beside vertical Japanese.

Degradations of the whole page (halftone print) are in ``print_halftone``; they
are applied to the raw and clean page alike, so they never enter the label.
"""

from __future__ import annotations

import cv2
import numpy as np

from . import corpus
from .fonts import FontSpec, load_font
from .text import TextBlock, draw_coverage

Rng = np.random.Generator


def _maps(block: TextBlock) -> list[np.ndarray]:
    return [m for m in (block.fill, block.outer, block.shadow) if m is not None]


def _apply(block: TextBlock, fn) -> TextBlock:
    fill = fn(block.fill)
    outer = fill if block.outer is block.fill else fn(block.outer)
    shadow = fn(block.shadow) if block.shadow is not None else None
    return TextBlock(fill, outer, shadow, block.shadow_offset)


def warp(block: TextBlock, rng: Rng) -> TextBlock:
    """An arc, a wave or a perspective tilt: SFX and titles are rarely set on a straight baseline."""
    h, w = block.fill.shape
    kind = rng.integers(0, 3)
    if kind == 2:  # perspective: one side nearer than the other
        d = rng.uniform(0.08, 0.3)
        src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        if rng.random() < 0.5:
            dst = np.float32([[0, h * d], [w, 0], [w, h], [0, h * (1 - d)]])
        else:
            dst = np.float32([[w * d, 0], [w * (1 - d), 0], [w, h], [0, h]])
        m = cv2.getPerspectiveTransform(src, dst)
        return _apply(block, lambda a: cv2.warpPerspective(a, m, (w, h), flags=cv2.INTER_LINEAR))
    pad = int(h * 0.6) + 4
    yy, xx = np.mgrid[0 : h + 2 * pad, 0:w].astype(np.float32)
    t = xx / max(1, w - 1)
    amp = rng.uniform(0.15, 0.5) * h * (1 if rng.random() < 0.5 else -1)
    shift = amp * (4 * t * (1 - t)) if kind == 0 else amp * 0.5 * np.sin(2 * np.pi * t * rng.uniform(0.7, 1.6))
    map_y = yy - pad + shift.astype(np.float32)

    def remap(a: np.ndarray) -> np.ndarray:
        return cv2.remap(a, xx, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)

    return _apply(block, remap)


def jittered_block(text: str, spec: FontSpec, size: int, stroke: int, rng: Rng, vertical: bool) -> TextBlock:
    """SFX lettering: each glyph its own size (±30%), offset and a little rotation, overlapping its neighbour."""
    glyphs = []
    for ch in text:
        s = max(8, int(size * rng.uniform(0.75, 1.3)))
        font = load_font(spec, s)
        pad = stroke + s // 3
        canvas = (int(s * 1.4) + 2 * pad, int(s * 1.4) + 2 * pad)
        fill = draw_coverage(canvas, [((pad, pad), ch)], font, 0)
        outer = draw_coverage(canvas, [((pad, pad), ch)], font, stroke) if stroke else fill
        angle = float(rng.uniform(-18, 18))
        m = cv2.getRotationMatrix2D((canvas[0] / 2, canvas[1] / 2), angle, 1.0)
        fill = cv2.warpAffine(fill, m, canvas)
        outer = cv2.warpAffine(outer, m, canvas) if stroke else fill
        glyphs.append((fill, outer))
    step = int(size * rng.uniform(0.75, 1.0))
    cw = max(g[0].shape[1] for g in glyphs)
    ch_ = max(g[0].shape[0] for g in glyphs)
    n = len(glyphs)
    W = cw + (0 if vertical else step * (n - 1)) + size
    H = ch_ + (step * (n - 1) if vertical else 0) + size
    fill_all = np.zeros((H, W), np.float32)
    outer_all = np.zeros((H, W), np.float32)
    for i, (f, o) in enumerate(glyphs):
        jx, jy = (int(v) for v in rng.integers(-size // 6, size // 6 + 1, 2))
        x = (0 if vertical else i * step) + size // 2 + jx
        y = (i * step if vertical else 0) + size // 2 + jy
        x, y = int(np.clip(x, 0, W - f.shape[1])), int(np.clip(y, 0, H - f.shape[0]))
        np.maximum(
            fill_all[y : y + f.shape[0], x : x + f.shape[1]], f, out=fill_all[y : y + f.shape[0], x : x + f.shape[1]]
        )
        np.maximum(
            outer_all[y : y + o.shape[0], x : x + o.shape[1]], o, out=outer_all[y : y + o.shape[0], x : x + o.shape[1]]
        )
    return TextBlock(fill_all, outer_all if stroke else fill_all, None)


def _smooth_field(h: int, w: int, cell: float, amplitude: float, rng: Rng) -> np.ndarray:
    """An H×W field of smooth random values (about ±``amplitude``) varying over ``cell`` px.

    Made on a coarse grid and scaled up, so a 2,000-px block costs a few hundred random numbers.
    """
    gh, gw = max(2, int(np.ceil(h / cell)) + 1), max(2, int(np.ceil(w / cell)) + 1)
    grid = rng.standard_normal((gh, gw)).astype(np.float32) * amplitude
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)


def hand_drawn(block: TextBlock, size: int, rng: Rng) -> TextBlock:
    """The block as a letterer draws SFX by hand: each stroke wanders off the font's line by a few
    percent of the glyph, and on one in two the edges tremble (the jagged outlines of ビリリ).

    Real hand-drawn SFX (the Manga109 spread's ビリリ, ビビビ, ビク) are missed by every model trained
    on fonts alone, whose strokes are straight and evenly curved. The same displacement moves every
    map of the block, so the label still follows the painted coverage.
    """
    h, w = block.fill.shape
    wander = float(rng.uniform(0.03, 0.07)) * size
    cell = float(rng.uniform(0.25, 0.5)) * size
    dx, dy = (_smooth_field(h, w, cell, wander, rng) for _ in range(2))
    if rng.random() < 0.5:
        shake, step = float(rng.uniform(0.5, 1.2)), float(rng.uniform(5.0, 9.0))
        dx += _smooth_field(h, w, step, shake, rng)
        dy += _smooth_field(h, w, step, shake, rng)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    map_x, map_y = xx + dx, yy + dy

    def remap(a: np.ndarray) -> np.ndarray:
        return cv2.remap(a, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)

    return _apply(block, remap)


def second_outline(block: TextBlock, width: int) -> np.ndarray:
    """A band ``width`` px wide around the block's outline: the outer ring of a double outline."""
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    return cv2.dilate(block.outer, k)


def glow(block: TextBlock, radius: float) -> np.ndarray:
    """A soft halo: the outline spread and blurred, fading to nothing."""
    k = max(1, int(radius / 2))
    spread = cv2.dilate(block.outer, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
    return np.clip(cv2.GaussianBlur(spread, (0, 0), radius / 2) * 1.5, 0, 1)


def fill_pattern(shape: tuple[int, int], base, rng: Rng) -> np.ndarray:
    """An H×W×3 fill: a two-colour gradient, or the ink colour broken by a dot screen."""
    h, w = shape
    base = np.asarray(base, np.float32)
    if rng.random() < 0.6:
        other = np.clip(base + rng.uniform(-0.6, 0.6, 3), 0, 1).astype(np.float32)
        angle = rng.uniform(0, np.pi)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        t = xx * np.cos(angle) + yy * np.sin(angle)
        t = ((t - t.min()) / max(1e-6, float(t.max() - t.min())))[..., None]
        return base * (1 - t) + other * t
    from .pages import screentone

    tone = screentone(h, w, rng, level=float(rng.uniform(0.3, 0.7)))[..., None]
    paper = np.full(3, 1.0 if base.mean() < 0.5 else 0.0, np.float32)
    return base * (1 - tone) + paper * tone * 0.5 + base * tone * 0.5


def furigana(rng: Rng, spec: FontSpec, size: int) -> np.ndarray:
    """A short column of small kana (reading aids set beside kanji), as a coverage map."""
    s = max(6, size)
    font = load_font(spec, s)
    text = "".join(corpus.HIRAGANA[int(i)] for i in rng.integers(0, len(corpus.HIRAGANA), int(rng.integers(2, 5))))
    step = s * 1.05
    canvas = (int(s * 1.6), int(len(text) * step + s))
    return draw_coverage(canvas, [((s * 0.3, s * 0.3 + i * step), c) for i, c in enumerate(text)], font, 0)


def print_halftone(page: np.ndarray, rng: Rng) -> np.ndarray:
    """Old comics' colour print: each ink as a dot screen at its own angle (applied to raw and clean alike)."""
    h, w = page.shape[:2]
    period = float(rng.uniform(2.5, 5.0))
    soften = float(rng.uniform(0.6, 1.2))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    out = page.copy()
    channels = range(3) if page.ndim == 3 else [None]
    for c, deg in zip(channels, (15.0, 75.0, 0.0)):
        a = np.deg2rad(deg + rng.uniform(-5, 5))
        u = (xx * np.cos(a) + yy * np.sin(a)) / period
        v = (-xx * np.sin(a) + yy * np.cos(a)) / period
        dist = np.sqrt((u - np.round(u)) ** 2 + (v - np.round(v)) ** 2)
        plane = page[..., c] if c is not None else page
        ink = 1.0 - plane  # coverage of this ink
        # Light inks print as dots; solid areas and line art stay solid.
        dots = np.clip((np.sqrt(np.clip(ink, 0, 1) / np.pi) - dist) * period * 2 + 0.5, 0, 1)
        screened = 1.0 - np.where(ink > 0.85, ink, dots)
        if c is not None:
            out[..., c] = screened
        else:
            out = screened
    # Ink spread and the scanner soften the dots: on the 1950s pages of the real-page set the screen
    # is a fine, low-contrast texture, and crisp saturated dots taught nothing about it (the segmenter
    # marked a screened illustration's flats, and none once they were blurred by 1.5 px). The blur
    # moves a raw pixel off the clean page's by more than 40 levels only within 2 px of text, where
    # the label's rim is ignored.
    out = cv2.GaussianBlur(np.clip(out, 0, 1).astype(np.float32), (0, 0), soften)
    return np.clip(out, 0, 1).astype(np.float32)
