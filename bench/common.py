"""Shared by the benchmark scripts: a test page and a timer."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

PAGE_SIZE = (2339, 1654)  # A4 at 200 dpi, height × width


def test_page(size: tuple[int, int] = PAGE_SIZE, seed: int = 8_000_001) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic manga page never used in training (RGB uint8) and its true text mask."""
    import cv2
    from textclean_train.synth import make_sample

    s = make_sample(seed, "manga", "heldout", size=size)
    # The generator's print-and-scan step rescales pages; bring it back to the size asked for.
    raw = cv2.resize(s.raw, size[::-1], interpolation=cv2.INTER_AREA)
    mask = cv2.resize(((s.label > 0) * 255).astype(np.uint8), size[::-1], interpolation=cv2.INTER_NEAREST)
    return raw, mask


def median_time(fn: Callable[[], object], repeats: int = 3, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))
