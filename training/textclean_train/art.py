"""Drawn art and photos from installed packages, and photos turned into manga.

Real comic pages hold characters: faces, eyes, hair and hands drawn with ink
lines, screentone and solid blacks. Our procedural art alone is narrower, so
this module adds:

- raster art from Debian packages of games and visual novels (``ART_PACKAGES``),
  used as it is under colour text and turned into manga under black-and-white
  text; and
- ``mangaize``: any picture as a manga panel, with XDoG ink lines, its mid-tones
  as halftone screentone at a random period and angle, and its darkest parts as
  solid black, the way manga art is printed.

``openclipart-png``, ``openclipart-svg`` and ``mate-backgrounds`` are reserved
for an independent evaluation and must never be listed here.
"""

from __future__ import annotations

import functools
import os

import cv2
import numpy as np

from .pages import _photos, screentone

Rng = np.random.Generator

# Debian packages whose data holds drawn character art (installed by scripts/install-fonts).
ART_PACKAGES = ("renpy-thequestion", "renpy-demo")
ART_DIRS = ("/usr/share/games/renpy",)
RESERVED = ("openclipart", "mate-backgrounds")
# Files that are user-interface screens with words on them (unlabelled text would teach the segmenter
# to ignore text), or logos and masks rather than art.
NOT_ART = (
    "launcher",
    "popup",
    "imagemap",
    "logo",
    "icon",
    "ninepatch",
    "hover",
    "idle",
    "_tv_unsafe",
    "imagedissolve",
    "spotlight",
    "skin_",
    "launchimage",
    "/gui/",
)
MIN_SIDE = 160


@functools.lru_cache(maxsize=1)
def art_files() -> tuple[str, ...]:
    """Raster images at least ``MIN_SIDE`` px on each side in the art packages' folders."""
    out = []
    for root_dir in ART_DIRS:
        for root, _dirs, files in os.walk(root_dir):
            if any(r in root for r in RESERVED):
                continue
            for name in files:
                if name.lower().endswith((".png", ".jpg", ".jpeg", ".webp")):
                    path = os.path.join(root, name)
                    if os.path.getsize(path) > 8_000 and not any(n in path for n in NOT_ART):
                        out.append(path)
    return tuple(sorted(out))


@functools.lru_cache(maxsize=64)
def _load(path: str) -> np.ndarray | None:
    im = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if im is None or min(im.shape[:2]) < MIN_SIDE:
        return None
    if im.dtype != np.uint8:
        im = (im / 257).astype(np.uint8)
    if im.ndim == 2:
        im = cv2.cvtColor(im, cv2.COLOR_GRAY2BGR)
    if im.shape[2] == 4:  # sprites: put them on paper, not on black
        a = im[..., 3:4].astype(np.float32) / 255
        im = (im[..., :3] * a + 255 * (1 - a)).astype(np.uint8)
    return np.ascontiguousarray(im[..., 2::-1]).astype(np.float32) / 255


def random_picture(rng: Rng, h: int, w: int) -> np.ndarray | None:
    """An H×W×3 float crop of a package picture or a bundled photo, scaled and maybe mirrored."""
    files = art_files()
    src = None
    if files and rng.random() < 0.75:
        for _ in range(3):
            src = _load(files[int(rng.integers(len(files)))])
            if src is not None:
                break
    if src is None:
        photos = _photos()
        if not photos:
            return None
        src = photos[int(rng.integers(len(photos)))]
    sh, sw = src.shape[:2]
    scale = max(h / sh, w / sw) * rng.uniform(1.0, 2.0)
    src = cv2.resize(
        src, (int(sw * scale) + 1, int(sh * scale) + 1), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    )
    y, x = int(rng.integers(0, src.shape[0] - h + 1)), int(rng.integers(0, src.shape[1] - w + 1))
    img = src[y : y + h, x : x + w]
    return np.ascontiguousarray(img[:, ::-1] if rng.random() < 0.5 else img)


def xdog(gray: np.ndarray, rng: Rng) -> np.ndarray:
    """Extended difference of Gaussians: ink lines (0) on paper (1), as an inker would trace edges."""
    sigma = float(rng.uniform(0.6, 1.6))
    k, p, eps, phi = 1.6, float(rng.uniform(15, 40)), float(rng.uniform(-0.05, 0.05)), float(rng.uniform(20, 80))
    g1 = cv2.GaussianBlur(gray, (0, 0), sigma)
    g2 = cv2.GaussianBlur(gray, (0, 0), sigma * k)
    d = (1 + p) * g1 - p * g2
    return np.where(d >= eps, 1.0, 1.0 + np.tanh(phi * (d - eps))).clip(0, 1).astype(np.float32)


def mangaize(rgb: np.ndarray, rng: Rng) -> np.ndarray:
    """A picture as black-and-white manga: ink lines, screentone mid-tones and solid blacks."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    smooth = cv2.bilateralFilter(gray, 7, 0.1, 5)
    lines = xdog(smooth, rng)
    h, w = gray.shape
    black_at, white_at = float(rng.uniform(0.12, 0.3)), float(rng.uniform(0.6, 0.85))
    out = np.ones((h, w), np.float32)
    mid = (smooth >= black_at) & (smooth < white_at)
    if rng.random() < 0.8:
        # One or two tones by level, as a tone artist cuts sheets: darker areas get the denser sheet.
        split = (black_at + white_at) / 2
        dense = screentone(h, w, rng, level=float(rng.uniform(0.35, 0.6)))
        light = screentone(h, w, rng, level=float(rng.uniform(0.08, 0.3)))
        out = np.where(mid & (smooth < split), dense, out)
        out = np.where(mid & (smooth >= split), light, out)
    out[smooth < black_at] = 0.0
    return np.minimum(out, lines)


def comicize(rgb: np.ndarray, rng: Rng) -> np.ndarray:
    """A colour picture as an old colour comic's panel: flat inks, traced ink lines and solid blacks.

    A 512-px campaign's segmenter marked solid blobs over the inked, dot-printed people of a 1950s
    page's illustration, having seen only smooth digital colour art; printed with the page's
    halftone (``lettering.print_halftone``) this is what such panels look like.
    """
    smooth = cv2.bilateralFilter(rgb.astype(np.float32), 9, 0.15, 7)
    levels = int(rng.integers(3, 6))  # flats: a few inks per channel, as a colourist's separations
    flats = np.round(smooth * (levels - 1)) / (levels - 1)
    gray = cv2.cvtColor(smooth, cv2.COLOR_RGB2GRAY)
    lines = xdog(gray, rng)
    out = flats * lines[..., None]
    out[gray < float(rng.uniform(0.1, 0.25))] = 0.0  # dark hair, shadows and clothes printed solid black
    return np.clip(out, 0, 1).astype(np.float32)


# The inks of old four-colour printing: each of cyan, magenta and yellow at none, a light or mid
# screen, or solid. Light tints are most of a page's colour.
INK_LEVELS = np.array([0.0, 0.2, 0.45, 1.0], np.float32)
INK_WEIGHTS = np.array([0.45, 0.3, 0.15, 0.1])


def _ink_colour(rng: Rng) -> np.ndarray:
    cmy = INK_LEVELS[rng.choice(len(INK_LEVELS), 3, p=INK_WEIGHTS)]
    return 1.0 - cmy  # cyan takes red away, magenta green, yellow blue


def inked_panel(h: int, w: int, rng: Rng) -> np.ndarray:
    """An old colour comic's panel: a black plate of drawn scenery over misregistered flat colours.

    On a 1950s page of the real-page set, c15 (which marks little art on our pages) covered an
    illustration's foliage, a figure's hatched dark skin and a bird's feathers in red: pen hatching
    and feathering over pastel flats, dot-printed. Our colour pages had smooth or traced art only.
    The black plate here is a manga panel's drawing (props, hatching, faces, marks); the colourist
    filled the plate's enclosed regions, or laid loose shapes, with a few inks, printed a few pixels
    off the line art.
    """
    # pages, marks and scenery build on each other and on this module: imported late
    from .marks import scatter_marks
    from .pages import draw_hatching, draw_line_art
    from .scenery import scatter_props, street_scene

    # The black plate holds line art and solid blacks only: the greys of such a page are colour dots.
    plate = np.ones((h, w), np.float32)
    box = (0, 0, w, h)
    base = rng.random()
    picture = random_picture(rng, h, w) if base < 0.35 else None
    if picture is not None:
        gray = cv2.bilateralFilter(cv2.cvtColor(picture, cv2.COLOR_RGB2GRAY), 7, 0.1, 5)
        plate = xdog(gray, rng)
        plate[gray < float(rng.uniform(0.08, 0.2))] = 0.0
    elif base < 0.55:
        street_scene(plate, rng)
        plate = np.where(plate < 0.35, 0.0, np.where(plate > 0.8, 1.0, plate)).astype(np.float32)
    draw_line_art(plate, rng, box, int(rng.integers(2, 10)))
    for _ in range(int(rng.integers(1, 5))):
        draw_hatching(plate, rng, box)
    scatter_marks(plate, rng, box, int(rng.integers(0, 6)))
    scatter_props(plate, rng, box, int(rng.integers(1, 6)))
    flats = np.empty((h, w, 3), np.float32)
    flats[:] = _ink_colour(rng)
    if rng.random() < 0.6:
        # Regions the line art encloses, each filled with one ink, as a colourist fills the drawing.
        n, regions = cv2.connectedComponents((plate > 0.5).astype(np.uint8), connectivity=4)
        palette = np.stack([_ink_colour(rng) for _ in range(min(n, 12))])
        pick = rng.integers(0, len(palette), n)
        flats = palette[pick][regions]
    else:
        for _ in range(int(rng.integers(3, 10))):
            m = np.zeros((h, w), np.uint8)
            pts = np.stack([rng.uniform(-w / 4, w * 1.25, 6), rng.uniform(-h / 4, h * 1.25, 6)], 1)
            cv2.fillPoly(m, [cv2.convexHull(pts.astype(np.int32))], 1)
            flats[m > 0] = _ink_colour(rng)
    dx, dy = (int(v) for v in rng.integers(-3, 4, 2))
    flats = np.roll(flats, (dy, dx), axis=(0, 1))  # the colour plates never sit exactly on the black
    return (flats * plate[..., None]).astype(np.float32)


def _blob(h: int, w: int, rng: Rng, cx: float, cy: float, r: float) -> np.ndarray:
    """An organic filled shape (uint8 0/1) around (cx, cy) of radius about ``r``: a garment, a lock of hair."""
    n = int(rng.integers(6, 12))
    ang = np.sort(rng.uniform(0, 2 * np.pi, n))
    rad = r * rng.uniform(0.5, 1.3, n)
    pts = np.stack([cx + rad * np.cos(ang) * rng.uniform(0.6, 1.6), cy + rad * np.sin(ang)], 1)
    m = np.zeros((h, w), np.float32)
    cv2.fillPoly(m, [pts.astype(np.int32)], 1.0)
    m = cv2.GaussianBlur(m, (0, 0), max(1.0, r / 8))  # rounded, as a drawn silhouette is
    return (m > 0.5).astype(np.uint8)


def _folds(h: int, w: int, rng: Rng, region: np.ndarray, r: float, n: int) -> np.ndarray:
    """Sharp-edged tapered shadow shapes inside ``region``, as cel shading draws the folds of cloth.

    Folds radiate from a pinch or fall in parallel; each is a long thin lens or triangle.
    """
    ys, xs = np.nonzero(region)
    out = np.zeros((h, w), np.uint8)
    if len(xs) == 0:
        return out
    radiate = rng.random() < 0.5
    k = int(rng.integers(len(xs)))
    px, py = float(xs[k]), float(ys[k])
    base_angle = float(rng.uniform(0, np.pi))
    t = np.linspace(0, 1, 16)[:, None]
    for _ in range(n):
        k = int(rng.integers(len(xs)))
        p0 = np.array([float(xs[k]), float(ys[k])])
        angle = np.arctan2(p0[1] - py, p0[0] - px) if radiate else base_angle + rng.normal(0, 0.25)
        d = np.array([np.cos(angle), np.sin(angle)])
        nrm = np.array([-d[1], d[0]])
        length = r * rng.uniform(0.3, 1.3)
        width = r * rng.uniform(0.015, 0.1)
        bend = rng.normal(0, 0.25) * length
        # A quadratic curve from p0, tapering to a point (a crease) or swelling in the middle (a fold).
        spine = p0 + t * length * d + (4 * t * (1 - t)) * bend * nrm
        profile = (1 - t) if rng.random() < 0.5 else np.sin(np.pi * t) ** 0.7
        side = width * profile * nrm
        poly = np.concatenate([spine + side * rng.uniform(0.3, 1.0), (spine - side)[::-1]]).astype(np.int32)
        cv2.fillPoly(out, [poly], 1, cv2.LINE_AA)
    return out & region


def cel_shade(img: np.ndarray, rng: Rng, n: int) -> None:
    """Paint ``n`` cel-shaded, glossy shapes (dresses, sleeves, hair) onto an H×W×3 colour page, in place.

    On an unreferenced digital colour page of the real-page set, segmenter 0.4 covered a purple dress in
    red: a saturated flat with sharp darker folds, a second darker tone, airbrushed gloss and a dark
    outline. Our colour art had flat shapes with at most one offset shadow, so the folds' thin dark
    tapering strokes, glyph-like in width, were never shown as art.
    """
    h, w = img.shape[:2]
    for _ in range(n):
        r = float(rng.uniform(0.15, 0.6)) * min(h, w)
        cx, cy = float(rng.uniform(0, w)), float(rng.uniform(0, h))
        region = _blob(h, w, rng, cx, cy, r)
        if not region.any():
            continue
        hsv = np.array([[[rng.uniform(0, 360), rng.uniform(0.35, 1.0), rng.uniform(0.3, 0.95)]]], np.float32)
        base = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0]
        shade_hsv = hsv.copy()
        shade_hsv[..., 0] = (shade_hsv[..., 0] + rng.uniform(-25, 25)) % 360  # shadows drift in hue
        shade_hsv[..., 2] *= rng.uniform(0.45, 0.8)
        shade = cv2.cvtColor(shade_hsv, cv2.COLOR_HSV2RGB)[0, 0]
        shade_hsv[..., 2] *= rng.uniform(0.5, 0.8)
        deep = cv2.cvtColor(shade_hsv, cv2.COLOR_HSV2RGB)[0, 0]
        layer = np.empty((h, w, 3), np.float32)
        layer[:] = base
        folds = _folds(h, w, rng, region, r, int(rng.integers(4, 24)))
        layer[folds > 0] = shade
        if rng.random() < 0.6:
            layer[_folds(h, w, rng, folds, r * 0.6, int(rng.integers(2, 8))) > 0] = deep
        if rng.random() < 0.7:  # airbrushed light across the shape
            yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
            t = np.cos(rng.uniform(0, np.pi)) * (xx - cx) + np.sin(rng.uniform(0, np.pi)) * (yy - cy)
            layer *= (1.0 + 0.25 * np.tanh(t / r))[..., None]
        if rng.random() < 0.7:  # gloss: soft light streaks and a few sharp highlights
            gloss = np.zeros((h, w), np.float32)
            for _ in range(int(rng.integers(1, 5))):
                streak = _folds(h, w, rng, region, r * 0.8, 1).astype(np.float32)
                soft = cv2.GaussianBlur(streak, (0, 0), float(rng.uniform(2, 12)))
                gloss = np.maximum(gloss, soft * rng.uniform(0.3, 0.9))
            if rng.random() < 0.5:
                sharp = _folds(h, w, rng, region, r * 0.3, int(rng.integers(1, 4)))
                gloss = np.maximum(gloss, sharp.astype(np.float32))
            layer += (1.0 - layer) * gloss[..., None]
        m = region.astype(bool)
        img[m] = np.clip(layer[m], 0, 1)
        contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        if rng.random() < 0.4:  # a white rim between figure and ground, as digital art often has
            cv2.drawContours(img, contours, -1, (1.0, 1.0, 1.0), int(rng.integers(3, 7)), cv2.LINE_AA)
        line = tuple(float(c) for c in (deep * 0.4 if rng.random() < 0.6 else np.full(3, 0.05)))
        cv2.drawContours(img, contours, -1, line, int(rng.integers(1, 4)), cv2.LINE_AA)


def _pattern(h: int, w: int, rng: Rng, kind: str, period: float) -> np.ndarray:
    """A uint8 0/1 print pattern over the whole H×W area: the marks a fabric, a pelt or a ground is printed with."""
    out = np.zeros((h, w), np.uint8)
    if kind in ("lines", "checks"):
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == "lines":  # an old comic's line screen, or ruled hatching over a flat
        angle = rng.uniform(0, np.pi)
        t = (np.cos(angle) * xx + np.sin(angle) * yy) / period
        return ((t - np.floor(t)) < rng.uniform(0.2, 0.45)).astype(np.uint8)
    if kind == "checks":  # plaid: bands in two directions
        for angle in (0.0, np.pi / 2):
            a = angle + rng.normal(0, 0.05)
            t = (np.cos(a) * xx + np.sin(a) * yy) / (period * 2)
            out |= ((t - np.floor(t)) < rng.uniform(0.2, 0.4)).astype(np.uint8)
        return out
    # Marks on a jittered grid: polka dots sit on it exactly, leopard spots and tufts wander off it.
    jitter = 0.05 if kind == "dots" else 0.4
    gy, gx = np.mgrid[-period : h + period : period, -period : w + period : period].astype(np.float32)
    gx[1::2] += period / 2
    centres = np.stack([gx.ravel(), gy.ravel()], 1) + rng.normal(0, jitter * period, (gx.size, 2))
    r0 = period * (rng.uniform(0.15, 0.3) if kind == "dots" else rng.uniform(0.2, 0.4))
    for cx, cy in centres.astype(int):
        if kind == "dots":
            cv2.circle(out, (cx, cy), max(1, int(r0)), 1, -1, cv2.LINE_AA)
        elif kind == "spots":
            # A leopard's rosette: an irregular blob, or a broken ring around a clear middle.
            axes = (max(1, int(r0 * rng.uniform(0.6, 1.4))), max(1, int(r0 * rng.uniform(0.5, 1.1))))
            angle = float(rng.uniform(0, 180))
            if rng.random() < 0.5:
                cv2.ellipse(out, (cx, cy), axes, angle, 0, 360, 1, -1, cv2.LINE_AA)
            else:
                start = float(rng.uniform(0, 360))
                thick = max(1, int(r0 * 0.45))
                cv2.ellipse(out, (cx, cy), axes, angle, start, start + rng.uniform(200, 330), 1, thick, cv2.LINE_AA)
        elif rng.random() < 0.5:  # tufts: short strokes, as grass and dirt marks are drawn on a ground
            for _ in range(int(rng.integers(1, 4))):
                length = period * rng.uniform(0.3, 0.9)
                a = rng.uniform(-np.pi, 0)  # upright, as blades of grass
                x1, y1 = cx + int(rng.normal(0, 2)), cy
                end = (int(x1 + length * np.cos(a)), int(y1 + length * np.sin(a)))
                cv2.line(out, (x1, y1), end, 1, int(rng.integers(1, 3)), cv2.LINE_AA)
    return out


PATTERNS = ("spots", "dots", "checks", "lines", "tufts")


def printed_pattern(img: np.ndarray, rng: Rng, n: int) -> None:
    """Paint ``n`` outlined shapes filled with a printed pattern onto an H×W×3 colour page, in place.

    On a 1950s colour comic page of the real-page set, segmenter candidates after 0.4 marked a leopard
    skin's spots, a pink ground's line screen with its grass tufts, and dotted foliage as text: fields
    of small dark marks of one size, which is what lines of small glyphs look like too. Our colour art
    had none, so the segmenter never learnt that such fields are art. The marks are 4 to 24 px apart,
    the sizes of dialogue glyphs and their strokes.
    """
    h, w = img.shape[:2]
    for _ in range(n):
        r = float(rng.uniform(0.1, 0.45)) * min(h, w)
        region = _blob(h, w, rng, float(rng.uniform(0, w)), float(rng.uniform(0, h)), r)
        if not region.any():
            continue
        kind = str(rng.choice(PATTERNS))
        period = float(rng.uniform(5, 24)) if kind != "lines" else float(rng.uniform(3, 8))
        x, y, bw, bh = cv2.boundingRect(region)
        box = (slice(y, y + bh), slice(x, x + bw))
        marks = _pattern(bh, bw, rng, kind, period) & region[box]
        base = _ink_colour(rng)
        mark = base * rng.uniform(0.05, 0.6) if rng.random() < 0.7 else _ink_colour(rng) * rng.uniform(0.2, 0.8)
        view = img[box]
        view[region[box] > 0] = base
        view[marks > 0] = mark
        if rng.random() < 0.8:
            contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
            cv2.drawContours(img, contours, -1, (0.05, 0.05, 0.08), int(rng.integers(1, 4)), cv2.LINE_AA)
