"""A second look at each blob of the mask: does it look like text, or like art?

The segmenter judges each pixel from a window of a few hundred pixels. On real pages it still
marks eyes, mouths, hair, foliage and dark windows, often with high confidence, because in that
window a dark iris looks like a glyph. What tells them apart is what the window misses: lettering
sits on a quiet background (a balloon, a caption box, an outline), has one stroke width, is ink
against that background, and comes in lines of blobs of one height. Art blobs sit in busy
surroundings and are alone.

``blob_features`` measures that for each 8-connected blob of a thresholded mask; a small ensemble
of regression trees (``BlobModel``), trained on generated pages where the truth is known
(``textclean_train.train_blobcheck``), turns the measures into a score, and ``drop_art`` removes
the blobs that score below the model's cut. The trees are evaluated with numpy, so the daemon
needs nothing beyond what it already imports.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from . import weights as weights_mod

log = logging.getLogger(__name__)
FILE = "blobcheck.json"

# Order matters: the trees index features by position. Bump FEATURE_VERSION when it changes.
FEATURES = (
    "log_area",
    "log_height",
    "log_width",
    "aspect",
    "fill",
    "prob_mean",
    "prob_p90",
    "prob_high",
    "ring_median",
    "ring_spread",
    "ring_chroma",
    "context_spread",
    "context_edges",
    "ink_dark",
    "ink_light",
    "inside_chroma",
    "inside_edges",
    "stroke_width",
    "stroke_cv",
    "stroke_rel",
    "ink_parts",
    "ink_part_spread",
    "neighbours",
    "similar_neighbours",
    "nearest_gap",
    "page_share",
)
FEATURE_VERSION = 2
_INK = 40.0  # luminance difference from the ring's median that counts as ink (of 255)


def _disk(r: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def _neighbour_features(stats: np.ndarray, pairs: int = 200_000) -> np.ndarray:
    """Per blob: (log 1 + blobs near it, log 1 + near ones of similar size, log nearest gap / size).

    Near is a centre within three times the blob's larger side; similar size is a larger side within
    a factor of two. Text lines and columns give many similar neighbours, an eye or a lock of hair
    few. Pairs are compared in chunks of rows, about ``pairs`` at a time (a few MB of temporaries).
    """
    n = len(stats)
    out = np.zeros((n, 3), np.float32)
    if n == 0:
        return out
    x, y = stats[:, 0].astype(np.float64), stats[:, 1].astype(np.float64)
    w, h = stats[:, 2].astype(np.float64), stats[:, 3].astype(np.float64)
    cx, cy, side = x + w / 2, y + h / 2, np.maximum(w, h)
    chunk = max(1, pairs // n)
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        dx = np.abs(cx[None, :] - cx[a:b, None])
        dy = np.abs(cy[None, :] - cy[a:b, None])
        near = np.hypot(dx, dy) <= 3.0 * side[a:b, None]
        ratio = side[None, :] / side[a:b, None]
        similar = near & (ratio >= 0.5) & (ratio <= 2.0)
        # The gap between boxes, not centres, relative to the blob's size: glyphs of a line nearly touch.
        gap = np.hypot(
            np.maximum(0, dx - (w[None, :] + w[a:b, None]) / 2), np.maximum(0, dy - (h[None, :] + h[a:b, None]) / 2)
        )
        self_ = np.arange(a, b)
        near[self_ - a, self_] = False
        similar[self_ - a, self_] = False
        gap[self_ - a, self_] = np.inf
        nearest = np.minimum(8.0, gap.min(axis=1) / side[a:b] + 0.05)
        out[a:b, 0] = np.log1p(near.sum(axis=1))
        out[a:b, 1] = np.log1p(similar.sum(axis=1))
        out[a:b, 2] = np.log(nearest)
    return out


def _grouped_quantile(keys: np.ndarray, values: np.ndarray, n: int, q: float, scale: float = 1.0) -> np.ndarray:
    """The ``q`` quantile (lower) of ``values`` per key 0..n-1, 0 where a key has none.

    Values are rounded to steps of 1/``scale`` (all are 0..255 here) and packed with their key into
    one integer, so one plain sort groups and orders them (a lexsort was a third of the run).
    """
    out = np.zeros(n, np.float64)
    if not len(keys):
        return out
    v = np.rint(np.asarray(values, np.float64) * scale).astype(np.int64)
    span = int(v.max()) + 1
    packed = np.sort(keys.astype(np.int64) * span + v)
    counts = np.bincount(keys, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    has = counts > 0
    out[has] = (packed[starts[has] + (q * (counts[has] - 1)).astype(np.int64)] % span) / scale
    return out


def _grouped_mean(keys: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    counts = np.bincount(keys, minlength=n)
    return np.bincount(keys, weights=values.astype(np.float64), minlength=n) / np.maximum(counts, 1)


def _grouped_mean_std(keys: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean, standard deviation) of ``values`` per key 0..n-1, 0 where a key has none."""
    values = values.astype(np.float64)
    mean = _grouped_mean(keys, values, n)
    return mean, np.sqrt(np.maximum(0, _grouped_mean(keys, values * values, n) - mean**2))


def blob_features(rgb: np.ndarray, prob: np.ndarray, binary: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labels, stats, features) of the 8-connected blobs of ``binary`` (nonzero = text).

    ``rgb`` (uint8 H×W×3) and ``prob`` (uint8 0..255) are at the mask's scale. ``labels`` and
    ``stats`` are OpenCV's, row 0 the background; ``features`` has a row per blob (label 1..n) in
    ``FEATURES`` order. Every measure is a grouped reduction over the page's pixels (no loop over
    blobs), so a page with a thousand specks costs about what one with ten does.
    """
    n, labels, stats, _ = cv2.connectedComponentsWithStats((binary > 0).astype(np.uint8), connectivity=8)
    nb = max(0, n - 1)
    feats = np.zeros((nb, len(FEATURES)), np.float32)
    if nb == 0:
        return labels, stats, feats
    H, W = binary.shape
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    grayf = gray.astype(np.float32)
    r, g, b = cv2.split(rgb)
    chroma = cv2.subtract(cv2.max(cv2.max(r, g), b), cv2.min(cv2.min(r, g), b))
    edges = cv2.magnitude(cv2.Sobel(grayf, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(grayf, cv2.CV_32F, 0, 1, ksize=3))
    edges = edges > 120.0
    inside = labels > 0
    m8 = inside.astype(np.uint8)
    off_blobs = cv2.dilate(m8, _disk(1)) == 0
    # The ring (1-4 px out) and the context (up to 12 px out) of each blob: its pixels are given to the
    # blob with the largest label among those near (a grey dilation of the labels); where two blobs are
    # that close they are almost always parts of one line of text anyway.
    labf = labels.astype(np.uint16 if n < 65536 else np.float32)  # dilated below; exact either way
    ring = off_blobs & (cv2.dilate(m8, _disk(4)) > 0)
    ring_owner = cv2.dilate(labf, _disk(4))[ring].astype(np.int64)
    ctx = off_blobs & (cv2.dilate(m8, np.ones((25, 25), np.uint8)) > 0)
    ctx_owner = cv2.dilate(labf, np.ones((25, 25), np.uint8))[ctx].astype(np.int64)

    ring_gray = gray[ring].astype(np.float64)
    med = _grouped_quantile(ring_owner, ring_gray, n, 0.5)
    spread = _grouped_quantile(ring_owner, np.abs(ring_gray - med[ring_owner]), n, 0.5, scale=4.0)
    ring_chroma = _grouped_mean(ring_owner, chroma[ring], n)
    _ctx_mean, ctx_std = _grouped_mean_std(ctx_owner, grayf[ctx], n)
    ctx_edges = _grouped_mean(ctx_owner, edges[ctx], n)

    lab_in = labels[inside].astype(np.int64)
    g_in = grayf[inside]
    p_u8 = prob[inside]
    p_in = p_u8.astype(np.float64) / 255.0
    ref = med[lab_in]
    dark_px = g_in < ref - _INK
    light_px = g_in > ref + _INK
    dark = _grouped_mean(lab_in, dark_px, n)
    light = _grouped_mean(lab_in, light_px, n)
    # The ink of each blob: the polarity it has more of (dark glyphs on paper, or white on black).
    ink_in = np.where((dark >= light)[lab_in], dark_px, light_px)
    ink = np.zeros((H, W), np.uint8)
    ink[inside] = ink_in
    dt = cv2.distanceTransform(ink, cv2.DIST_L2, 3)
    ridge = (ink > 0) & (dt >= cv2.dilate(dt, np.ones((3, 3), np.uint8)) - 1e-6)
    r_lab = labels[ridge].astype(np.int64)
    r_dt = dt[ridge].astype(np.float64)
    sw = 2.0 * _grouped_quantile(r_lab, r_dt, n, 0.5, scale=16.0)
    r_mean, r_std = _grouped_mean_std(r_lab, r_dt, n)
    # Lettering is many glyphs (or strokes) of one height; an eye or a lock of hair is one shape.
    k_ink, ink_lab, ist, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    owner = np.zeros(k_ink, np.int64)
    owner[ink_lab[ink > 0]] = labels[ink > 0]
    big = np.nonzero(ist[:, cv2.CC_STAT_AREA] >= 3)[0]
    big = big[big > 0]
    parts = np.bincount(owner[big], minlength=n)
    h_mean, h_std = _grouped_mean_std(owner[big], ist[big, cv2.CC_STAT_HEIGHT], n)

    area = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    w = stats[:, cv2.CC_STAT_WIDTH].astype(np.float64)
    h = stats[:, cv2.CC_STAT_HEIGHT].astype(np.float64)
    cols = {
        "log_area": np.log(area),
        "log_height": np.log(h),
        "log_width": np.log(w),
        "aspect": np.log(w / h),
        "fill": area / (w * h),
        "prob_mean": _grouped_mean(lab_in, p_in, n),
        "prob_p90": _grouped_quantile(lab_in, p_u8, n, 0.9) / 255.0,
        "prob_high": _grouped_mean(lab_in, p_in >= 0.8, n),
        "ring_median": med / 255.0,
        "ring_spread": spread / 255.0,
        "ring_chroma": ring_chroma / 255.0,
        "context_spread": ctx_std / 255.0,
        "context_edges": ctx_edges,
        "ink_dark": dark,
        "ink_light": light,
        "inside_chroma": _grouped_mean(lab_in, chroma[inside], n) / 255.0,
        "inside_edges": _grouped_mean(lab_in, edges[inside], n),
        "stroke_width": sw,
        "stroke_cv": r_std / (r_mean + 1e-6),
        "stroke_rel": sw / np.maximum(1.0, np.minimum(w, h)),
        "ink_parts": np.log1p(parts),
        "ink_part_spread": np.where(parts > 1, h_std / (h_mean + 1e-6), 0.0),
        "page_share": area / float(H * W) * 1000.0,
    }
    neigh = _neighbour_features(stats[1:])
    for j, name in enumerate(FEATURES):
        if name in cols:
            feats[:, j] = cols[name][1:]
    for j, name in enumerate(("neighbours", "similar_neighbours", "nearest_gap")):
        feats[:, FEATURES.index(name)] = neigh[:, j]
    return labels, stats, feats


@dataclass
class BlobModel:
    """Gradient-boosted regression trees over ``FEATURES``: score = base + Σ tree(x), as log-odds.

    Each tree is stored as flat arrays (feature, threshold, left, right, value), as scikit-learn
    keeps them; a leaf has left == -1.
    """

    base: float
    trees: list[dict[str, np.ndarray]]
    cut: float  # blobs whose probability of being text is below this are dropped
    meta: dict

    @classmethod
    def load(cls, path: str | Path) -> "BlobModel":
        with open(path) as f:
            d = json.load(f)
        if d.get("feature_version") != FEATURE_VERSION or list(d.get("features", [])) != list(FEATURES):
            raise ValueError(f"{path}: made for other blob features; retrain it (textclean_train.train_blobcheck)")
        return cls.load_dict(d)

    @classmethod
    def load_dict(cls, d: dict) -> "BlobModel":
        trees = [
            {
                "feature": np.asarray(t["feature"], np.int32),
                "threshold": np.asarray(t["threshold"], np.float64),
                "left": np.asarray(t["left"], np.int32),
                "right": np.asarray(t["right"], np.int32),
                "value": np.asarray(t["value"], np.float64),
            }
            for t in d["trees"]
        ]
        return cls(float(d["base"]), trees, float(d["cut"]), d.get("meta", {}))

    def to_json(self) -> dict:
        return {
            "feature_version": FEATURE_VERSION,
            "features": list(FEATURES),
            "base": self.base,
            "cut": self.cut,
            "meta": self.meta,
            "trees": [{k: v.tolist() for k, v in t.items()} for t in self.trees],
        }

    def probability(self, x: np.ndarray) -> np.ndarray:
        """P(text) for each row of ``x`` (n × len(FEATURES))."""
        score = np.full(len(x), self.base, np.float64)
        rows = np.arange(len(x))
        for t in self.trees:
            node = np.zeros(len(x), np.int32)
            # Every row walks down at once; a tree of depth d needs d steps.
            while True:
                inner = t["left"][node] >= 0
                if not inner.any():
                    break
                f = t["feature"][node[inner]]
                go_left = x[rows[inner], f] <= t["threshold"][node[inner]]
                node[inner] = np.where(go_left, t["left"][node[inner]], t["right"][node[inner]])
            score += t["value"][node]
        return 1.0 / (1.0 + np.exp(-score))


def drop_art(rgb: np.ndarray, prob: np.ndarray, binary: np.ndarray, model: BlobModel) -> int:
    """Clear (in place) the blobs of ``binary`` that ``model`` judges art; returns how many."""
    labels, _stats, feats = blob_features(rgb, prob, binary)
    if not len(feats):
        return 0
    art = np.nonzero(model.probability(feats) < model.cut)[0] + 1
    if len(art):
        binary[np.isin(labels, art)] = 0
    return len(art)


def shipped_for(runner: object) -> BlobModel | None:
    """The shipped blob check if it was fitted to ``runner``'s segmenter, else None (no check).

    The trees learnt one segmenter's mistakes; given other weights (a training checkpoint, a user's
    own), the check stays off rather than judge blobs it was not made for.
    """
    path = weights_mod.weights_dir() / FILE
    if not path.exists():
        return None
    try:
        model = BlobModel.load(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("blob check off: %s does not load (%s)", path, exc)
        return None
    version = getattr(runner, "versions", {}).get("segmenter")
    if model.meta.get("segmenter_version") != version:
        log.info(
            "blob check off: %s was fitted to segmenter %s, not %s", path, model.meta.get("segmenter_version"), version
        )
        return None
    return model
