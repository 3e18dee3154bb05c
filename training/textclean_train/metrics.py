"""Validation figures: pixel P/R/F1/IoU for masks, PSNR and SSIM inside holes."""

from __future__ import annotations

import cv2
import numpy as np

IGNORE = 255


TOLERANCE_PX = 3


class MaskCounts:
    """Accumulates true/false positives over a validation set, ignoring label 255.

    Two precisions are kept. *Strict*: every predicted pixel off the text is
    a false positive. *Tolerant* (the benchmark's rule): a predicted pixel
    within ``TOLERANCE_PX`` of text is not a false positive, because the
    pipeline grows the mask by a few pixels anyway and repainting a clean
    pixel next to a glyph costs nothing visible.
    """

    def __init__(self, thresholds: tuple[float, ...] = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)) -> None:
        self.thresholds = thresholds
        self.tp = np.zeros(len(thresholds))
        self.fp = np.zeros(len(thresholds))
        self.fp_far = np.zeros(len(thresholds))
        self.fn = np.zeros(len(thresholds))
        r = TOLERANCE_PX
        self._near = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))

    def add(self, prob: np.ndarray, label: np.ndarray) -> None:
        valid = label != IGNORE
        text = (label == 1) & valid
        far = cv2.dilate((label > 0).astype(np.uint8), self._near) == 0
        for i, t in enumerate(self.thresholds):
            pred = (prob >= t) & valid
            self.tp[i] += np.count_nonzero(pred & text)
            self.fp[i] += np.count_nonzero(pred & ~text)
            self.fp_far[i] += np.count_nonzero(pred & far)
            self.fn[i] += np.count_nonzero(~pred & text)

    def at(self, threshold: float) -> dict[str, float]:
        i = self.thresholds.index(threshold)
        tp, fp, fn, fp_far = self.tp[i], self.fp[i], self.fn[i], self.fp_far[i]
        p = tp / max(1.0, tp + fp)
        r = tp / max(1.0, tp + fn)
        pt = tp / max(1.0, tp + fp_far)
        figures = {
            "precision": p,
            "recall": r,
            "f1": 2 * p * r / max(1e-9, p + r),
            "iou": tp / max(1.0, tp + fp + fn),
            "tolerant_precision": pt,
            "tolerant_f1": 2 * pt * r / max(1e-9, pt + r),
        }
        return {k: float(v) for k, v in figures.items()}  # plain floats: checkpoints load weights_only

    def best(self) -> tuple[float, dict[str, float]]:
        return max(((t, self.at(t)) for t in self.thresholds), key=lambda x: x[1]["f1"])


def tolerant_scores(
    mask: np.ndarray, reference: np.ndarray, px: int = TOLERANCE_PX
) -> tuple[float, float, float, np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and F1 of a page mask against a reference, with a ``px`` tolerance.

    A marked pixel within ``px`` of reference text is not a false positive, and a reference pixel within
    ``px`` of a marked one counts as found (reference masks disagree on rims by a pixel or two). Also
    returns the found, false and missed maps (bool) for overlays.
    """
    pred, ref = mask > 0, reference > 0
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    near_ref = cv2.dilate(ref.astype(np.uint8), disk) > 0
    near_pred = cv2.dilate(pred.astype(np.uint8), disk) > 0
    found, false = pred & near_ref, pred & ~near_ref
    missed = ref & ~near_pred
    p = float(found.sum()) / max(1, int(pred.sum()))
    r = float((ref & near_pred).sum()) / max(1, int(ref.sum()))
    return p, r, 2 * p * r / max(1e-9, p + r), found, false, missed


def overlay(rgb: np.ndarray, found: np.ndarray, false: np.ndarray, missed: np.ndarray) -> np.ndarray:
    """The image dimmed, with found text green, false positives red and missed text blue."""
    out = (rgb.astype(np.float32) * 0.55 + 255 * 0.45).astype(np.uint8)
    out[found] = (0, 170, 0)
    out[false] = (230, 0, 0)
    out[missed] = (0, 60, 255)
    return out


def psnr_in(pred: np.ndarray, target: np.ndarray, hole: np.ndarray) -> float:
    """PSNR over hole pixels only; images in [0, 1]."""
    m = hole.astype(bool)
    if not m.any():
        return float("nan")
    mse = float(np.mean((pred[m].astype(np.float64) - target[m]) ** 2))
    return 10 * np.log10(1.0 / max(mse, 1e-10))


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Wang et al. 2004 SSIM with an 11-px Gaussian window, per pixel; gray inputs in [0, 1]."""
    c1, c2 = 0.01**2, 0.03**2
    a, b = a.astype(np.float64), b.astype(np.float64)

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (11, 11), 1.5)

    mu_a, mu_b = blur(a), blur(b)
    va = blur(a * a) - mu_a**2
    vb = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (va + vb + c2))


def ssim_in(pred: np.ndarray, target: np.ndarray, hole: np.ndarray) -> float:
    m = hole.astype(bool)
    if not m.any():
        return float("nan")
    g = (lambda x: x.mean(axis=2)) if pred.ndim == 3 else (lambda x: x)
    return float(ssim_map(g(pred), g(target))[m].mean())
