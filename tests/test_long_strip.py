"""A 1000×30000 webtoon strip is cleaned at full resolution, like its pages one at a time (issue 15).

The strip is 20 generated pages of 1000×1500 stacked. Before the fix its
longest side set the working scale, so it was segmented 10× shrunk and came
back mostly masked. Now the scale follows the short side and the strip is
tiled. Tolerances, measured on the shipped weights: the masks of the strip
and of the pages alone differ on under 2% of pixels (tiles see different
context than a page alone: the strip's tiles straddle page joins), and the
cleaned pixels differ by under 2 grey levels on average.

Memory is traced with tracemalloc (numpy's buffers are traced; the
network's own per-tile buffers are not, and do not grow with the strip).
The figures are printed (``pytest -s``) and bounded per page pixel, so a
page-sized float buffer (4 bytes a pixel) coming back would fail. Measured
here: segmentation 120 MB (1 B/px of result plus ~90 MB that does not grow
with the strip), the whole clean 158 MB (5.3 B/px, the cleaned copy and the
mask included), for a strip that is itself 90 MB.

About 2-4 minutes on two CPU cores.
"""

import tracemalloc

import cv2
import numpy as np
import pytest

PIECE = (1500, 1000)
N = 20


@pytest.fixture(scope="module")
def strip():
    from textclean_train.synth import make_sample

    pieces = [cv2.resize(make_sample(7000 + i, "manga", "heldout", size=PIECE).raw, PIECE[::-1],
                         interpolation=cv2.INTER_AREA) for i in range(N)]
    return np.concatenate(pieces), pieces


def _traced(fn):
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_long_strip_matches_its_pages_with_bounded_memory(pipeline, strip):
    image, pieces = strip
    h, w = image.shape[:2]
    assert (h, w) == (30000, 1000)
    assert pipeline.working_factor((h, w)) == 1

    (prob, k), seg_peak = _traced(lambda: pipeline.probabilities(image))
    assert k == 1 and prob.shape == (h, w)
    (mask, cleaned), peak = _traced(lambda: pipeline.remove_text(image))
    px = h * w
    print(f"\n1000×30000 strip: segmentation peak {seg_peak / 1e6:.0f} MB ({seg_peak / px:.2f} B/px), "
          f"clean peak {peak / 1e6:.0f} MB ({peak / px:.2f} B/px); the strip itself is {image.nbytes / 1e6:.0f} MB")
    # Probabilities: the uint8 result (1 B/px) plus a constant: a few tile rows of float sums and
    # one batch of network input and output (~90 MB here). One float32 page buffer would add 120 MB.
    assert seg_peak <= 1.0 * px + 130e6
    # Cleaning: the cleaned copy (3 B/px) and the mask with its post-processing steps (1 B/px each).
    assert peak <= 6.0 * px + 50e6

    alone = [pipeline.remove_text(p) for p in pieces]
    mask_alone = np.concatenate([m for m, _ in alone])
    cleaned_alone = np.concatenate([c for _, c in alone])
    disagree = ((mask > 0) != (mask_alone > 0)).mean()
    diff = np.abs(cleaned.astype(np.int16) - cleaned_alone.astype(np.int16))
    print(f"masked: strip {(mask > 0).mean():.2%}, pages alone {(mask_alone > 0).mean():.2%}; "
          f"mask disagreement {disagree:.2%}; cleaned mean |diff| {diff.mean():.2f} grey levels")
    assert abs((mask > 0).mean() - (mask_alone > 0).mean()) < 0.01
    assert disagree < 0.02
    assert diff.mean() < 2.0
