"""Text rendered as a separate layer, so the exact mask and clean page come for free.

A ``TextBlock`` is coverage maps (fill, outline, shadow) in its own small
canvas; ``composite`` lays it over a page and returns the text's alpha.
Japanese is set vertically in columns right to left; English, Korean and
Chinese mostly horizontally. Outlines (white stroke on dark text and the
reverse, as SFX uses), drop shadows and rotation are all supported.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw

from . import corpus
from .fonts import FontSpec, fonts_for, load_font

Rng = np.random.Generator


@dataclass
class TextBlock:
    fill: np.ndarray  # coverage of the glyph interiors, float32 [0, 1]
    outer: np.ndarray  # coverage of glyphs plus outline (== fill when no outline)
    shadow: np.ndarray | None
    shadow_offset: tuple[int, int] = (0, 0)


def draw_coverage(
    canvas_size: tuple[int, int], items: list[tuple[tuple[float, float], str]], font, stroke: int
) -> np.ndarray:
    im = Image.new("L", canvas_size, 0)
    d = ImageDraw.Draw(im)
    for (x, y), s in items:
        try:
            d.text((x, y), s, font=font, fill=255, stroke_width=stroke, stroke_fill=255)
        except OSError:
            # A few fonts' hinting programs fail on some glyphs at some sizes. The string is left out of
            # both the page and the label, so the pair stays consistent; one bad font must not end a run.
            continue
    return np.asarray(im, np.float32) / 255


def layout(
    text_lines: list[str], font, size: int, vertical: bool, stroke: int, align_center: bool = True
) -> tuple[tuple[int, int], list[tuple[tuple[float, float], str]]]:
    """Positions of each drawn string, and the canvas size that holds them all."""
    pad = stroke + 4 + size // 4
    items: list[tuple[tuple[float, float], str]] = []
    if vertical:
        col_w, step = size * 1.3, size * 1.06
        n_cols = len(text_lines)
        longest = max(len(line) for line in text_lines)
        w, h = int(n_cols * col_w + 2 * pad), int(longest * step + 2 * pad)
        for c, line in enumerate(text_lines):  # first column is the rightmost
            x = w - pad - (c + 1) * col_w + (col_w - size) / 2
            y0 = pad + ((longest - len(line)) * step / 2 if align_center else 0)
            for i, ch in enumerate(line):
                items.append(((x, y0 + i * step), ch))
        return (w, h), items
    widths = [font.getlength(line) for line in text_lines]
    line_h = size * 1.2
    w = int(max(widths) + 2 * pad)
    h = int(len(text_lines) * line_h + 2 * pad)
    for i, line in enumerate(text_lines):
        x = pad + ((max(widths) - widths[i]) / 2 if align_center else 0)
        items.append(((x, pad + i * line_h), line))
    return (w, h), items


def render_block(
    lines: list[str], spec: FontSpec, size: int, vertical: bool, stroke: int, shadow: int, rng: Rng, angle: float = 0.0
) -> TextBlock:
    font = load_font(spec, size)
    canvas, items = layout(lines, font, size, vertical, stroke)
    fill = draw_coverage(canvas, items, font, 0)
    outer = draw_coverage(canvas, items, font, stroke) if stroke > 0 else fill
    # Fake bold for regular faces, as letterers do with a thin same-colour stroke.
    if not spec.bold and stroke == 0 and rng.random() < 0.25 and size >= 14:
        fill = outer = draw_coverage(canvas, items, font, max(1, size // 28))
    shadow_map, offset = None, (0, 0)
    if shadow > 0:
        shadow_map = outer.copy()
        offset = (int(rng.choice([-1, 1])) * shadow, shadow)
    if angle:
        fill, outer = rotate_coverage(fill, angle), rotate_coverage(outer, angle)
        if shadow_map is not None:
            shadow_map = rotate_coverage(shadow_map, angle)
    return TextBlock(fill, outer, shadow_map, offset)


def rotate_coverage(cov: np.ndarray, angle: float) -> np.ndarray:
    h, w = cov.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos) + 2, int(h * cos + w * sin) + 2
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    return cv2.warpAffine(cov, m, (nw, nh), flags=cv2.INTER_LINEAR)


def composite(
    page: np.ndarray,
    block: TextBlock,
    x: int,
    y: int,
    fill_color,
    outline_color,
    shadow_color,
    halo: tuple[np.ndarray, object] | None = None,
    opacity: float = 1.0,
) -> np.ndarray:
    """Paint ``block`` onto ``page`` in place at (x, y); return the text alpha (page-sized).

    ``fill_color`` is an RGB triple or an array of the block's size (gradient and toned fills).
    ``halo`` is (coverage, colour) painted under everything: a double outline or a glow.
    ``opacity`` < 1 lets the art show through, as semi-transparent captions do.
    """
    ph, pw = page.shape[:2]
    alpha = np.zeros((ph, pw), np.float32)

    def paint(cov: np.ndarray, ox: int, oy: int, color) -> None:
        bh, bw = cov.shape
        x0, y0 = max(0, ox), max(0, oy)
        x1, y1 = min(pw, ox + bw), min(ph, oy + bh)
        if x1 <= x0 or y1 <= y0:
            return
        a = cov[y0 - oy : y1 - oy, x0 - ox : x1 - ox] * opacity
        region = page[y0:y1, x0:x1]
        col = np.asarray(color, np.float32)
        if col.ndim == 3:  # a per-pixel fill, laid out like the block
            col = col[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
        if page.ndim == 3:
            region[:] = region * (1 - a[..., None]) + col * a[..., None]
        else:
            region[:] = region * (1 - a) + (col.mean(-1) if col.ndim == 3 else float(col.mean())) * a
        np.maximum(alpha[y0:y1, x0:x1], a, out=alpha[y0:y1, x0:x1])

    if halo is not None:
        paint(halo[0], x, y, halo[1])
    if block.shadow is not None:
        paint(block.shadow, x + block.shadow_offset[0], y + block.shadow_offset[1], shadow_color)
    if block.outer is not block.fill:
        paint(block.outer, x, y, outline_color)
    paint(block.fill, x, y, fill_color)
    return alpha


# ------------------------------------------------------------------ random blocks

SCRIPTS = ("ja", "en", "zh", "ko")
SCRIPT_P = (0.45, 0.33, 0.11, 0.11)


def random_size(rng: Rng, lo: int = 10, hi: int = 150) -> int:
    """Log-uniform, so small dialogue sizes are as common as the big SFX sizes."""
    return int(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def random_lines(rng: Rng, script: str, size: int, max_w: float, max_h: float, vertical: bool) -> list[str]:
    if vertical:
        n_chars = max(1, min(12, int(max_h / (size * 1.06))))
        n_cols = max(1, min(6, int(max_w / (size * 1.3))))
        n_cols = int(rng.integers(1, n_cols + 1))
        return [
            corpus.japanese(rng, int(rng.integers(max(1, n_chars // 2), n_chars + 1)))
            if script == "ja"
            else corpus.chinese(rng, int(rng.integers(max(1, n_chars // 2), n_chars + 1)))
            for _ in range(n_cols)
        ]
    n_lines = max(1, min(5, int(max_h / (size * 1.2))))
    n_lines = int(rng.integers(1, n_lines + 1))
    per_line = max(1, int(max_w / (size * (0.6 if script == "en" else 1.05))))
    lines = []
    for _ in range(n_lines):
        if script == "en":
            s = corpus.english(rng, int(rng.integers(1, 5)))
        elif script == "ko":
            s = corpus.korean(rng, int(rng.integers(2, 10)))
        elif script == "zh":
            s = corpus.chinese(rng, int(rng.integers(2, 10)))
        else:
            s = corpus.japanese(rng, int(rng.integers(2, 10)))
        lines.append(s[:per_line])
    return lines


# CJK dialogue is mostly set in thin book faces (Mincho, Ming, Batang), a few groups among dozens of
# Gothic, brush and handwriting ones; this share of CJK picks is drawn from them alone.
BOOK_FACES = ("mincho", "ming", "serif", "batang", "myeongjo", "hanamin")
BOOK_FACE_SHARE = 0.3


def font_group(family: str) -> str:
    """The foundry's stem of a family name: "YOzA90b" and "YOzNF" → "YOz", "TakaoPGothic" → "Takao".

    The stem is the first word up to where a lower-case letter meets a capital or a digit.
    """
    word = family.split()[0] if family.split() else family
    for i in range(1, len(word)):
        if word[i - 1].islower() and (word[i].isupper() or word[i].isdigit()):
            return word[:i]
    return word


def pick_font(rng: Rng, script: str, split: str, bold: bool | None = None) -> FontSpec:
    """A foundry's group chosen uniformly, then a family in it, then one of its faces.

    Uniform over families let one foundry's variants dominate: the YOz
    handwriting fonts are 95 of the 197 Japanese training families, so half
    of Japanese text was handwriting, and the thin Mincho book faces most
    manga dialogue is set in came up 1 time in 10 (20 families). On a Manga109
    spread the 0.3 segmenter missed whole balloons of thin Mincho kana and
    kanji while it found the Gothic katakana beside them.
    """
    fonts = fonts_for(script, split)
    if bold is not None:
        preferred = [f for f in fonts if f.bold == bold]
        fonts = tuple(preferred) or fonts
    if script != "en" and not bold and rng.random() < BOOK_FACE_SHARE:
        fonts = tuple(f for f in fonts if any(k in f.family.lower() for k in BOOK_FACES)) or fonts
    groups: dict[str, set[str]] = {}
    for f in fonts:
        groups.setdefault(font_group(f.family), set()).add(f.family)
    stems = sorted(groups)
    names = sorted(groups[stems[int(rng.integers(len(stems)))]])
    family = names[int(rng.integers(len(names)))]
    faces = [f for f in fonts if f.family == family]
    return faces[int(rng.integers(len(faces)))]
