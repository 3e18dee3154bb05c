"""Coarse fills that continue what surrounds a hole: the guided inpainter's first stage.

Telea's fill (OpenCV) diffuses the ring's colours inward, so a dot screen
becomes a grey smudge and a line crossing the hole fades out. Printed
screentone, line tone, hatching and straight line art are instead
*self-similar under a few shifts*: a dot screen repeats under its lattice
vectors, a line under shifts along itself. ``continue_structure`` finds those
shifts and copies the pattern into the hole along them:

1. Candidate shifts are the peaks of the autocorrelation of the known,
   high-passed luminance (the FFT computes it for every shift at once,
   normalised by how many known pixels overlap, so the hole does not bias
   it). Low frequencies are removed first so that a tone gradient does not
   look periodic.
2. Each shift is checked *locally*: around every hole pixel, how well the
   known ring matches itself under that shift (a Gaussian-weighted mean
   squared difference over pixel pairs that are both known). A shift that
   carries a panel border or a bubble line across flat paper fails there,
   so it is not used there, while the same shift can continue a dot screen
   elsewhere in the crop.
3. The hole is filled from its rim inward, in passes: a hole pixel takes
   the weighted mean of the pixels its locally valid shifts land on once
   those are known. Copies from both sides of the hole are averaged, so a
   slowly varying tone level is followed.

A lone line that crosses the hole (a border, a balloon's outline) is then
followed through it by ``lines.continue_lines``, where the copies left it.

Where no shift is locally valid (photos, soft shading) the fill is Telea's,
and where the ring around a hole component is a plane up to noise (a tone
gradient, flat paper) it is that plane (``smooth_part``).
``flat_part`` then marks the hole pixels whose fill is locally flat paper or
flat tone, so they are filled exactly and only the real structure is handed
to the network (no ghost of the glyphs' outline in a white sky beside a
border).

``prepare`` is the one place that turns (image, hole) into the network's
input; inference (``textclean.networks``) and training both call it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from .lines import continue_lines

MAX_SHIFT = 26  # screentone periods run to ~12 px; two periods reach across a gap
N_SHIFTS = 12  # autocorrelation peaks kept (each with its mirror image)
MIN_CORRELATION = 0.3  # a weaker peak is noise, not a repeating pattern
MATCH_SCALE = 0.004  # local mean squared difference (in [0, 1]² units) at which a shift's weight falls to 1/e
FLAT_TOLERANCE = 0.06  # a fill pixel this close to its neighbours' level counts as flat
# A shift is trusted near a pixel only where the ring's high-passed pattern really repeats under it
# there (local normalised correlation from LOCAL_NCC, fully at LOCAL_NCC + NCC_RAMP): a smooth photo
# or a gradient matches itself under any short shift, but copying it from a few px away only offsets it.
LOCAL_NCC = 0.6
NCC_RAMP = 0.1
FINE_FLOOR = 0.01  # high-passed RMS (in [0, 1]) under which a ring has no detail to copy; fully trusted at twice it
SMOOTH_RMS = 0.02  # a ring this close (RMS, in [0, 1]) to a plane is smooth shading: filled by the plane
SMOOTH_RING = 4  # width of the ring that the plane is fitted to


def coarse_fill(image: np.ndarray, hole: np.ndarray, radius: int = 3) -> np.ndarray:
    """Telea's fill of ``hole`` in an H×W×3 float image in [0, 1]."""
    image8 = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
    return cv2.inpaint(image8, hole.astype(np.uint8), radius, cv2.INPAINT_TELEA).astype(np.float32) / 255


def _blur(a: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(a, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)


def _shifted(a: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``out[y, x] = a[y + dy, x + dx]``; zero where that falls outside."""
    h, w = a.shape[:2]
    out = np.zeros_like(a)
    ys, yd = (slice(dy, h), slice(0, h - dy)) if dy >= 0 else (slice(0, h + dy), slice(-dy, h))
    xs, xd = (slice(dx, w), slice(0, w - dx)) if dx >= 0 else (slice(0, w + dx), slice(-dx, w))
    out[yd, xd] = a[ys, xs]
    return out


def candidate_shifts(
    lum: np.ndarray, known: np.ndarray, max_shift: int = MAX_SHIFT, count: int = N_SHIFTS
) -> list[tuple[int, int, float]]:
    """(dy, dx, correlation) of the strongest self-similarity shifts of the known pixels."""
    h, w = lum.shape
    k = known.astype(np.float32)
    if k.sum() < 64:
        return []
    low = _blur(lum * k, 3.0) / np.maximum(_blur(k, 3.0), 1e-3)
    hp = (lum - low) * k
    fh, fw = cv2.getOptimalDFTSize(h + max_shift), cv2.getOptimalDFTSize(w + max_shift)
    f_hp = np.fft.rfft2(hp, (fh, fw))
    f_k = np.fft.rfft2(k, (fh, fw))
    f_sq = np.fft.rfft2(hp * hp, (fh, fw))
    num = np.fft.irfft2(f_hp * np.conj(f_hp), (fh, fw))
    # Energy of the overlapping known pixels on each side of the pair, for a normalised correlation.
    e1 = np.fft.irfft2(f_sq * np.conj(f_k), (fh, fw))
    e2 = np.fft.irfft2(f_k * np.conj(f_sq), (fh, fw))
    cnt = np.fft.irfft2(f_k * np.conj(f_k), (fh, fw))
    r = max_shift
    idx_y = np.r_[np.arange(0, r + 1), np.arange(fh - r, fh)]
    idx_x = np.r_[np.arange(0, r + 1), np.arange(fw - r, fw)]
    sub = np.ix_(idx_y, idx_x)
    corr = num[sub] / np.sqrt(np.maximum(e1[sub] * e2[sub], 1e-12))
    enough = cnt[sub] >= 0.25 * cnt[0, 0]
    dys = np.where(idx_y > r, idx_y - fh, idx_y)
    dxs = np.where(idx_x > r, idx_x - fw, idx_x)
    # Centre the lag grid so that neighbours in the array are neighbouring shifts.
    order_y, order_x = np.argsort(dys), np.argsort(dxs)
    corr = corr[order_y][:, order_x]
    enough = enough[order_y][:, order_x]
    dys, dxs = dys[order_y], dxs[order_x]
    dist = np.hypot(dys[:, None], dxs[None, :])
    corr = np.where(enough & (dist >= 2), corr, -1.0).astype(np.float32)
    peaks = (corr >= cv2.dilate(corr, np.ones((3, 3), np.uint8))) & (corr >= MIN_CORRELATION)
    py, px = np.nonzero(peaks)
    found = sorted(((float(corr[y, x]), int(dys[y]), int(dxs[x])) for y, x in zip(py, px)), reverse=True)
    out: list[tuple[int, int, float]] = []
    seen: set[tuple[int, int]] = set()
    for c, dy, dx in found:
        if (dy, dx) in seen:
            continue
        for s in (1, -1):
            out.append((s * dy, s * dx, c))
            seen.add((s * dy, s * dx))
        if len(out) >= 2 * count:
            break
    return out


def continue_structure(image: np.ndarray, hole: np.ndarray, passes: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """(fill, structured): the hole filled by continuing the ring's repeating structure.

    ``fill`` is H×W×3 float32 in [0, 1], equal to ``image`` outside the hole;
    ``structured`` marks the hole pixels filled by shifted copies (the rest are Telea's).
    """
    hole = hole.astype(bool)
    fill = coarse_fill(image, hole)
    structured = np.zeros_like(hole)
    if not hole.any() or hole.all():
        return fill, structured
    lum = image.mean(axis=2).astype(np.float32)
    known = ~hole
    shifts = candidate_shifts(lum, known)
    if not shifts:
        return fill, structured
    k = known.astype(np.float32)
    lum_k = lum * k
    sq_k = lum * lum * k
    hp_k = (lum - _blur(lum_k, 3.0) / np.maximum(_blur(k, 3.0), 1e-3)) * k
    hsq_k = hp_k * hp_k
    # Each shift's weight is kept at the hole's pixels only, the only ones the passes read: a crop-sized
    # map per shift (a dozen or two of them) was most of the memory a large crop took.
    ty, tx = np.nonzero(hole)
    weights = []
    for dy, dx, c in shifts:
        # Σ over known pairs (x, x+d) of (L(x) - L(x+d))², Gaussian-weighted around each pixel,
        # from shifted products so no pair array per shift is kept.
        ks, ls, ss = _shifted(k, dy, dx), _shifted(lum_k, dy, dx), _shifted(sq_k, dy, dx)
        both = k * ks
        sq = sq_k * ks + ss * k - 2 * lum_k * ls
        hs, hss = _shifted(hp_k, dy, dx), _shifted(hsq_k, dy, dx)
        energy = hsq_k * ks + hss * k
        hp_err = energy - 2 * hp_k * hs
        pair = np.dstack([sq, both, hp_err, energy])
        # A narrow window decides near the rim; a broad one reaches the middle of a wide hole.
        near = _blur(pair, 4.0)
        far = cv2.boxFilter(pair, -1, (31, 31), normalize=True, borderType=cv2.BORDER_CONSTANT)
        acc = near + 0.1 * far
        num, den = acc[..., 0], acc[..., 1]
        err = num / np.maximum(den, 1e-4)
        wgt = c * np.exp(-np.maximum(err, 0) / MATCH_SCALE) * (den > 0.02)
        ncc = 1.0 - acc[..., 2] / np.maximum(acc[..., 3], 1e-8)
        wgt = wgt * np.clip((ncc - LOCAL_NCC) / NCC_RAMP, 0, 1)
        # Shading without fine detail correlates with itself under any short shift (the flank of the
        # autocorrelation's central peak): there is nothing to continue, Telea's diffusion does better.
        # A shift under which the ring is identical (flat paper along a border) stays trusted: the copy
        # is exact there, while Telea would pull the border's ink into the hole.
        fine = np.sqrt(np.maximum(acc[..., 3], 0) / (2 * np.maximum(den, 1e-4)))
        exact = err <= (1 / 255) ** 2
        wgt = wgt * np.maximum(np.clip(fine / FINE_FLOOR - 1, 0, 1), exact)
        weights.append(wgt[ty, tx].astype(np.float32) / (1.0 + np.hypot(dy, dx) / 8.0))
    # The passes only ever write hole pixels, so they run on the list of hole pixels and, per shift,
    # the pixels their copies come from: the same sums as over whole-crop arrays, about as many
    # times cheaper as the crop is larger than its hole (this loop was half of a page's inpainting).
    h, w = hole.shape
    value = (image.astype(np.float32) * k[..., None]).reshape(-1, 3)
    filled = known.reshape(-1).copy()
    sources = []
    for (dy, dx, _c), wgt in zip(shifts, weights):
        sy, sx = ty + dy, tx + dx
        inside = (sy >= 0) & (sy < h) & (sx >= 0) & (sx < w)
        sources.append((np.where(inside, sy * w + sx, 0), wgt * inside))
    target = ty * w + tx
    for _ in range(passes):
        open_ = ~filled[target]
        acc = np.zeros((len(target), 3), np.float32)
        wsum = np.zeros(len(target), np.float32)
        for src, wgt in sources:
            wv = wgt * filled[src] * open_
            if not wv.any():
                continue
            acc += wv[:, None] * value[src]
            wsum += wv
        new = open_ & (wsum > 0.05)
        if not new.any():
            break
        value[target[new]] = acc[new] / wsum[new, None]
        filled[target[new]] = True
    filled = filled.reshape(h, w)
    value = value.reshape(h, w, 3)
    structured = filled & hole
    fill[structured] = value[structured]
    return np.clip(fill, 0, 1), structured


def flat_part(fill: np.ndarray, hole: np.ndarray, grow: int = 3) -> np.ndarray:
    """Hole pixels whose fill is flat within ``grow`` px: fill them exactly, hand the rest to the network."""
    hole = hole.astype(bool)
    kernel = np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)
    spread = (cv2.dilate(fill, kernel) - cv2.erode(fill, kernel)).max(axis=2)
    return hole & (spread <= FLAT_TOLERANCE)


def plane_fill(rgb: np.ndarray, ring: np.ndarray, where: np.ndarray) -> tuple[np.ndarray, float]:
    """(values at ``where``, residual): a plane per channel, least squares over the ``ring`` pixels.

    ``residual`` is the ring's RMS distance from its plane (the worst
    channel), or a fifth of its largest distance if that is more: noise
    stays within about 4 RMS, a line crossing the ring does not. A flat or
    smoothly shaded ring is a plane up to noise; filling with the plane
    rather than diffusing the ring inward (Telea) keeps a tone gradient's
    slope and averages the ring's noise away instead of streaking it into
    the hole.
    """
    ys, xs = np.nonzero(ring)
    qy, qx = np.nonzero(where)
    # Centred and scaled coordinates keep the normal equations well conditioned.
    cy, cx, sc = ys.mean(), xs.mean(), max(float(np.ptp(ys)), float(np.ptp(xs)), 1.0)
    design = np.stack([np.ones(len(ys)), (ys - cy) / sc, (xs - cx) / sc], 1)
    values = rgb[ring].astype(np.float64)
    coef, *_ = np.linalg.lstsq(design, values, rcond=None)
    off = np.abs(design @ coef - values)
    # RMS, unless a few pixels are far off the plane (a border or a line grazing the ring): then the worst.
    residual = float(max(np.sqrt((off**2).mean(axis=0)).max(), off.max() / 5))
    query = np.stack([np.ones(len(qy)), (qy - cy) / sc, (qx - cx) / sc], 1)
    return np.clip(query @ coef, 0, 1).astype(np.float32), residual


def hole_rings(hole: np.ndarray, ring_px: int) -> Iterator[tuple[tuple[slice, slice], np.ndarray, np.ndarray]]:
    """(box, component, ring) for each connected hole component: its bounding box grown by ``ring_px``,
    the component within the box, and the known pixels within ``ring_px`` of it."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(hole.astype(np.uint8), connectivity=8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ring_px + 1,) * 2)
    h, w = hole.shape
    for i in range(1, n):
        x, y, bw, bh = (int(v) for v in stats[i, :4])
        box = (
            slice(max(0, y - ring_px), min(h, y + bh + ring_px)),
            slice(max(0, x - ring_px), min(w, x + bw + ring_px)),
        )
        comp = labels[box] == i
        yield box, comp, (cv2.dilate(comp.astype(np.uint8), kernel) > 0) & ~hole[box]


def smooth_part(image: np.ndarray, hole: np.ndarray, fill: np.ndarray, ring_px: int = SMOOTH_RING) -> np.ndarray:
    """Hole components whose known ring is a plane up to noise; ``fill`` takes the plane there (in place)."""
    smooth = np.zeros_like(hole)
    for box, comp, ring in hole_rings(hole, ring_px):
        if ring.sum() < 16:
            continue
        values, residual = plane_fill(image[box], ring, comp)
        if residual <= SMOOTH_RMS:
            fill[box][comp] = values
            smooth[box] |= comp
    return smooth


@dataclass
class Prepared:
    """What the inpainting network sees for one crop."""

    image: np.ndarray  # H×W×3 float32; flat-filled pixels already painted
    hole: np.ndarray  # H×W bool: what is left for the network
    guide: np.ndarray  # H×W×3 float32: the structure-continuing coarse fill
    flat: np.ndarray  # H×W bool: hole pixels filled flat, not the network's job
    settled: np.ndarray  # H×W bool: hole pixels whose output is the guide's (``flat`` and more)
    structured: np.ndarray  # H×W bool: hole pixels the guide filled by continuing a repeating structure


def prepare(image: np.ndarray, hole: np.ndarray) -> Prepared:
    """The inpainter's preprocessing, exactly as it ships; training validates and trains through it.

    ``flat`` (flat within 3 px) leaves the network's hole, so the network sees
    it as known paper. ``settled`` also covers hole pixels flat within 1 px:
    the network still sees those as hole, for context, but its output there
    is replaced by the guide, so it cannot paint a faint outline along a
    border that the guide already continued exactly. ``settled`` also
    covers components whose ring is smooth shading (``smooth_part``: the
    guide there is the ring's plane) and the pixels the guide filled by
    continuing a repeating structure: on ``bench/inpainting.py`` the
    network's correction of those lost PSNR on every background.
    """
    hole = hole.astype(bool)
    guide, structured = continue_structure(image, hole)
    structured |= continue_lines(image, hole, guide, keep=structured)
    smooth = smooth_part(image, hole, guide)
    structured &= ~smooth
    flat = flat_part(guide, hole)
    painted = image.astype(np.float32, copy=True)
    painted[flat] = guide[flat]
    settled = flat_part(guide, hole, grow=1) | smooth | structured
    return Prepared(painted, hole & ~flat, guide, flat, settled, structured)
