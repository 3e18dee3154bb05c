"""Digital-manga backgrounds and props: negatives that real pages are full of and glyphs resemble.

On real pages the shipped segmenter took for text what this generator never drew: building fronts
whose window grids recede in perspective (dark, lit and grey panes in rows, much like columns of
glyphs), trees whose foliage is clusters of small ink scallops over screentone, heads seen from
behind with dark hair and white strand highlights, tiny people in the distance, hands, bottles in
a bag, poles and blank signs, a watch face with its tick marks. This module draws them, at the
sizes text comes in, and never into the text label.

Every function draws in place on a float32 H×W image (1 = paper, 0 = ink) and takes all its
randomness from ``rng``, so a seed fixes the drawing on any machine: the geometry is computed in
float64 numpy and rasterised by OpenCV's integer polygon and line fillers, no resampling.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from .pages import screentone

Rng = np.random.Generator
Box = tuple[int, int, int, int]

AA = cv2.LINE_AA


def _i(p) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def _poly(pts) -> np.ndarray:
    return np.round(np.asarray(pts, np.float64)).astype(np.int32).reshape(-1, 1, 2)


def _fill_tone(img: np.ndarray, rng: Rng, mask: np.ndarray, level: float, tone_p: float = 0.45) -> None:
    """Fill ``mask`` with flat grey or, as often in print, screentone of about the same darkness."""
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    sub = mask[y0:y1, x0:x1] > 0
    if rng.random() < tone_p:
        patch = screentone(y1 - y0, x1 - x0, rng, level=float(np.clip(1 - level, 0.05, 0.7)))
    else:
        patch = np.full((y1 - y0, x1 - x0), level, np.float32)
    img[y0:y1, x0:x1][sub] = patch[sub]


def _stroke(img: np.ndarray, pts: np.ndarray, width: float, ink: float = 0.0) -> None:
    """A brush stroke thick in the middle and thin at the ends (hair strands, leaf flicks)."""
    n = len(pts)
    for k in range(n - 1):
        t = k / max(1, n - 2)
        w = max(1, int(round(width * np.sin(np.pi * (0.12 + 0.76 * t)))))
        cv2.line(img, _i(pts[k]), _i(pts[k + 1]), ink, w, AA)


def _bezier(p0, p1, p2, n: int = 16) -> np.ndarray:
    t = np.linspace(0, 1, n)[:, None]
    return np.asarray(p0) * (1 - t) ** 2 + np.asarray(p1) * 2 * t * (1 - t) + np.asarray(p2) * t**2


# ------------------------------------------------------------------------------------ buildings


class _Facade:
    """A flat wall seen in perspective: (u, v) in the unit square maps to the quad through a homography."""

    def __init__(self, quad: np.ndarray) -> None:
        src = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32)
        self.quad = quad
        self.h = cv2.getPerspectiveTransform(src, quad.astype(np.float32)).astype(np.float64)

    def at(self, uv) -> np.ndarray:
        uv = np.asarray(uv, np.float64).reshape(-1, 2)
        p = np.concatenate([uv, np.ones((len(uv), 1))], 1) @ self.h.T
        return p[:, :2] / p[:, 2:3]

    def rect(self, u0: float, v0: float, u1: float, v1: float) -> np.ndarray:
        return self.at([[u0, v0], [u1, v0], [u1, v1], [u0, v1]])


def _facade(img: np.ndarray, rng: Rng, quad: np.ndarray, shade: float) -> None:
    """A building front: wall tone, floors of windows (dark, lit or grey panes), maybe balconies.

    ``quad`` is top-left, top-right, bottom-right, bottom-left in image space; ``shade`` darkens the
    wall on the side turned from the light, as a tone artist picks a darker sheet for it.
    """
    f = _Facade(quad)
    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.fillPoly(mask, [_poly(quad)], 1)
    wall = float(np.clip(rng.uniform(0.7, 1.0) - shade, 0.25, 1.0))
    _fill_tone(img, rng, mask, wall)
    height_px = float(np.linalg.norm(quad[3] - quad[0]) + np.linalg.norm(quad[2] - quad[1])) / 2
    width_px = float(np.linalg.norm(quad[1] - quad[0]) + np.linalg.norm(quad[2] - quad[3])) / 2
    floors = int(np.clip(height_px / rng.uniform(14, 60), 2, 40))
    bays = int(np.clip(width_px / rng.uniform(10, 50), 1, 30))
    style = rng.choice(["punched", "punched", "band", "curtain"])
    balcony = style == "punched" and rng.random() < 0.4
    dark_p, lit_p = rng.uniform(0.2, 0.8), rng.uniform(0.05, 0.4)
    pane_w, pane_h = rng.uniform(0.4, 0.75), rng.uniform(0.35, 0.65)
    if style == "curtain":
        pane_w, pane_h = rng.uniform(0.8, 0.95), rng.uniform(0.75, 0.92)
    top = rng.uniform(0.0, 0.08)
    for r in range(floors):
        v0 = top + (1 - top) * r / floors
        v1 = top + (1 - top) * (r + 1) / floors
        vm0 = v0 + (v1 - v0) * (1 - pane_h) * 0.35
        vm1 = vm0 + (v1 - v0) * pane_h
        if style == "band":  # ribbon windows: one long strip per floor, cut by mullions
            level = 0.05 if rng.random() < dark_p else float(rng.uniform(0.35, 1.0))
            cv2.fillPoly(img, [_poly(f.rect(0.03, vm0, 0.97, vm1))], level, AA)
            for c in range(1, bays):
                u = 0.03 + 0.94 * c / bays
                cv2.line(img, _i(f.at([u, vm0])[0]), _i(f.at([u, vm1])[0]), 0.0, 1, AA)
        else:
            for c in range(bays):
                u0 = c / bays + (1 - pane_w) / bays / 2
                u1 = u0 + pane_w / bays
                x = rng.random()
                level = float(rng.uniform(0.0, 0.2)) if x < dark_p else (1.0 if x < dark_p + lit_p else 0.55)
                q = f.rect(u0, vm0, u1, vm1)
                cv2.fillPoly(img, [_poly(q)], level, AA)
                if height_px / floors > 10:
                    cv2.polylines(img, [_poly(q)], True, 0.0, 1, AA)
                if level < 0.3 and rng.random() < 0.25:  # a reflection streak across dark glass
                    a, b = f.at([[u0 + (u1 - u0) * 0.2, vm1], [u0 + (u1 - u0) * 0.7, vm0]])
                    cv2.line(img, _i(a), _i(b), 1.0, 1, AA)
                if height_px / floors > 24 and rng.random() < 0.5:  # a mullion
                    um = (u0 + u1) / 2
                    cv2.line(img, _i(f.at([um, vm0])[0]), _i(f.at([um, vm1])[0]), 0.0, 1, AA)
        if balcony and r > 0:
            b0, b1 = v1 - (v1 - v0) * 0.3, v1
            q = f.rect(0.0, b0, 1.0, b1)
            cv2.fillPoly(img, [_poly(q)], float(rng.choice([1.0, 0.8, 0.6])), AA)
            cv2.polylines(img, [_poly(q)], True, 0.0, 1, AA)
            if height_px / floors > 18:
                for u in np.linspace(0, 1, max(2, int(width_px / 6)))[1:-1]:
                    cv2.line(img, _i(f.at([u, b0])[0]), _i(f.at([u, b1])[0]), 0.0, 1, AA)
        elif rng.random() < 0.3:  # a floor line
            cv2.line(img, _i(f.at([0, v1])[0]), _i(f.at([1, v1])[0]), 0.0, 1, AA)
    cv2.polylines(img, [_poly(quad)], True, 0.0, int(rng.choice([1, 1, 2])), AA)


def _sky(view: np.ndarray, rng: Rng, horizon: int) -> None:
    """Above the buildings: paper, a tone gradient or the ruled horizontal lines of digital skies."""
    h, w = view.shape
    top = view[: max(1, horizon)]
    kind = rng.choice(["paper", "ruled", "ruled", "tone", "grad"])
    if kind == "ruled":
        spacing = rng.uniform(2.5, 8)
        for y in np.arange(rng.uniform(0, spacing), top.shape[0], spacing):
            # Lines break off at random, thinning toward the horizon like a sky drawn with a ruler.
            x = float(rng.uniform(-w * 0.3, w * 0.2))
            while x < w:
                length = rng.uniform(w * 0.1, w * 0.9)
                if rng.random() < 0.75 * (1 - y / max(1, top.shape[0])) + 0.15:
                    cv2.line(top, _i((x, y)), _i((x + length, y)), 0.0, 1, AA)
                x += length + rng.uniform(5, w * 0.3)
    elif kind == "tone":
        top[:] = np.minimum(top, screentone(top.shape[0], w, rng, level=float(rng.uniform(0.05, 0.3))))
    elif kind == "grad":
        t = np.linspace(rng.uniform(0.45, 0.8), 1.0, top.shape[0], dtype=np.float32)[:, None]
        top[:] = np.minimum(top, t)


def _storefront(img: np.ndarray, rng: Rng, f: _Facade, v0: float) -> None:
    """Ground floor: a dark shop window, an awning and a blank sign board (no lettering)."""
    cv2.fillPoly(img, [_poly(f.rect(0.05, v0 + 0.2 * (1 - v0), 0.7, 0.98))], float(rng.uniform(0.0, 0.3)), AA)
    q = f.rect(0.0, v0, 1.0, v0 + 0.12 * (1 - v0))
    cv2.fillPoly(img, [_poly(q)], float(rng.choice([1.0, 0.85, 0.5])), AA)
    cv2.polylines(img, [_poly(q)], True, 0.0, 1, AA)
    if rng.random() < 0.6:  # awning stripes
        for u in np.linspace(0, 1, int(rng.integers(4, 12))):
            a, b = f.at([[u, v0 + 0.12 * (1 - v0)], [u, v0 + 0.2 * (1 - v0)]])
            cv2.line(img, _i(a), _i(b), 0.0, 1, AA)


def street_scene(view: np.ndarray, rng: Rng) -> None:
    """A whole panel of city: sky, buildings in one- or two-point perspective, poles, trees, people."""
    h, w = view.shape
    horizon = int(h * rng.uniform(0.3, 0.85))
    _sky(view, rng, horizon)
    mode = rng.choice(["one", "two", "row"])
    ground = h * rng.uniform(0.75, 1.05)
    if mode == "one":  # a street receding to one vanishing point, buildings on both sides
        vp = np.array([w * rng.uniform(0.3, 0.7), horizon * rng.uniform(0.7, 1.0)])
        for side in (-1, 1):
            edge = 0.0 if side < 0 else float(w)
            x_near = edge
            depth = float(rng.uniform(0.25, 0.55))
            for _ in range(int(rng.integers(1, 4))):
                x_far = x_near + (vp[0] - x_near) * depth
                t_near, t_far = (x_near - vp[0]) / (edge - vp[0]), (x_far - vp[0]) / (edge - vp[0])
                roof = -h * rng.uniform(0.1, 0.9)
                foot = ground
                quad = np.array(
                    [
                        [x_near, vp[1] + (roof - vp[1]) * t_near],
                        [x_far, vp[1] + (roof - vp[1]) * t_far],
                        [x_far, vp[1] + (foot - vp[1]) * t_far],
                        [x_near, vp[1] + (foot - vp[1]) * t_near],
                    ]
                )
                if side > 0:
                    quad = quad[[1, 0, 3, 2]]
                _facade(view, rng, quad, shade=float(rng.uniform(0.0, 0.35)))
                if rng.random() < 0.4:
                    _storefront(view, rng, _Facade(quad), 0.82)
                x_near, depth = x_far, float(rng.uniform(0.2, 0.5))
        for _ in range(int(rng.integers(0, 4))):  # street lines toward the vanishing point
            x = w * rng.uniform(-0.2, 1.2)
            cv2.line(view, _i((x, h)), _i(vp + (np.array([x, h]) - vp) * 0.15), 0.0, 1, AA)
    else:
        n = 1 if mode == "two" else int(rng.integers(2, 5))
        xs = np.sort(rng.uniform(-0.1, 1.1, n)) * w
        for cx in xs:  # each building is a corner with a wall receding to either side
            vl = np.array([cx - w * rng.uniform(0.8, 3.0), horizon])
            vr = np.array([cx + w * rng.uniform(0.8, 3.0), horizon])
            top, bottom = -h * rng.uniform(-0.5, 0.6), ground
            half = w * rng.uniform(0.15, 0.6)
            for vp, sign in ((vl, -1), (vr, 1)):
                t = half / abs(cx - vp[0])
                far_x = cx + sign * half
                quad = np.array(
                    [
                        [cx, top],
                        [far_x, top + (vp[1] - top) * t],
                        [far_x, bottom + (vp[1] - bottom) * t],
                        [cx, bottom],
                    ]
                )
                if sign < 0:
                    quad = quad[[1, 0, 3, 2]]
                _facade(view, rng, quad, shade=0.3 if sign < 0 else 0.0)
    y_ground = int(min(h - 2, ground))
    for _ in range(int(rng.integers(0, 3))):
        pole_sign(view, rng, rng.uniform(0, w), y_ground - h * 0.3, h * rng.uniform(0.3, 0.9))
    for _ in range(int(rng.integers(0, 3))):
        size = h * rng.uniform(0.15, 0.5)
        (tree if rng.random() < 0.6 else bush)(view, rng, rng.uniform(0, w), y_ground - size * 0.5, size)
    if rng.random() < 0.6:
        crowd(view, rng, rng.uniform(0, w), y_ground - h * 0.05, h * rng.uniform(0.05, 0.2))
    if rng.random() < SOFT_P:
        _soften(view, float(rng.uniform(*SOFT_RANGE)))


# Digital manga backgrounds are often rendered in soft greys with dark-grey lines rather than black
# ink and dot screens (3D-traced streets, photo-based trees); the real page the segmenter failed on
# was mostly such greys. Half the scenery is drawn that way: its contrast to paper scaled down.
SOFT_P = 0.5
SOFT_RANGE = (0.35, 0.8)


def _soften(img: np.ndarray, keep: float) -> None:
    """Scale the darkness of ``img`` toward paper: ink 0 becomes grey ``1 - keep``."""
    img[:] = 1.0 - (1.0 - img) * keep


def building(img: np.ndarray, rng: Rng, cx: float, cy: float, size: float) -> None:
    """One building corner in two-point perspective, ``size`` px tall, as a prop seen past a character."""
    half = size * rng.uniform(0.25, 0.6)
    horizon = cy + size * rng.uniform(-0.6, 0.6)
    top, bottom = cy - size / 2, cy + size / 2
    for sign in (-1, 1):
        vpx = cx + sign * size * rng.uniform(1.5, 5.0)
        t = half / abs(vpx - cx)
        far_x = cx + sign * half
        quad = np.array(
            [[cx, top], [far_x, top + (horizon - top) * t], [far_x, bottom + (horizon - bottom) * t], [cx, bottom]]
        )
        if sign < 0:
            quad = quad[[1, 0, 3, 2]]
        _facade(img, rng, quad, shade=0.3 if sign < 0 else 0.0)


# ----------------------------------------------------------------------------------- vegetation


def _foliage(img: np.ndarray, rng: Rng, centres: np.ndarray, radii: np.ndarray, light: np.ndarray) -> None:
    """Leaf masses: a tone or grey fill, a scalloped rim and clusters of small ink marks in the shade.

    Digital manga draws leaves as clumps of tiny scallops and ticks, dense on the side away from the
    light and sparse toward it; at text sizes those clumps look like strings of small glyphs.
    """
    mask = np.zeros(img.shape[:2], np.uint8)
    for c, r in zip(centres, radii):
        cv2.circle(mask, _i(c), max(1, int(r)), 1, -1, AA)
    _fill_tone(img, rng, mask, float(rng.uniform(0.55, 1.0)), tone_p=0.6)
    # A darker cast shadow in the lower part of each clump.
    if rng.random() < 0.7:
        shadow = np.zeros_like(mask)
        for c, r in zip(centres, radii):
            off = -light * r * rng.uniform(0.25, 0.5)
            cv2.circle(shadow, _i(c + off), max(1, int(r * rng.uniform(0.6, 0.9))), 1, -1, AA)
        shadow &= mask
        _fill_tone(img, rng, shadow, float(rng.uniform(0.1, 0.5)), tone_p=0.5)
    # Scalloped rim: a run of small arcs bulging outward along each clump's edge.
    for c, r in zip(centres, radii):
        leaf = max(2.0, r * rng.uniform(0.06, 0.13))
        n = max(6, int(2 * np.pi * r / (leaf * 1.8)))
        for a in np.linspace(0, 2 * np.pi, n, endpoint=False) + rng.uniform(0, 1):
            u = np.array([np.cos(a), np.sin(a)])
            p = c + r * u
            if any(np.linalg.norm(p - c2) < r2 * 0.97 for c2, r2 in zip(centres, radii)):
                continue  # inside a neighbouring clump: no rim there
            # A shallow bump whose ends meet its neighbours', so the rim reads as one wavy line.
            cv2.ellipse(img, _i(p - u * leaf * 0.3), _i((leaf * 0.95, leaf * 0.6)), np.degrees(a), -90, 90, 0.0, 1, AA)
    # Leaf clusters inside: small scallops and ticks, thicker where the light does not reach.
    total = float(np.sum(radii**2))
    for _ in range(int(np.clip(total / rng.uniform(60, 250), 8, 500))):
        k = int(rng.integers(len(centres)))
        c, r = centres[k], radii[k]
        d = rng.normal(0, 0.45, 2)
        p = c + d * r
        if np.linalg.norm(p - c) > r * 0.95:
            continue
        dark_side = float(-(d @ light))  # > 0 away from the light
        if rng.random() > 0.3 + 0.7 * np.clip(dark_side + 0.3, 0, 1):
            continue
        leaf = max(1.5, r * rng.uniform(0.05, 0.14))
        if rng.random() < 0.6:  # a string of scallops
            a = rng.uniform(0, np.pi)
            step = np.array([np.cos(a), np.sin(a)]) * leaf * 1.3
            for j in range(int(rng.integers(2, 5))):
                q = p + step * j
                cv2.ellipse(img, _i(q), _i((leaf, leaf * 0.8)), np.degrees(a), 180, 360, 0.0, 1, AA)
        else:  # a clump of short ticks, or a solid black leaf
            for _j in range(int(rng.integers(2, 6))):
                a = rng.uniform(0, 2 * np.pi)
                q = p + rng.normal(0, leaf, 2)
                e = q + leaf * 1.4 * np.array([np.cos(a), np.sin(a)])
                if rng.random() < 0.5:
                    _stroke(img, np.linspace(q, e, 5), max(1.5, leaf * 0.5))
                else:
                    cv2.ellipse(img, _i(q), _i((leaf * 0.8, leaf * 0.45)), np.degrees(a), 0, 360, 0.0, -1, AA)


def tree(img: np.ndarray, rng: Rng, cx: float, cy: float, size: float) -> None:
    """A street or park tree: a tapered trunk with branches under a crown of leaf clumps."""
    base = np.array([cx + rng.normal(0, size * 0.05), cy + size * 0.5])
    crown_c = np.array([cx, cy - size * 0.12])
    trunk_w = size * rng.uniform(0.04, 0.09)
    top = crown_c + np.array([rng.normal(0, size * 0.04), size * 0.05])
    pts = np.array(
        [
            base + [-trunk_w, 0],
            base + [trunk_w, 0],
            top + [trunk_w * 0.5, 0],
            top + [-trunk_w * 0.5, 0],
        ]
    )
    cv2.fillPoly(img, [_poly(pts)], float(rng.choice([0.0, 0.3, 0.8])), AA)
    cv2.polylines(img, [_poly(pts)], True, 0.0, 1, AA)
    for _ in range(int(rng.integers(1, 5))):  # branches into the crown
        s = base + (top - base) * rng.uniform(0.4, 1.0)
        e = s + np.array([rng.normal(0, size * 0.2), -size * rng.uniform(0.1, 0.3)])
        _stroke(img, _bezier(s, (s + e) / 2 + rng.normal(0, size * 0.03, 2), e, 8), max(1.5, trunk_w))
    n = int(rng.integers(4, 12))
    r0 = size * 0.42
    centres = crown_c + rng.normal(0, 1, (n, 2)) * np.array([r0 * 0.55, r0 * 0.4])
    radii = r0 * rng.uniform(0.3, 0.55, n)
    a = rng.uniform(-2.6, -0.5)  # light from above
    _foliage(img, rng, centres, radii, np.array([np.cos(a), np.sin(a)]))


def bush(img: np.ndarray, rng: Rng, cx: float, cy: float, size: float) -> None:
    """A hedge or shrub: a low, wide row of leaf clumps sitting on the ground."""
    n = int(rng.integers(3, 10))
    xs = cx + np.linspace(-size * 0.6, size * 0.6, n) + rng.normal(0, size * 0.05, n)
    ys = cy + rng.normal(0, size * 0.08, n)
    radii = size * rng.uniform(0.15, 0.3, n)
    a = rng.uniform(-2.6, -0.5)
    _foliage(img, rng, np.stack([xs, ys], 1), radii, np.array([np.cos(a), np.sin(a)]))


# ------------------------------------------------------------------------------------- people


def _hair_mass(img: np.ndarray, rng: Rng, c: np.ndarray, rx: float, ry: float, dark: bool) -> None:
    """Hair seen from behind: a silhouette with pointed locks at the nape, strands and a shine band."""
    n = int(rng.integers(5, 11))
    crown = [c + [rx * 1.05 * np.cos(a), ry * 1.05 * np.sin(a)] for a in np.linspace(np.pi, 2 * np.pi, 14)]
    length = ry * rng.uniform(0.85, 1.5) if rng.random() < 0.75 else ry * rng.uniform(1.5, 2.4)
    tips = []
    # Down the sides the hair follows the skull, then the nape ends in uneven pointed locks.
    for a in np.linspace(0.0, 0.45 * np.pi, 4):
        tips.append(c + [rx * 1.08 * np.cos(a), ry * 0.9 * np.sin(a)])
    for k in range(n + 1):
        x = c[0] + rx * 0.95 - 1.9 * rx * k / n
        y = c[1] + (length if k % 2 == 0 else length * rng.uniform(0.6, 0.9)) * rng.uniform(0.85, 1.1)
        tips.append(np.array([x + rng.normal(0, rx * 0.04), y]))
    for a in np.linspace(0.55 * np.pi, np.pi, 4):
        tips.append(c + [rx * 1.08 * np.cos(a), ry * 0.9 * np.sin(a)])
    poly = np.array(crown + tips)
    level = float(rng.uniform(0.0, 0.15)) if dark else float(rng.uniform(0.75, 1.0))
    cv2.fillPoly(img, [_poly(poly)], level, AA)
    cv2.polylines(img, [_poly(poly)], True, 0.0, max(1, int(rx / 30)), AA)
    # Strands follow the skull from the crown down: white on dark hair, ink on light hair.
    ink = 1.0 if dark else 0.0
    whorl = c + [rng.normal(0, rx * 0.2), -ry * rng.uniform(0.4, 0.8)]
    for _ in range(int(rng.integers(4, 16))):
        x = c[0] + rng.uniform(-0.9, 0.9) * rx
        end = np.array([x + rng.normal(0, rx * 0.1), c[1] + length * rng.uniform(0.5, 0.95)])
        mid = (whorl + end) / 2 + [np.sign(x - c[0]) * rx * 0.35, 0]
        pts = _bezier(whorl, mid, end, 18)
        if dark:
            pts = pts[int(len(pts) * rng.uniform(0.15, 0.4)) : int(len(pts) * rng.uniform(0.55, 0.9))]
        _stroke(img, pts, max(1.0, rx / rng.uniform(12, 30)), ink)
    if dark and rng.random() < 0.7:  # the ring of shine across the back of the head
        y = c[1] - ry * rng.uniform(0.1, 0.4)
        for x in np.linspace(c[0] - rx * 0.75, c[0] + rx * 0.75, int(rng.integers(5, 12))):
            q = np.array([x, y + ry * 0.15 * ((x - c[0]) / rx) ** 2])
            _stroke(
                img,
                _bezier(q, q + [1, ry * 0.1], q + [rng.normal(0, 2), ry * rng.uniform(0.15, 0.35)], 6),
                max(1.5, rx / 12),
                1.0,
            )


def back_head(img: np.ndarray, rng: Rng, cx: float, cy: float, size: float) -> None:
    """A character seen from behind or three-quarters behind: shoulders, collar, neck, ear, hair."""
    rx, ry = size * 0.32, size * 0.38
    c = np.array([cx, cy - size * 0.1])
    # Shoulders and collar first: hair and head go over them.
    sw = size * rng.uniform(0.55, 0.9)
    neck_y = c[1] + ry * 0.9
    bottom = cy + size * 0.75
    # Rounded shoulders: from the neck out along a curve, then down the arms.
    right = _bezier((cx + size * 0.12, neck_y), (cx + sw * 0.9, neck_y + size * 0.02), (cx + sw, bottom), 10)
    left = _bezier((cx - sw, bottom), (cx - sw * 0.9, neck_y + size * 0.02), (cx - size * 0.12, neck_y), 10)
    body = np.concatenate([right, left])
    shirt = float(rng.choice([1.0, 1.0, 0.1, 0.6]))
    cv2.fillPoly(img, [_poly(body)], shirt, AA)
    cv2.polylines(img, [_poly(body)], False, 0.0, max(1, int(size / 60)), AA)
    if rng.random() < 0.6:  # a fold line on the back or sleeve edge
        s = np.array([cx + rng.uniform(-0.5, 0.5) * sw, cy + size * 0.75])
        _stroke(
            img,
            _bezier(s, s + [rng.normal(0, 5), -size * 0.15], s + [rng.normal(0, 10), -size * 0.3], 8),
            max(1.0, size / 80),
            1.0 - round(shirt),
        )
    cv2.rectangle(img, _i((cx - size * 0.1, c[1])), _i((cx + size * 0.1, neck_y + 2)), 1.0, -1)
    cv2.line(img, _i((cx - size * 0.1, c[1] + ry * 0.5)), _i((cx - size * 0.11, neck_y)), 0.0, 1, AA)
    cv2.line(img, _i((cx + size * 0.1, c[1] + ry * 0.5)), _i((cx + size * 0.11, neck_y)), 0.0, 1, AA)
    cv2.ellipse(img, _i(c), _i((rx, ry)), 0, 0, 360, 1.0, -1, AA)
    cv2.ellipse(img, _i(c), _i((rx, ry)), 0, 0, 360, 0.0, max(1, int(size / 70)), AA)
    side = rng.choice([-1, 1])
    if rng.random() < 0.7:  # an ear on one side (three-quarter back view)
        e = c + [side * rx * 0.95, ry * 0.1]
        cv2.ellipse(img, _i(e), _i((rx * 0.18, ry * 0.25)), 0, 0, 360, 1.0, -1, AA)
        cv2.ellipse(img, _i(e), _i((rx * 0.18, ry * 0.25)), 0, -90, 90 if side > 0 else 270, 0.0, 1, AA)
    _hair_mass(img, rng, c, rx, ry, dark=rng.random() < 0.65)


def _figure(img: np.ndarray, rng: Rng, foot: np.ndarray, height: float) -> None:
    """A tiny full-length person in the distance: dark or light hair, a body, legs, arms."""
    head_r = height * rng.uniform(0.065, 0.085)
    head = foot + [0, -height + head_r]
    body_top = head + [0, head_r * 1.2]
    hip = foot + [0, -height * rng.uniform(0.42, 0.5)]
    sw = height * rng.uniform(0.1, 0.15)
    lw = max(1, int(round(height / 22)))
    dress = rng.random() < 0.3
    torso_bottom = hip + [0, height * 0.15] if dress else hip
    cloth = float(rng.choice([1.0, 0.0, 0.5, 0.75]))
    torso = np.array(
        [
            body_top - [sw, 0],
            body_top + [sw, 0],
            torso_bottom + [sw * (1.2 if dress else 0.8), 0],
            torso_bottom - [sw * (1.2 if dress else 0.8), 0],
        ]
    )
    stride = rng.uniform(-0.15, 0.15) * height
    leg_ink = float(rng.choice([0.0, 0.3, 0.6]))
    for s in (-1, 1):
        cv2.line(
            img,
            _i(hip + [s * sw * 0.4, 0]),
            _i(foot + [s * sw * 0.4 + s * stride * 0.5, 0]),
            leg_ink,
            max(1, int(round(height / 12))),
            AA,
        )
        hand = body_top + [s * sw * 1.4 + rng.normal(0, sw * 0.3), height * rng.uniform(0.3, 0.4)]
        cv2.line(img, _i(body_top + [s * sw, 0]), _i(hand), 0.0, lw, AA)
    cv2.fillPoly(img, [_poly(torso)], cloth, AA)
    cv2.polylines(img, [_poly(torso)], True, 0.0, lw, AA)
    cv2.circle(img, _i(head), max(1, int(round(head_r))), 1.0, -1, AA)
    cv2.circle(img, _i(head), max(1, int(round(head_r))), 0.0, lw, AA)
    hair_level = float(rng.choice([0.0, 0.0, 0.3, 1.0]))
    cv2.ellipse(img, _i(head - [0, head_r * 0.15]), _i((head_r * 1.05, head_r * 0.95)), 0, 180, 360, hair_level, -1, AA)
    if rng.random() < 0.5:  # long hair behind
        cv2.ellipse(img, _i(head + [0, head_r * 0.6]), _i((head_r * 1.1, head_r * 1.2)), 0, 0, 180, hair_level, -1, AA)


def crowd(img: np.ndarray, rng: Rng, cx: float, cy: float, size: float) -> None:
    """A few small people standing about, ``size`` px tall, farther ones smaller and higher."""
    for _ in range(int(rng.integers(1, 7))):
        d = rng.uniform(0.5, 1.0)
        foot = np.array([cx + rng.normal(0, size * 0.8), cy - (1 - d) * size * 0.6])
        _figure(img, rng, foot, size * d)


def person(img: np.ndarray, rng: Rng, cx: float, cy: float, size: float) -> None:
    """One full-length figure centred on (cx, cy)."""
    _figure(img, rng, np.array([cx, cy + size / 2]), size)


def hand(img: np.ndarray, rng: Rng, cx: float, cy: float, size: float) -> None:
    """A hand: palm, fingers as rounded outlined strokes, a thumb and knuckle creases; open or a fist.

    Fingers at a distance are short rounded strokes side by side, as like a row of letters as anything.
    """
    a = rng.uniform(0, 2 * np.pi)
    d = np.array([np.cos(a), np.sin(a)])
    n = np.array([-d[1], d[0]])
    c = np.array([cx, cy])
    lw = max(1, int(round(size / 60)))
    skin = float(rng.choice([1.0, 1.0, 0.85, 0.6]))
    fw = size * rng.uniform(0.09, 0.13)  # finger width
    fist = rng.random() < 0.35
    palm_len = size * 0.4
    knuckle = c + d * palm_len * 0.5

    def finger(p0: np.ndarray, p1: np.ndarray, width: float) -> None:
        cv2.line(img, _i(p0), _i(p1), 0.0, max(1, int(round(width))) + 2 * lw, AA)
        cv2.line(img, _i(p0), _i(p1), skin, max(1, int(round(width))), AA)

    spread = rng.uniform(0.0, 0.35)
    lengths = np.array([0.8, 1.0, 0.95, 0.7]) * size * rng.uniform(0.3, 0.45)
    ends = []
    for k in range(4):
        off = (k - 1.5) * fw * 1.05
        base = knuckle + n * off
        if fist:  # curled: short segments folded back toward the palm
            tip = base + d * fw * 0.9
            ends.append((base, tip))
        else:
            ang = a + (k - 1.5) * spread / 1.5 + rng.normal(0, 0.05)
            tip = base + lengths[k] * np.array([np.cos(ang), np.sin(ang)])
            ends.append((base, tip))
    thumb_base = c + n * fw * 2.0 * rng.choice([-1, 1])
    thumb_tip = (
        thumb_base + (d * 0.6 + (thumb_base - c) / max(1e-6, np.linalg.norm(thumb_base - c)) * 0.6) * size * 0.25
    )
    for base, tip in ends:
        finger(base, tip, fw)
    # The palm: a rounded shape, wide at the knuckles and narrowing to the wrist.
    t = np.linspace(0, 2 * np.pi, 28, endpoint=False)[:, None]
    half_w = fw * (2.2 - 0.5 * (np.cos(t) < 0))
    palm = c + d * palm_len * 0.6 * np.cos(t) + n * half_w * np.sin(t)
    palm = list(palm)
    cv2.fillPoly(img, [_poly(palm)], skin, AA)
    cv2.polylines(img, [_poly(palm[4:] + palm[:3])], False, 0.0, lw, AA)
    finger(thumb_base, thumb_tip, fw * 1.1)
    for base, tip in ends:  # knuckle creases and nails
        mid = base + (tip - base) * 0.55
        cv2.line(img, _i(mid - n * fw * 0.3), _i(mid + n * fw * 0.3), 0.0, 1, AA)
        if not fist and rng.random() < 0.4:
            cv2.ellipse(
                img,
                _i(tip - (tip - base) / max(1e-6, np.linalg.norm(tip - base)) * fw * 0.4),
                _i((fw * 0.25, fw * 0.2)),
                float(np.degrees(a)),
                0,
                360,
                0.0,
                1,
                AA,
            )
    if rng.random() < 0.4:  # a sleeve cuff across the wrist
        w0 = c - d * palm_len * 0.6
        cuff = [
            w0 + n * fw * 2.6,
            w0 - n * fw * 2.6,
            w0 - n * fw * 2.6 - d * size * 0.25,
            w0 + n * fw * 2.6 - d * size * 0.25,
        ]
        cv2.fillPoly(img, [_poly(cuff)], float(rng.choice([0.0, 1.0, 0.5])), AA)
        cv2.polylines(img, [_poly(cuff)], True, 0.0, lw, AA)


# -------------------------------------------------------------------------------------- props


def bottles(img: np.ndarray, rng: Rng, cx: float, cy: float, size: float) -> None:
    """A group of bottles and cans, sometimes sticking out of a shopping bag; labels left blank."""
    n = int(rng.integers(2, 7))
    xs = cx + np.linspace(-size * 0.4, size * 0.4, n) + rng.normal(0, size * 0.03, n)
    for k in np.argsort(rng.random(n)):
        h = size * rng.uniform(0.45, 0.9)
        wd = h * rng.uniform(0.22, 0.35)
        x, bottom = xs[k], cy + size * 0.4 + rng.normal(0, size * 0.03)
        glass = float(rng.choice([0.0, 0.15, 0.5, 0.8, 1.0]))
        if rng.random() < 0.3:  # a can: a short cylinder with an elliptic top
            h = wd * rng.uniform(1.5, 2.0)
            cv2.rectangle(img, _i((x - wd / 2, bottom - h)), _i((x + wd / 2, bottom)), glass, -1)
            cv2.rectangle(img, _i((x - wd / 2, bottom - h)), _i((x + wd / 2, bottom)), 0.0, 1)
            cv2.ellipse(img, _i((x, bottom - h)), _i((wd / 2, wd / 6)), 0, 0, 360, 1.0, -1, AA)
            cv2.ellipse(img, _i((x, bottom - h)), _i((wd / 2, wd / 6)), 0, 0, 360, 0.0, 1, AA)
            continue
        neck = wd * rng.uniform(0.25, 0.4)
        shoulder = bottom - h * rng.uniform(0.55, 0.7)
        outline = np.concatenate(
            [
                [[x - wd / 2, bottom], [x - wd / 2, shoulder]],
                _bezier(
                    (x - wd / 2, shoulder), (x - wd / 2, shoulder - h * 0.12), (x - neck / 2, shoulder - h * 0.18), 6
                ),
                [[x - neck / 2, bottom - h], [x + neck / 2, bottom - h]],
                _bezier(
                    (x + neck / 2, shoulder - h * 0.18), (x + wd / 2, shoulder - h * 0.12), (x + wd / 2, shoulder), 6
                ),
                [[x + wd / 2, bottom]],
            ]
        )
        cv2.fillPoly(img, [_poly(outline)], glass, AA)
        cv2.polylines(img, [_poly(outline)], True, 0.0, max(1, int(size / 120)), AA)
        cv2.rectangle(img, _i((x - neck / 2 - 1, bottom - h)), _i((x + neck / 2 + 1, bottom - h + h * 0.06)), 0.0, -1)
        if rng.random() < 0.7:  # a blank label
            ly = bottom - h * rng.uniform(0.2, 0.45)
            cv2.rectangle(img, _i((x - wd / 2, ly - h * 0.15)), _i((x + wd / 2, ly)), float(rng.choice([1.0, 0.7])), -1)
            cv2.rectangle(img, _i((x - wd / 2, ly - h * 0.15)), _i((x + wd / 2, ly)), 0.0, 1)
        if glass < 0.6:  # the shine down one side of dark glass
            cv2.line(
                img,
                _i((x - wd * 0.25, shoulder + h * 0.05)),
                _i((x - wd * 0.25, bottom - h * 0.08)),
                1.0,
                max(1, int(wd / 8)),
                AA,
            )
    if rng.random() < 0.5:  # a bag in front covering the lower half
        top, bot = cy + size * 0.05, cy + size * 0.5
        bag = np.array(
            [[cx - size * 0.5, top], [cx + size * 0.5, top], [cx + size * 0.45, bot], [cx - size * 0.45, bot]]
        )
        cv2.fillPoly(img, [_poly(bag)], float(rng.choice([1.0, 0.9, 0.7])), AA)
        cv2.polylines(img, [_poly(bag)], True, 0.0, max(1, int(size / 100)), AA)
        for _ in range(int(rng.integers(2, 6))):  # creases of a plastic bag
            s = np.array([cx + rng.uniform(-0.4, 0.4) * size, top + rng.uniform(0.05, 0.6) * (bot - top)])
            e = s + rng.normal(0, size * 0.1, 2)
            _stroke(img, _bezier(s, (s + e) / 2 + rng.normal(0, 3, 2), e, 6), max(1.0, size / 150))


def pole_sign(img: np.ndarray, rng: Rng, cx: float, cy: float, size: float) -> None:
    """A utility pole with cross-arms and wires, or a street sign on a post; signs carry no text."""
    top, bottom = cy - size / 2, cy + size / 2
    pw = max(2.0, size * rng.uniform(0.015, 0.035))
    cv2.rectangle(img, _i((cx - pw / 2, top)), _i((cx + pw / 2, bottom)), float(rng.choice([0.0, 0.5, 0.85])), -1)
    cv2.rectangle(img, _i((cx - pw / 2, top)), _i((cx + pw / 2, bottom)), 0.0, 1)
    if rng.random() < 0.5:  # utility pole: cross-arms, insulators and sagging wires
        for k in range(int(rng.integers(1, 4))):
            y = top + size * 0.05 + k * size * 0.06
            arm = size * rng.uniform(0.08, 0.18)
            cv2.line(img, _i((cx - arm, y)), _i((cx + arm, y)), 0.0, max(1, int(pw / 2)), AA)
            for x in np.linspace(cx - arm, cx + arm, 4):
                cv2.rectangle(img, _i((x - 1, y - pw * 0.8)), _i((x + 1, y)), 0.0, -1)
                if rng.random() < 0.5:
                    end = np.array(
                        [x + rng.choice([-1, 1]) * size * rng.uniform(0.6, 1.5), y + rng.normal(0, size * 0.1)]
                    )
                    sag = (np.array([x, y]) + end) / 2 + [0, size * rng.uniform(0.02, 0.1)]
                    cv2.polylines(img, [_poly(_bezier((x, y), sag, end, 20))], False, 0.0, 1, AA)
        if rng.random() < 0.5:  # a transformer drum
            cv2.rectangle(img, _i((cx + pw / 2, top + size * 0.25)), _i((cx + pw * 3, top + size * 0.35)), 0.3, -1)
    n_signs = int(rng.integers(1, 3))
    for k in range(n_signs):
        sy = top + size * (0.1 + 0.25 * k) + size * 0.15
        s = size * rng.uniform(0.07, 0.16)
        shape = rng.choice(["rect", "circle", "triangle", "diamond", "tall"])
        fill = float(rng.choice([1.0, 0.0, 0.4, 0.7]))
        c = np.array([cx + (pw / 2 + s if shape == "tall" else 0), sy])
        if shape == "circle":
            cv2.circle(img, _i(c), int(s), fill, -1, AA)
            cv2.circle(img, _i(c), int(s), 0.0, max(1, int(s / 8)), AA)
            cv2.circle(img, _i(c), max(1, int(s * 0.75)), 1.0 - round(fill), 1, AA)
            if rng.random() < 0.5:  # a no-entry bar or an arrow: pictograms, not letters
                cv2.rectangle(img, _i(c - [s * 0.6, s * 0.15]), _i(c + [s * 0.6, s * 0.15]), 1.0 - round(fill), -1)
        else:
            if shape == "rect":
                pts = [
                    c + [-s * 1.3, -s * 0.7],
                    c + [s * 1.3, -s * 0.7],
                    c + [s * 1.3, s * 0.7],
                    c + [-s * 1.3, s * 0.7],
                ]
            elif shape == "tall":
                pts = [
                    c + [-s * 0.4, -s * 1.5],
                    c + [s * 0.4, -s * 1.5],
                    c + [s * 0.4, s * 1.5],
                    c + [-s * 0.4, s * 1.5],
                ]
            elif shape == "triangle":
                pts = [c + [0, -s], c + [s * 1.1, s * 0.8], c + [-s * 1.1, s * 0.8]]
            else:
                pts = [c + [0, -s], c + [s, 0], c + [0, s], c + [-s, 0]]
            cv2.fillPoly(img, [_poly(pts)], fill, AA)
            cv2.polylines(img, [_poly(pts)], True, 0.0, max(1, int(s / 8)), AA)
            if rng.random() < 0.4:  # an arrow
                a0, a1 = c - [s * 0.5, 0], c + [s * 0.5, 0]
                cv2.arrowedLine(img, _i(a0), _i(a1), 1.0 - round(fill), max(1, int(s / 6)), AA, tipLength=0.4)


def dial(img: np.ndarray, rng: Rng, cx: float, cy: float, size: float) -> None:
    """A wristwatch or wall clock: bezel, hour and minute ticks, hands, and no numerals."""
    r = size / 2
    c = np.array([cx, cy])
    watch = rng.random() < 0.6
    if watch:  # the strap runs through the case, with holes or links
        a = rng.uniform(0, np.pi)
        d = np.array([np.cos(a), np.sin(a)]) * r * 2.2
        nrm = np.array([-np.sin(a), np.cos(a)]) * r * 0.55
        strap = [c - d + nrm, c + d + nrm, c + d - nrm, c - d - nrm]
        cv2.fillPoly(img, [_poly(strap)], float(rng.choice([0.0, 0.4, 0.85])), AA)
        cv2.polylines(img, [_poly(strap)], True, 0.0, 1, AA)
        for t in np.linspace(-0.95, 0.95, 9):
            if abs(t) > 0.5:
                p = c + d * t
                cv2.line(img, _i(p - nrm), _i(p + nrm), 0.0, 1, AA)
    cv2.circle(img, _i(c), int(r * 1.12), float(rng.choice([0.0, 0.5, 0.8])), -1, AA)
    cv2.circle(img, _i(c), int(r * 1.12), 0.0, max(1, int(r / 20)), AA)
    face_level = float(rng.choice([1.0, 1.0, 0.1]))
    ink = 1.0 - round(face_level)
    cv2.circle(img, _i(c), int(r), face_level, -1, AA)
    cv2.circle(img, _i(c), int(r), 0.0, 1, AA)
    minutes = rng.random() < 0.5
    for k in range(60 if minutes else 12):
        a = 2 * np.pi * k / (60 if minutes else 12)
        major = not minutes or k % 5 == 0
        quarter = (k % 15 == 0) if minutes else (k % 3 == 0)
        r0 = r * (0.72 if quarter else 0.8 if major else 0.88)
        u = np.array([np.sin(a), -np.cos(a)])
        cv2.line(img, _i(c + u * r0), _i(c + u * r * 0.94), ink, max(1, int(r / (10 if quarter else 22))), AA)
    for length, width in ((0.5, 12), (0.75, 20)):
        a = rng.uniform(0, 2 * np.pi)
        u = np.array([np.sin(a), -np.cos(a)])
        cv2.line(img, _i(c - u * r * 0.1), _i(c + u * r * length), ink, max(1, int(r / width)), AA)
    cv2.circle(img, _i(c), max(1, int(r / 14)), ink, -1, AA)
    if watch:  # the crown
        cv2.rectangle(img, _i(c + [r * 1.1, -r * 0.1]), _i(c + [r * 1.25, r * 0.1]), 0.0, -1)


# ----------------------------------------------------------------------------------- choosing

Draw = Callable[[np.ndarray, Rng, float, float, float], None]

# Each prop with the size range (px, on the page) it comes in: buildings and trees are big,
# hands and dials small; all of them overlap the sizes of lettering.
PROPS: tuple[tuple[Draw, float, float], ...] = (
    (building, 60, 420),
    (building, 40, 300),
    (tree, 40, 400),
    (bush, 30, 260),
    (back_head, 30, 320),
    (back_head, 20, 160),
    (crowd, 14, 90),
    (person, 12, 120),
    (hand, 16, 200),
    (hand, 12, 90),
    (bottles, 24, 220),
    (pole_sign, 60, 420),
    (dial, 14, 160),
)


def scatter_props(img: np.ndarray, rng: Rng, box: Box, n: int) -> None:
    """Draw ``n`` random props inside ``box`` of ``img``, each at a size it comes in on real pages."""
    x0, y0, x1, y1 = box
    if x1 - x0 < 16 or y1 - y0 < 16:
        return
    for _ in range(n):
        draw, lo, hi = PROPS[int(rng.integers(len(PROPS)))]
        size = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        size = min(size, 0.9 * max(x1 - x0, y1 - y0))
        cx, cy = float(rng.uniform(x0, x1)), float(rng.uniform(y0, y1))
        if rng.random() < SOFT_P:  # drawn in soft greys: only what the prop painted is lightened
            layer = img.copy()
            draw(layer, rng, cx, cy, size)
            painted = layer != img
            _soften(layer, float(rng.uniform(*SOFT_RANGE)))
            img[painted] = layer[painted]
        else:
            draw(img, rng, cx, cy, size)
