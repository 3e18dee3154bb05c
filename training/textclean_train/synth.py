"""Synthetic training pages: a text-free page, text layers over it, print-and-scan.

``make_sample(seed, kind, split)`` is deterministic in its seed, so the
validation and evaluation sets are fixed by their seed ranges alone.

The label map has three values: 0 background, 1 text, 255 ignore. Text is
where the text layer's alpha exceeds ``TEXT_ALPHA``, grown by one pixel,
which is what a cleaner must repaint; the faint antialiased rim beyond that
is "ignore", so neither loss nor metric argues about half-covered pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from . import corpus, lettering
from .pages import Bubble, colour_page, draw_bubble, manga_page
from .text import (
    SCRIPT_P,
    SCRIPTS,
    TextBlock,
    composite,
    pick_font,
    random_lines,
    random_size,
    render_block,
    rotate_coverage,
)

TEXT_ALPHA = 0.3
SOFT_ALPHA = 0.02
IGNORE = 255
RINGING = 40  # a pixel this far from the clean page, outside the text, is compression ringing

Rng = np.random.Generator


@dataclass
class Sample:
    raw: np.ndarray  # H×W×3 uint8, the page with text
    clean: np.ndarray  # H×W×3 uint8, the same page without text
    label: np.ndarray  # H×W uint8: 0 background, 1 text, 255 ignore
    # H×W uint8 index into KINDS: which lettering put the text there (make_sample(kinds=True) only)
    kinds: np.ndarray | None = None


#: The kinds of lettering a page holds, for measuring what a segmenter misses (bench/heldout_pages.py
#: --by-kind). Index 0 is no text; a pixel two kinds cover has the kind painted last, which is on top.
KINDS = (
    "none",
    "balloon",
    "furigana",
    "tight balloon",
    "sfx",
    "hand-drawn sfx",
    "display sfx (150+ px)",
    "semi-transparent",
    "line on the art",
    "body text column",
)


def _add(alpha: np.ndarray, cov: np.ndarray, kinds: np.ndarray | None, kind: str) -> None:
    np.maximum(alpha, cov, out=alpha)
    if kinds is not None:
        kinds[cov > TEXT_ALPHA] = KINDS.index(kind)


def labels_from_alpha(alpha: np.ndarray) -> np.ndarray:
    text = cv2.dilate((alpha > TEXT_ALPHA).astype(np.uint8), np.ones((3, 3), np.uint8))
    soft = cv2.dilate((alpha > SOFT_ALPHA).astype(np.uint8), np.ones((5, 5), np.uint8))
    label = np.where(text > 0, 1, np.where(soft > 0, IGNORE, 0)).astype(np.uint8)
    return label


def _along(lo: int, hi: int, ink: np.ndarray, align: int, jitter: int) -> int:
    """Where a block starts in [lo, hi), given which of its rows or columns hold ink (``ink``):
    centred and jittered, or with its ink against one end (a block's canvas has a margin around it)."""
    if align and ink.any():
        first, last = np.flatnonzero(ink)[[0, -1]]
        return int(hi - 1 - last) if align > 0 else int(lo - first)
    return lo + (hi - lo - len(ink)) // 2 + jitter


def _place_in_bubble(
    page: np.ndarray, bubble: Bubble, rng: Rng, split: str, alpha: np.ndarray, kinds: np.ndarray | None = None
) -> None:
    bw, bh = bubble.x1 - bubble.x0, bubble.y1 - bubble.y0
    if bw < 12 or bh < 12:
        return
    script = str(rng.choice(SCRIPTS, p=SCRIPT_P))
    vertical = script == "ja" and rng.random() < 0.85 or script == "zh" and rng.random() < 0.4
    size = min(random_size(rng, 8, 64), int(min(bw, bh) * 0.9))
    if size < 8:
        return
    lines = random_lines(rng, script, size, bw, bh, vertical)
    block = render_block(lines, pick_font(rng, script, split), size, vertical, 0, 0, rng)
    ink = (1.0, 1.0, 1.0) if bubble.dark else (0.0, 0.0, 0.0)
    if not bubble.dark and rng.random() < 0.1:
        ink = tuple([rng.uniform(0.0, 0.4)] * 3)
    h, w = block.fill.shape
    jx, jy = int(rng.integers(-4, 5)), int(rng.integers(-4, 5))
    inked = block.fill > 0.5
    x = _along(bubble.x0, bubble.x1, inked.any(0), bubble.align_x, jx)
    y = _along(bubble.y0, bubble.y1, inked.any(1), bubble.align_y, jy)
    _add(alpha, composite(page, block, x, y, ink, ink, ink), kinds, "balloon")
    if script == "ja" and vertical and size >= 14 and rng.random() < 0.35:
        # Furigana: small kana to the right of a column, the smallest text a cleaner must find.
        ruby = lettering.furigana(rng, pick_font(rng, "ja", split), max(6, int(size * rng.uniform(0.4, 0.5))))
        col = int(rng.integers(0, max(1, len(lines))))
        rx = x + w - int(size * 4 / 12) - int((col + 1) * size * 1.3) + int(size * 1.05)
        ry = y + int(size * 0.3) + int(rng.integers(0, max(1, h // 3)))
        _add(alpha, composite(page, TextBlock(ruby, ruby, None), rx, ry, ink, ink, ink), kinds, "furigana")


#: Share of manga and of colour pages that get one to three tight balloons (``_tight_balloons``).
TIGHT_P = {"manga": 0.5, "colour": 0.25}


def _tight_balloons(page: np.ndarray, seed: int, kind: str, split: str) -> list[tuple[TextBlock, int, int, tuple]]:
    """Balloons drawn around their text onto ``page`` (in place), over whatever art is there.

    Our other balloons are drawn first and their text centred in them with room to spare, so glyphs
    always sat in a wide white field. Letterers size a balloon to its text: on the Manga109 spread the
    first column runs a few px inside the border, with the panel's frame and hatching just outside, and
    segmenter 0.4 missed exactly those columns (each found once the surrounding art was erased). Returns
    each block with its place and ink, to be composited after the clean page is copied. A stream of its
    own, so pages without tight balloons stay what they were.
    """
    rng = np.random.default_rng([seed, 0x7167])
    if rng.random() >= TIGHT_P[kind]:
        return []
    ph, pw = page.shape[:2]
    out = []
    for _ in range(int(rng.integers(1, 4))):
        script = str(rng.choice(SCRIPTS, p=SCRIPT_P))
        vertical = script == "ja" and rng.random() < 0.85 or script == "zh" and rng.random() < 0.4
        size = random_size(rng, 10, 40)
        # Room for 2-5 columns (lines) of 4-9 glyphs; whatever block random_lines sets, the balloon is
        # sized to it below, which is what makes it tight.
        cols, chars = int(rng.integers(2, 6)), int(rng.integers(4, 10))
        max_w, max_h = (cols * size * 1.3, chars * size * 1.06) if vertical else (chars * size, cols * size * 1.2)
        lines = random_lines(rng, script, size, max_w, max_h, vertical)
        block = render_block(lines, pick_font(rng, script, split), size, vertical, 0, 0, rng)
        bh, bw = block.fill.shape
        # Radii 1.2-1.45 × the block's half-sides: an ellipse passes through the block's corners at
        # √2 ≈ 1.41, so most corners lie just outside it; uneven column lengths leave them mostly empty.
        f = float(rng.uniform(1.2, 1.45))
        rx, ry = int(bw / 2 * f), int(bh / 2 * f)
        if 2 * rx + 8 >= pw or 2 * ry + 8 >= ph:
            continue
        cx, cy = int(rng.integers(rx + 4, pw - rx - 4)), int(rng.integers(ry + 4, ph - ry - 4))
        draw_bubble(page, rng, cx, cy, rx, ry)
        ink = (0.0, 0.0, 0.0) if rng.random() < 0.9 else tuple([rng.uniform(0.0, 0.4)] * 3)
        out.append((block, cx - bw // 2, cy - bh // 2, ink))
    return out


#: Share of SFX drawn by hand (``lettering.hand_drawn``), from a stream of their own.
HAND_DRAWN_P = 0.5


def sfx_rim(size: int) -> int:
    """The widest outline (and second outline or glow) an SFX of ``size`` px gets, in px.

    Outlines used to grow with the lettering (size / 8: 50 px on 400-px SFX), and the label takes in
    the outline, so the segmenter learnt that everything within tens of px of a big stroke is text.
    On a real grey-scale page (mit-21) it then covered a door's screentone between the strokes of a
    400-px hand-drawn SFX whose white rims are 4-5 px. Letterers' rims grow far slower than the
    letters: this keeps small SFX as they were (28 px: 3) and stops 400 px at 16.
    """
    return 3 + size // 30


def _place_free(
    page: np.ndarray,
    rng: Rng,
    split: str,
    alpha: np.ndarray,
    sfx: bool,
    colour: bool,
    hand: Rng | None = None,
    kinds: np.ndarray | None = None,
) -> None:
    """Lettering on the art: an SFX (``sfx``) or a line of text outside any balloon.

    ``hand`` is the page's own stream for hand-drawn SFX: its draws leave ``rng``'s alone, so a
    page without one is the page it was before hand-drawn SFX were added.
    """
    ph, pw = page.shape[:2]
    script = str(rng.choice(SCRIPTS, p=SCRIPT_P))
    if sfx:
        # Mostly 28-150 px; one in four is display lettering up to 400 px, bigger than the receptive field.
        size = random_size(rng, 28, 150) if rng.random() < 0.75 else random_size(rng, 120, 400)
        vertical = script == "ja" and rng.random() < 0.5
        text = corpus.sfx(rng, script)
        lines = [text] if not vertical else [text[:6]]
        stroke = min(int(rng.choice([0, 0, max(1, size // 14), max(2, size // 8)])), sfx_rim(size))
        angle = float(rng.uniform(-35, 35))
        font = pick_font(rng, script, split, bold=True)
    else:
        size = random_size(rng, 7, 72)
        vertical = script == "ja" and rng.random() < 0.6
        lines = random_lines(rng, script, size, pw * 0.5, ph * 0.4, vertical)
        stroke = int(rng.choice([0, 0, 1, 2, max(1, size // 10)]))
        angle = float(rng.uniform(-20, 20)) if rng.random() < 0.3 else 0.0
        font = pick_font(rng, script, split)
    shadow = int(rng.integers(1, max(2, size // 12) + 1)) if rng.random() < 0.15 else 0
    if sfx and rng.random() < 0.4:
        block = lettering.jittered_block(lines[0], font, size, stroke, rng, vertical)
        if angle:
            fill = rotate_coverage(block.fill, angle)
            block = TextBlock(fill, rotate_coverage(block.outer, angle) if stroke else fill, None)
    else:
        block = render_block(lines, font, size, vertical, stroke, shadow, rng, angle)
    kind = "sfx" if sfx else "line on the art"
    if sfx and hand is not None and hand.random() < HAND_DRAWN_P:
        block = lettering.hand_drawn(block, size, hand)
        kind = "hand-drawn sfx"
    if sfx and size >= 150:
        kind = "display sfx (150+ px)"
    if (sfx and rng.random() < 0.4) or rng.random() < 0.08:
        block = lettering.warp(block, rng)
    h, w = block.fill.shape
    x = int(rng.integers(-w // 4, max(1, pw - 3 * w // 4)))
    y = int(rng.integers(-h // 4, max(1, ph - 3 * h // 4)))
    if colour:
        fill = (
            tuple(rng.uniform(0, 1, 3))
            if rng.random() < 0.5
            else ((1.0, 1.0, 1.0) if rng.random() < 0.5 else (0.0, 0.0, 0.0))
        )
    else:
        fill = (0.0, 0.0, 0.0) if rng.random() < 0.6 else (1.0, 1.0, 1.0)
    # An outline contrasts with the fill: white stroke on dark text and the reverse.
    outline = tuple(1.0 - round(float(np.mean(fill))) for _ in range(3))
    shadow_color = (0.0, 0.0, 0.0) if np.mean(fill) > 0.5 else (0.5, 0.5, 0.5)
    if stroke == 0 and not colour:
        # Plain text must stand out from what is under it, or nobody could read it either.
        under = page[max(0, y) : max(0, y) + h, max(0, x) : max(0, x) + w]
        if under.size and abs(float(under.mean()) - float(np.mean(fill))) < 0.35:
            fill = tuple(1.0 - c for c in fill)
    halo = None
    if stroke and sfx and rng.random() < 0.35:  # double outline (or a glow on colour pages)
        second = tuple(float(c) for c in (rng.uniform(0, 1, 3) if colour else [round(float(np.mean(fill)))] * 3))
        cov = (
            lettering.glow(block, min(max(3.0, size / 8), 1.0 + sfx_rim(size)))
            if colour and rng.random() < 0.5
            else lettering.second_outline(block, min(max(2, size // 14), sfx_rim(size) - 1))
        )
        halo = (cov, second)
    fill_paint = fill
    if sfx and stroke and rng.random() < 0.3:  # gradient or toned fill inside an outline
        fill_paint = lettering.fill_pattern(block.fill.shape, fill, rng)
        if not colour:
            fill_paint = np.repeat(fill_paint.mean(-1, keepdims=True), 3, -1)
    opacity = float(rng.uniform(0.55, 0.9)) if rng.random() < 0.06 else 1.0
    if opacity < 1.0:
        kind = "semi-transparent"
    _add(alpha, composite(page, block, x, y, fill_paint, outline, shadow_color, halo, opacity), kinds, kind)


def _place_paragraphs(
    page: np.ndarray,
    clean: np.ndarray,
    rng: Rng,
    split: str,
    alpha: np.ndarray,
    colour: bool,
    kinds: np.ndarray | None = None,
) -> None:
    """A column of body text on a paper box: captions, narration and the prose pages of old comics.

    Comics set far more than short balloon lines: a real 1950s page with columns of small type was
    found only in patches by a model that had never seen text this dense.
    """
    ph, pw = page.shape[:2]
    script = str(rng.choice(SCRIPTS, p=SCRIPT_P))
    size = random_size(rng, 9, 26)
    col_w = int(min(pw * 0.9, rng.uniform(10, 30) * size))
    n_lines = int(rng.integers(4, 22))
    vertical = script == "ja" and rng.random() < 0.5
    font = pick_font(rng, script, split)
    if vertical:
        columns = min(n_lines, int(pw * 0.8 / (size * 1.3)))
        lines = [corpus.japanese(rng, int(rng.integers(6, 18))) for _ in range(columns)]
    else:
        lines = []
        for _ in range(n_lines):
            if script == "en":
                words = corpus.english(rng, int(rng.integers(4, 12)))
                line = words if rng.random() < 0.4 else words.lower().capitalize()
            else:
                line = {"ja": corpus.japanese, "zh": corpus.chinese, "ko": corpus.korean}[script](
                    rng, int(rng.integers(6, 24))
                )
            lines.append(line[: max(4, int(col_w / (size * (0.55 if script == "en" else 1.0))))])
    if not lines:
        return
    block = render_block(lines, font, size, vertical, 0, 0, rng)
    h, w = block.fill.shape
    x = int(rng.integers(0, max(1, pw - w)))
    y = int(rng.integers(0, max(1, ph - h)))
    paper = tuple([float(rng.uniform(0.85, 1.0))] * 3) if not colour else tuple(rng.uniform(0.75, 1.0, 3))
    x1, y1 = min(pw, x + w), min(ph, y + h)
    border = int(rng.integers(1, 3)) if rng.random() < 0.5 else 0  # a caption box's border
    for layer in (page, clean):  # the box is art: on the clean page too
        layer[y:y1, x:x1] = paper if layer.ndim == 3 else float(np.mean(paper))
        if border:
            cv2.rectangle(layer, (x, y), (x1 - 1, y1 - 1), (0.0, 0.0, 0.0) if layer.ndim == 3 else 0.0, border)
    alpha[y:y1, x:x1] = 0  # text this box covers is gone from the page, so from the label too
    if kinds is not None:
        kinds[y:y1, x:x1] = 0
    ink = tuple(rng.uniform(0, 0.35, 3)) if colour and rng.random() < 0.4 else (0.0, 0.0, 0.0)
    _add(alpha, composite(page, block, x, y, ink, ink, ink), kinds, "body text column")


def degrade(
    raw: np.ndarray, clean: np.ndarray, alpha: np.ndarray, rng: Rng
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Print and scan: scale change, slight blur, noise and JPEG, the same for both pages."""
    if rng.random() < 0.5:
        s = float(rng.uniform(0.6, 1.3))
        h, w = raw.shape[:2]
        size = (max(8, int(w * s)), max(8, int(h * s)))
        interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
        raw, clean = cv2.resize(raw, size, interpolation=interp), cv2.resize(clean, size, interpolation=interp)
        alpha = cv2.resize(alpha, size, interpolation=interp)
    if rng.random() < 0.4:
        sigma = float(rng.uniform(0.3, 1.0))
        raw, clean = cv2.GaussianBlur(raw, (0, 0), sigma), cv2.GaussianBlur(clean, (0, 0), sigma)
    if rng.random() < 0.5:
        noise = rng.normal(0, rng.uniform(0.005, 0.04), raw.shape).astype(np.float32)
        raw, clean = raw + noise, clean + noise
    raw8 = (np.clip(raw, 0, 1) * 255 + 0.5).astype(np.uint8)
    clean8 = (np.clip(clean, 0, 1) * 255 + 0.5).astype(np.uint8)
    if rng.random() < 0.6:
        q = int(rng.integers(30, 96))
        raw8 = cv2.imdecode(cv2.imencode(".jpg", raw8, [cv2.IMWRITE_JPEG_QUALITY, q])[1], cv2.IMREAD_UNCHANGED)
        clean8 = cv2.imdecode(cv2.imencode(".jpg", clean8, [cv2.IMWRITE_JPEG_QUALITY, q])[1], cv2.IMREAD_UNCHANGED)
    return raw8, clean8, alpha


def make_sample(
    seed: int,
    kind: str = "manga",
    split: str = "train",
    size: tuple[int, int] | None = None,
    text: bool = True,
    dense: bool = False,
    scenery: bool = True,
    kinds: bool = False,
) -> Sample:
    """One page. ``kind``: "manga" or "colour". ``size``: (height, width).

    ``text=False`` makes a text-free page (label all 0): art, faces and marks the segmenter must leave alone.
    ``dense=True`` adds columns of body text (captions, narration, prose pages).
    ``scenery=False`` leaves out the digital-manga backgrounds and props (``scenery``), giving the
    pages of the 0.2 generator, on which tests and documented benchmark figures were set.
    ``kinds=True`` also returns which kind of lettering (``KINDS``) each text pixel is; the page is the same.
    """
    rng = np.random.default_rng(seed)
    if kind == "manga":
        h, w = size or (int(rng.integers(900, 1300)), int(rng.integers(640, 920)))
        gray, bubbles = manga_page(h, w, rng, scenery)
        page = np.repeat(gray[..., None], 3, axis=2)
    else:
        h, w = size or (int(rng.integers(480, 760)), int(rng.integers(640, 1000)))
        page, bubbles = colour_page(h, w, rng, scenery)
    tight = _tight_balloons(page, seed, kind, split) if text and scenery else []
    clean = page.copy()
    alpha = np.zeros((h, w), np.float32)
    kind_map = np.zeros((h, w), np.uint8) if kinds else None
    for block, x, y, ink in tight:
        _add(alpha, composite(page, block, x, y, ink, ink, ink), kind_map, "tight balloon")
    for b in bubbles:
        if text and rng.random() < 0.9:
            _place_in_bubble(page, b, rng, split, alpha, kind_map)
    hand = np.random.default_rng([seed, 0x4844])
    colour = kind != "manga"
    for _ in range(int(rng.integers(0, 3)) if text else 0):
        _place_free(page, rng, split, alpha, sfx=True, colour=colour, hand=hand, kinds=kind_map)
    for _ in range(int(rng.integers(0 if bubbles else 1, 4)) if text else 0):
        _place_free(page, rng, split, alpha, sfx=False, colour=colour, kinds=kind_map)
    for _ in range(int(rng.integers(1, 4)) if text and dense else 0):
        _place_paragraphs(page, clean, rng, split, alpha, colour, kind_map)
    if kind == "colour" and rng.random() < 0.4:  # old comics: colour printed as dot screens
        hrng = np.random.default_rng(seed + 11)
        page = lettering.print_halftone(page, hrng)
        clean = lettering.print_halftone(clean, np.random.default_rng(seed + 11))
    if rng.random() < (0.2 if kind == "manga" else 0.15):  # yellowed paper scan
        tint = np.array([1.0, rng.uniform(0.9, 1.0), rng.uniform(0.75, 0.97)], np.float32)
        page, clean = page * tint, clean * tint
    raw8, clean8, alpha = degrade(page, clean, alpha, rng)
    if raw8.ndim == 2:
        raw8, clean8 = np.repeat(raw8[..., None], 3, 2), np.repeat(clean8[..., None], 3, 2)
    label = labels_from_alpha(alpha)
    # Low-quality JPEG rings colour text for several pixels. Those pixels differ from the clean page but
    # are no glyph: neither "text" nor "leave alone" is right, so no loss or metric counts them.
    ringing = (np.abs(raw8.astype(np.int16) - clean8.astype(np.int16)).max(axis=2) > RINGING) & (label == 0)
    label[ringing] = IGNORE
    if kind_map is not None:
        # The label's one-pixel rim, and text pixels a rescale left between the map's nearest samples, take
        # the kind next to them (the later in KINDS where two meet).
        kind_map = cv2.resize(kind_map, label.shape[::-1], interpolation=cv2.INTER_NEAREST)
        for _ in range(4):
            gap = (label == 1) & (kind_map == 0)
            kind_map[gap] = cv2.dilate(kind_map, np.ones((3, 3), np.uint8))[gap]
        kind_map[label != 1] = 0
    return Sample(raw8, clean8, label, kind_map)
