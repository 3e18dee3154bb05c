"""The shipped segmenter's quality, in the default suite, so that weights which take art for text cannot land.

Two checks: a real manga spread against its reference mask (when the real pages are on this machine;
they are evaluation data and never live in the repository), and generated text-free pages full of
faces, eyes, hair and dark windows, which must come back nearly unmarked.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from textclean.backend import ModelRunner
from textclean.imagefiles import read_image
from textclean.pipeline import Pipeline

REALPAGES = Path(os.environ.get("TEXTCLEAN_REALPAGES", Path(__file__).resolve().parents[2] / "shared" / "realpages"))
MANGA_SPREAD = "AisazuNihaIrarenai-003"
MIN_PRECISION = 0.85


@pytest.fixture(scope="module")
def shipped() -> Pipeline:
    return Pipeline(ModelRunner("cpu"))  # no allow_untrained: these tests are about the real weights


def test_real_manga_page_precision(shipped):
    from textclean_train.metrics import tolerant_scores

    page = REALPAGES / f"{MANGA_SPREAD}.jpg"
    if not page.exists():
        pytest.skip(f"the real pages are not on this machine ({REALPAGES}); set TEXTCLEAN_REALPAGES")
    mask = shipped.segment(read_image(page))
    ref = cv2.imread(str(REALPAGES / f"{MANGA_SPREAD}.ctd-mask.png"), cv2.IMREAD_GRAYSCALE)
    p, r, f1, *_ = tolerant_scores(mask, ref)
    assert p >= MIN_PRECISION, f"precision {p:.3f} (recall {r:.3f}, F1 {f1:.3f}) on {MANGA_SPREAD}"


@pytest.mark.parametrize("seed", [3_900_000, 3_900_001, 3_900_002])
def test_text_free_art_stays_unmarked(shipped, seed):
    from textclean_train.synth import make_sample

    # The art these bounds were set on (0.2's generator). The digital-manga scenery added since
    # (buildings, trees, heads from behind) is harder: the 0.2 weights mark about 1.6% of such pages,
    # which is what the next training campaign is for (see the model card).
    raw = make_sample(seed, "manga", "heldout", text=False, scenery=False).raw
    mask = shipped.segment(raw)
    share = float((mask > 0).mean())
    # The shipped weights of 0.1 marked 1% of such pages (eyes, hair, windows); a page with no text
    # should lose almost nothing to the inpainter.
    assert share < 0.004, f"{share:.2%} of a text-free page was marked as text"


def test_text_on_generated_pages_is_still_found(shipped):
    """The other side of the coin: precision must not come from marking nothing."""
    from textclean_train.synth import make_sample

    s = make_sample(3_900_010, "manga", "heldout", scenery=False)
    mask = shipped.segment(s.raw) > 0
    text = s.label == 1
    recall = float((mask & text).sum()) / max(1, int(text.sum()))
    assert recall > 0.8, f"recall {recall:.3f} on a generated page"
    assert np.count_nonzero(text) > 500


def test_no_stale_blob_check_ships(shipped):
    """A blob check beside the weights must be the one fitted to the shipped segmenter: the pipeline turns
    a stale one off without a word, so it would ship as dead weight and a card that claims it works."""
    from textclean.blobcheck import FILE, BlobModel
    from textclean.weights import weights_dir

    path = weights_dir() / FILE
    if path.exists():
        fitted_to = BlobModel.load(path).meta.get("segmenter_version")
        assert fitted_to == shipped.runner.versions["segmenter"], f"{path} was fitted to segmenter {fitted_to}"
        assert shipped.blob_model is not None


@pytest.fixture(scope="module")
def unchecked(shipped) -> Pipeline:
    return Pipeline(shipped.runner, blob_model=None)


def test_blob_check_takes_art_and_leaves_text(shipped, unchecked):
    """On generated pages with the digital-manga scenery (held-out fonts, seeds apart from its fitting), the
    blob check must remove marked art and keep found text. Pooled over four pages: one page alone varies
    too much (measured with an earlier fit: art marked 14442 -> 8517 px on one, 16867 -> 16513 on the next)."""
    from textclean_train.synth import make_sample

    if shipped.blob_model is None:
        # 0.4 ships without one: refitted to it, the trees cut nothing (see the model card). A stale
        # check fails test_no_stale_blob_check_ships instead of going quietly unused.
        pytest.skip("no blob check ships with these weights")
    art = np.zeros(2)
    found = np.zeros(2)
    text_px = 0
    for seed in range(3_900_020, 3_900_024):
        s = make_sample(seed, "manga", "heldout")
        near_text = cv2.dilate((s.label > 0).astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
        before = unchecked.segment(s.raw) > 0
        after = shipped.segment(s.raw) > 0
        assert not (after & ~before).any(), "the check only removes"
        text = s.label == 1
        text_px += int(text.sum())
        found += [(before & text).sum(), (after & text).sum()]
        art += [(before & ~near_text).sum(), (after & ~near_text).sum()]
    recall = found / text_px
    # Measured with the shipped 0.3 weights and their check: recall 0.605 -> 0.602, art 28422 -> 22386 px
    # (x0.79). Since fonts are drawn by foundry group these pages differ and hold more thin book-face
    # text, which the check was not fitted on: art 42029 -> 35423 px (x0.84). A check that did nothing
    # would leave x1.0.
    assert recall[1] >= recall[0] - 0.03, f"recall {recall[0]:.3f} -> {recall[1]:.3f}"
    assert art[1] <= 0.9 * art[0], f"art marked: {art[0]:.0f} -> {art[1]:.0f} px"
