"""A 1000×30000 webtoon strip is cleaned at full resolution, like its pages one at a time (issue 15).

The strip is 20 generated pages of 1000×1500 stacked. Before the fix its
longest side set the working scale, so it was segmented 10× shrunk and came
back mostly masked. Now the scale follows the short side and the strip is
tiled. Tolerances, measured on the shipped weights: the masks of the strip
and of the pages alone differ on under 2% of pixels (tiles see different
context than a page alone: the strip's tiles straddle page joins), and the
cleaned pixels differ by under 2 grey levels on average.

Memory is traced with tracemalloc (numpy's buffers are traced; the
network runtime's own per-tile buffers are not, and do not grow with the
strip). The figure is printed (``pytest -s``) and bounded per page pixel, so
a page-sized float buffer (4 bytes a pixel) coming back would fail.
Measured here (0.3 weights with the blob check): 224 MB peak for the whole clean (7.5 B/px, the
cleaned copy and the mask included) of a strip that is itself 90 MB; segmentation alone peaked at
120 MB. When fonts came to be drawn by foundry group the strip's pages changed, its largest
inpainting crop grew to 902×504 px, and the peak to 252 MB: the structure guide kept a crop-sized
weight map per shift. It now keeps them at the hole's pixels only (the same fill), and the peak is
214 MB (7.1 B/px), of which inpainting 184 MB. Masks differed on 1.09% of pixels (3.41% masked in
the strip, 3.53% page by page) and the cleaned pixels by 1.41 grey levels on average (0.3 weights,
before the font change).

About 3-5 minutes on two busy CPU cores.
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

    pieces = [
        cv2.resize(make_sample(7000 + i, "manga", "heldout", size=PIECE).raw, PIECE[::-1], interpolation=cv2.INTER_AREA)
        for i in range(N)
    ]
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

    (mask, cleaned), peak = _traced(lambda: pipeline.remove_text(image))
    px = h * w
    print(
        f"\n1000×30000 strip: peak traced memory while cleaning {peak / 1e6:.0f} MB ({peak / px:.2f} B/px); "
        f"the strip itself is {image.nbytes / 1e6:.0f} MB"
    )
    # The cleaned copy (3 B/px), the mask and its post-processing steps (1 B/px each), and a constant
    # for a batch of tiles. One float32 page buffer (4 B/px, 120 MB) more would fail this.
    assert peak <= 6.0 * px + 50e6

    # Every other page, cleaned alone, against the same rows of the strip (all 20 double the time).
    rows = [slice(i * PIECE[0], (i + 1) * PIECE[0]) for i in range(0, N, 2)]
    alone = [pipeline.remove_text(pieces[i]) for i in range(0, N, 2)]
    mask_alone = np.concatenate([m for m, _ in alone])
    cleaned_alone = np.concatenate([c for _, c in alone])
    mask_strip = np.concatenate([mask[r] for r in rows])
    cleaned_strip = np.concatenate([cleaned[r] for r in rows])
    disagree = ((mask_strip > 0) != (mask_alone > 0)).mean()
    diff = np.abs(cleaned_strip.astype(np.int16) - cleaned_alone.astype(np.int16))
    print(
        f"masked: strip {(mask_strip > 0).mean():.2%}, pages alone {(mask_alone > 0).mean():.2%}; "
        f"mask disagreement {disagree:.2%}; cleaned mean |diff| {diff.mean():.2f} grey levels"
    )
    assert abs((mask_strip > 0).mean() - (mask_alone > 0).mean()) < 0.01
    assert disagree < 0.02
    assert diff.mean() < 2.0
