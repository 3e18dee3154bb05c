"""Procedural comic marks: the small dark shapes that a text segmenter takes for glyphs.

On real pages the shipped segmenter marked eyes, mouths, strands of dark hair,
dark windows and small black objects as text. None of them was in the
generator, so the network never had to tell them apart from glyphs. These
drawings put them on every manga page, at the sizes of text (a few to a few
hundred pixels), and never in the text label: they are negatives.

Every function draws in place on a float32 H×W image (1 = paper, 0 = ink).
"""

from __future__ import annotations

import cv2
import numpy as np

Rng = np.random.Generator


def _i(p) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def _bezier(p0, p1, p2, n: int = 24) -> np.ndarray:
    t = np.linspace(0, 1, n)[:, None]
    return np.asarray(p0) * (1 - t) ** 2 + np.asarray(p1) * 2 * t * (1 - t) + np.asarray(p2) * t**2


def tapered_stroke(img: np.ndarray, pts: np.ndarray, width: float, ink: float = 0.0) -> None:
    """A brush stroke that is thickest in the middle and thin at both ends, as inked hair and lashes are."""
    n = len(pts)
    for k in range(n - 1):
        t = k / max(1, n - 2)
        w = max(1, int(round(width * np.sin(np.pi * (0.15 + 0.7 * t)))))
        cv2.line(img, _i(pts[k]), _i(pts[k + 1]), ink, w, cv2.LINE_AA)


def eye(img: np.ndarray, rng: Rng, cx: float, cy: float, size: float, flip: bool = False) -> None:
    """An anime eye: a thick upper lid with lashes, a dark iris with white highlights, a thin lower lid."""
    w, h = size, size * rng.uniform(0.7, 1.3)
    s = -1 if flip else 1
    style = rng.integers(0, 3)
    # Iris: a tall ellipse, solid black, toned or ringed.
    ir_w, ir_h = w * rng.uniform(0.25, 0.4), h * rng.uniform(0.35, 0.5)
    centre = (cx + s * w * rng.uniform(-0.1, 0.1), cy + h * 0.05)
    if style == 0:
        cv2.ellipse(img, _i(centre), _i((ir_w, ir_h)), 0, 0, 360, 0.0, -1, cv2.LINE_AA)
    else:
        cv2.ellipse(img, _i(centre), _i((ir_w, ir_h)), 0, 0, 360, float(rng.uniform(0.2, 0.6)), -1, cv2.LINE_AA)
        cv2.ellipse(img, _i(centre), _i((ir_w, ir_h)), 0, 0, 360, 0.0, max(1, int(size / 25)), cv2.LINE_AA)
        cv2.ellipse(img, _i(centre), _i((ir_w * 0.45, ir_h * 0.45)), 0, 0, 360, 0.0, -1, cv2.LINE_AA)
    for _ in range(int(rng.integers(1, 4))):  # highlights
        hx = centre[0] + rng.uniform(-0.6, 0.6) * ir_w
        hy = centre[1] + rng.uniform(-0.7, 0.2) * ir_h
        r = max(1, int(ir_w * rng.uniform(0.12, 0.35)))
        cv2.circle(img, _i((hx, hy)), r, 1.0, -1, cv2.LINE_AA)
    # Upper lid: a thick arc with a few lashes flicking out at the outer corner.
    lid = _bezier((cx - w / 2, cy - h * 0.15), (cx, cy - h * 0.75), (cx + w / 2, cy - h * 0.2))
    tapered_stroke(img, lid, max(2.0, size * rng.uniform(0.06, 0.14)))
    outer = lid[-1] if s > 0 else lid[0]
    for _ in range(int(rng.integers(0, 4))):
        a = rng.uniform(-0.9, 0.1) if s > 0 else np.pi - rng.uniform(-0.9, 0.1)
        length = size * rng.uniform(0.15, 0.35)
        end = outer + length * np.array([np.cos(a), np.sin(a)])
        tapered_stroke(img, _bezier(outer, (outer + end) / 2 + rng.normal(0, 2, 2), end, 8), max(1.5, size / 20))
    if rng.random() < 0.7:  # lower lid: a short thin stroke
        y = cy + h * rng.uniform(0.4, 0.55)
        cv2.line(
            img,
            _i((cx - w * 0.25, y)),
            _i((cx + w * 0.2, y + rng.uniform(-2, 2))),
            0.0,
            max(1, int(size / 30)),
            cv2.LINE_AA,
        )


def eyebrow(img: np.ndarray, rng: Rng, cx: float, cy: float, size: float) -> None:
    a = rng.uniform(-0.3, 0.3)
    d = np.array([np.cos(a), np.sin(a)]) * size / 2
    mid = np.array([cx, cy - size * rng.uniform(0.0, 0.15)])
    tapered_stroke(img, _bezier(mid - d, mid + rng.normal(0, size / 10, 2), mid + d, 12), max(1.5, size / 10))


def mouth(img: np.ndarray, rng: Rng, cx: float, cy: float, size: float) -> None:
    kind = rng.integers(0, 4)
    if kind == 0:  # a closed line
        tapered_stroke(
            img,
            _bezier((cx - size / 2, cy), (cx, cy + size * rng.uniform(-0.3, 0.3)), (cx + size / 2, cy), 12),
            max(1.5, size / 12),
        )
    elif kind == 1:  # open, dark inside, with a tongue or teeth
        pts = np.concatenate(
            [
                _bezier((cx - size / 2, cy), (cx, cy - size * 0.2), (cx + size / 2, cy), 10),
                _bezier((cx + size / 2, cy), (cx, cy + size * rng.uniform(0.5, 1.0)), (cx - size / 2, cy), 10),
            ]
        )
        cv2.fillPoly(img, [pts.astype(np.int32)], 0.0, cv2.LINE_AA)
        if rng.random() < 0.5:
            cv2.ellipse(
                img,
                _i((cx, cy + size * 0.35)),
                _i((size * 0.2, size * 0.12)),
                0,
                0,
                360,
                float(rng.uniform(0.5, 0.8)),
                -1,
                cv2.LINE_AA,
            )
    elif kind == 2:  # a small triangle / cat mouth
        cv2.polylines(
            img,
            [
                np.array(
                    [
                        _i((cx - size / 2, cy)),
                        _i((cx - size / 4, cy + size / 4)),
                        _i((cx, cy)),
                        _i((cx + size / 4, cy + size / 4)),
                        _i((cx + size / 2, cy)),
                    ]
                )
            ],
            False,
            0.0,
            max(1, int(size / 12)),
            cv2.LINE_AA,
        )
    else:  # a dot
        cv2.ellipse(img, _i((cx, cy)), _i((size * 0.2, size * 0.12)), 0, 0, 360, 0.0, -1, cv2.LINE_AA)


def hair(img: np.ndarray, rng: Rng, cx: float, cy: float, size: float) -> None:
    """A mass of hair: a dark or toned silhouette of locks, strands inked over it, white shine streaks."""
    n = int(rng.integers(5, 12))
    angles = np.sort(rng.uniform(np.pi * 0.9, np.pi * 2.1, n))
    tips = []
    for a in angles:
        r = size * rng.uniform(0.7, 1.2)
        tips.append((cx + r * np.cos(a), cy + r * np.sin(a) * 0.9 + size * 0.35))
    crown = [
        (cx + size * 0.9 * np.cos(a), cy + size * 0.8 * np.sin(a)) for a in np.linspace(np.pi * 2.05, np.pi * 0.95, 12)
    ]
    poly = np.array(crown + tips, np.int32)
    dark = rng.random() < 0.55
    level = 0.0 if dark else float(rng.uniform(0.4, 0.95))
    cv2.fillPoly(img, [poly], level, cv2.LINE_AA)
    cv2.polylines(img, [poly], True, 0.0, max(1, int(size / 40)), cv2.LINE_AA)
    for _ in range(int(rng.integers(4, 14))):  # strands
        a = rng.uniform(np.pi * 1.1, np.pi * 1.9)
        start = np.array([cx + size * 0.5 * np.cos(a), cy + size * 0.5 * np.sin(a)])
        end = start + np.array([rng.normal(0, size * 0.2), size * rng.uniform(0.4, 1.0)])
        ink = 1.0 if dark and rng.random() < 0.6 else 0.0
        tapered_stroke(
            img,
            _bezier(start, (start + end) / 2 + rng.normal(0, size * 0.1, 2), end, 16),
            max(1.0, size / rng.uniform(25, 60)),
            ink,
        )
    if dark and rng.random() < 0.7:  # a band of shine: short white strokes across the crown
        y = cy - size * rng.uniform(0.2, 0.5)
        for x in np.linspace(cx - size * 0.6, cx + size * 0.6, int(rng.integers(4, 10))):
            tapered_stroke(
                img,
                _bezier((x, y), (x + 2, y + size * 0.08), (x + rng.uniform(-3, 3), y + size * 0.18), 8),
                max(1.5, size / 30),
                1.0,
            )


def face(img: np.ndarray, rng: Rng, cx: float, cy: float, size: float) -> None:
    """A character's head in the common manga style: outline, hair, two eyes, brows, nose, mouth, blush."""
    rx, ry = size * 0.55, size * 0.65
    cv2.ellipse(img, _i((cx, cy)), _i((rx, ry)), 0, 0, 360, float(rng.uniform(0.9, 1.0)), -1, cv2.LINE_AA)
    cv2.ellipse(img, _i((cx, cy)), _i((rx, ry)), 0, 0, 180, 0.0, max(1, int(size / 50)), cv2.LINE_AA)
    eye_size = size * rng.uniform(0.18, 0.32)
    gap = size * rng.uniform(0.18, 0.26)
    ey = cy + size * rng.uniform(-0.02, 0.12)
    eye(img, rng, cx - gap, ey, eye_size, flip=True)
    eye(img, rng, cx + gap, ey, eye_size)
    if rng.random() < 0.8:
        eyebrow(img, rng, cx - gap, ey - eye_size * 0.9, eye_size * 0.9)
        eyebrow(img, rng, cx + gap, ey - eye_size * 0.9, eye_size * 0.9)
    cv2.line(img, _i((cx, cy + size * 0.22)), _i((cx + 2, cy + size * 0.27)), 0.0, max(1, int(size / 60)), cv2.LINE_AA)
    mouth(img, rng, cx, cy + size * rng.uniform(0.36, 0.45), size * rng.uniform(0.08, 0.2))
    if rng.random() < 0.35:  # blush: short parallel hatching on both cheeks
        for side in (-1, 1):
            bx, by = cx + side * gap * 1.2, ey + eye_size * 0.9
            for k in range(int(rng.integers(3, 6))):
                x = bx + (k - 2) * size * 0.03
                cv2.line(img, _i((x, by)), _i((x - size * 0.03, by + size * 0.05)), 0.0, 1, cv2.LINE_AA)
    if rng.random() < 0.9:
        hair(img, rng, cx, cy - size * 0.25, size * 0.75)


def sweat_drop(img: np.ndarray, rng: Rng, cx: float, cy: float, size: float) -> None:
    pts = np.concatenate(
        [
            _bezier((cx, cy - size), (cx + size * 0.5, cy), (cx, cy + size * 0.4), 10),
            _bezier((cx, cy + size * 0.4), (cx - size * 0.5, cy), (cx, cy - size), 10),
        ]
    )
    cv2.fillPoly(img, [pts.astype(np.int32)], float(rng.choice([1.0, 0.7])), cv2.LINE_AA)
    cv2.polylines(img, [pts.astype(np.int32)], True, 0.0, max(1, int(size / 8)), cv2.LINE_AA)


def sparkle(img: np.ndarray, rng: Rng, cx: float, cy: float, size: float) -> None:
    """A four-pointed star, outlined or filled, the shine marks of shoujo manga."""
    a = np.linspace(0, 2 * np.pi, 8, endpoint=False) + rng.uniform(0, 0.3)
    r = np.where(np.arange(8) % 2 == 0, size, size * rng.uniform(0.12, 0.3))
    pts = np.stack([cx + r * np.cos(a), cy + r * np.sin(a)], 1).astype(np.int32)
    if rng.random() < 0.5:
        cv2.fillPoly(img, [pts], 0.0, cv2.LINE_AA)
    else:
        cv2.fillPoly(img, [pts], 1.0, cv2.LINE_AA)
        cv2.polylines(img, [pts], True, 0.0, 1, cv2.LINE_AA)


def emotion_lines(img: np.ndarray, rng: Rng, cx: float, cy: float, size: float) -> None:
    """Short strokes radiating from one side of a head (surprise), or a cross-shaped anger vein."""
    if rng.random() < 0.5:
        base = rng.uniform(0, 2 * np.pi)
        for a in base + np.linspace(-0.5, 0.5, int(rng.integers(3, 6))):
            p0 = (cx + size * 0.6 * np.cos(a), cy + size * 0.6 * np.sin(a))
            p1 = (cx + size * np.cos(a), cy + size * np.sin(a))
            tapered_stroke(img, _bezier(p0, ((p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2), p1, 6), max(1.5, size / 12))
    else:
        for k in range(4):
            a = k * np.pi / 2 + np.pi / 4
            c = (cx + size * 0.35 * np.cos(a), cy + size * 0.35 * np.sin(a))
            cv2.ellipse(
                img,
                _i(c),
                _i((size * 0.3, size * 0.3)),
                np.degrees(a) + 90,
                200,
                340,
                0.0,
                max(1, int(size / 10)),
                cv2.LINE_AA,
            )


def motion_lines(img: np.ndarray, rng: Rng, cx: float, cy: float, size: float) -> None:
    a = rng.uniform(0, np.pi)
    d = np.array([np.cos(a), np.sin(a)])
    nrm = np.array([-d[1], d[0]])
    for _ in range(int(rng.integers(3, 9))):
        o = np.array([cx, cy]) + nrm * rng.uniform(-size / 2, size / 2) + d * rng.uniform(-size / 3, size / 3)
        length = size * rng.uniform(0.3, 1.0)
        tapered_stroke(img, np.linspace(o, o + d * length, 10), max(1.0, size / rng.uniform(20, 50)))


def dark_windows(img: np.ndarray, rng: Rng, cx: float, cy: float, size: float) -> None:
    """A building front: a grid of black window panes, the texture most like a column of glyphs."""
    rows, cols = int(rng.integers(2, 7)), int(rng.integers(2, 6))
    cell = size / max(rows, cols)
    pane = cell * rng.uniform(0.45, 0.75)
    level = float(rng.choice([0.0, 0.0, 0.2, 0.4]))
    x0, y0 = cx - cols * cell / 2, cy - rows * cell / 2
    cv2.rectangle(
        img,
        _i((x0 - cell * 0.2, y0 - cell * 0.2)),
        _i((x0 + cols * cell, y0 + rows * cell)),
        0.0,
        max(1, int(cell / 12)),
        cv2.LINE_AA,
    )
    for r in range(rows):
        for c in range(cols):
            if rng.random() < 0.85:
                p = (x0 + c * cell, y0 + r * cell)
                cv2.rectangle(img, _i(p), _i((p[0] + pane, p[1] + pane * rng.uniform(0.8, 1.6))), level, -1)


def small_object(img: np.ndarray, rng: Rng, cx: float, cy: float, size: float) -> None:
    """A pot, a bag, a phone, a flower: solid black shapes with a white highlight, or outlined petals."""
    kind = rng.integers(0, 3)
    if kind == 0:
        cv2.ellipse(
            img, _i((cx, cy)), _i((size * 0.5, size * 0.35)), float(rng.uniform(0, 180)), 0, 360, 0.0, -1, cv2.LINE_AA
        )
        cv2.ellipse(
            img,
            _i((cx - size * 0.15, cy - size * 0.1)),
            _i((size * 0.12, size * 0.05)),
            30,
            0,
            360,
            1.0,
            -1,
            cv2.LINE_AA,
        )
    elif kind == 1:
        w, h = size * rng.uniform(0.3, 0.8), size * rng.uniform(0.3, 1.0)
        cv2.rectangle(img, _i((cx - w / 2, cy - h / 2)), _i((cx + w / 2, cy + h / 2)), 0.0, -1)
        cv2.line(img, _i((cx - w / 3, cy - h / 3)), _i((cx - w / 3, cy + h / 4)), 1.0, max(1, int(size / 20)))
    else:
        n = int(rng.integers(5, 9))
        for a in np.linspace(0, 2 * np.pi, n, endpoint=False):
            c = (cx + size * 0.3 * np.cos(a), cy + size * 0.3 * np.sin(a))
            cv2.ellipse(img, _i(c), _i((size * 0.22, size * 0.12)), np.degrees(a), 0, 360, 0.0, 1, cv2.LINE_AA)
        cv2.circle(img, _i((cx, cy)), max(1, int(size * 0.1)), 0.0, -1, cv2.LINE_AA)


def hatch_shadow(img: np.ndarray, rng: Rng, cx: float, cy: float, size: float) -> None:
    """Short parallel pen strokes in a patch: shading on a cheek, a sleeve or a wall."""
    a = rng.uniform(0, np.pi)
    d = np.array([np.cos(a), np.sin(a)])
    nrm = np.array([-d[1], d[0]])
    spacing = rng.uniform(2.0, 6.0)
    for k in np.arange(-size / 2, size / 2, spacing):
        length = size * rng.uniform(0.2, 0.6)
        o = np.array([cx, cy]) + nrm * k + d * rng.uniform(-size / 4, size / 4)
        cv2.line(img, _i(o), _i(o + d * length), 0.0, 1, cv2.LINE_AA)


MARKS = (
    face,
    face,
    face,
    eye,
    hair,
    hair,
    mouth,
    eyebrow,
    sweat_drop,
    sparkle,
    emotion_lines,
    motion_lines,
    dark_windows,
    dark_windows,
    small_object,
    small_object,
    hatch_shadow,
)


def scatter_marks(img: np.ndarray, rng: Rng, box: tuple[int, int, int, int], n: int) -> None:
    """Draw ``n`` random marks inside ``box`` of ``img``, at the sizes text comes in."""
    x0, y0, x1, y1 = box
    if x1 - x0 < 16 or y1 - y0 < 16:
        return
    for _ in range(n):
        draw = MARKS[int(rng.integers(len(MARKS)))]
        big = draw is face or draw is hair or draw is dark_windows
        size = float(np.exp(rng.uniform(np.log(30 if big else 8), np.log(320 if big else 90))))
        size = min(size, 0.9 * max(x1 - x0, y1 - y0))
        draw(img, rng, rng.uniform(x0, x1), rng.uniform(y0, y1), size)
