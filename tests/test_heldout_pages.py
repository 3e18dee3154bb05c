"""The whole-page validation's counting (bench/heldout_pages.py), and the bubble fill's lace cut."""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))

from heldout_pages import page_counts, scores  # noqa: E402
from textclean.bubbles import _without_lace  # noqa: E402


def _label() -> np.ndarray:
    label = np.zeros((60, 80), np.uint8)
    label[20:30, 10:40] = 1
    label[40:45, 50:70] = 255  # ignored: JPEG ringing
    return label


def test_exact_mask_scores_one_and_ignored_pixels_count_for_neither_side():
    label = _label()
    mask = np.where(label > 0, 255, 0).astype(np.uint8)  # also marks the ignored pixels
    f = scores(page_counts(mask, label))
    assert f["strict_precision"] == f["strict_recall"] == f["tolerant_f1"] == 1.0


def test_tolerance_forgives_a_shift_of_two_pixels_but_not_art_far_away():
    label = _label()
    shifted = np.zeros_like(label)
    shifted[22:32, 10:40] = 255
    f = scores(page_counts(shifted, label))
    assert f["strict_precision"] < 0.9 and f["tolerant_precision"] == 1.0 and f["tolerant_recall"] == 1.0
    shifted[0:10, 60:80] = 255  # an eye, far from any text
    g = scores(page_counts(shifted, label))
    assert g["tolerant_precision"] == 300 / 500 and g["tolerant_recall"] == 1.0
    # Pooled over pages, not averaged: two pages' counts add.
    assert scores(page_counts(shifted, label) + page_counts(shifted, label)) == g


def test_a_balloon_fill_loses_the_lace_it_leaked_into():
    region = np.zeros((80, 120), bool)
    region[10:60, 10:60] = True  # the balloon's inside
    region[30:33, 60:110] = True  # a 3-px channel out past the outline
    region[20:50, 100:110:2] = True  # and lace between dots beyond it
    body = _without_lace(region)
    assert body[12:58, 12:58].all()
    assert not body[:, 62:].any()
    assert not _without_lace(np.eye(30, dtype=bool)).any()  # all lace: no balloon


def test_text_free_benchmark_pages_hold_no_text():
    # bench/textfree_pages.py counts every marked pixel as art; that holds only if its pages have none.
    from textclean_train.synth import make_sample
    from textfree_pages import SEED

    for i, kind in ((0, "manga"), (2, "colour")):
        s = make_sample(SEED + i, kind, split="heldout", text=False, size=(400, 300))
        assert not s.label.any() and np.array_equal(s.raw, s.clean)
        assert s.raw.std() > 5  # art, not a blank page


def test_kinds_name_every_text_pixel_and_leave_the_page_as_it_was():
    from textclean_train.synth import KINDS, make_sample

    seen = set()
    for seed, kind, dense in ((2_000_000, "manga", False), (2_000_002, "colour", False), (4_000_001, "manga", True)):
        plain = make_sample(seed, kind, split="heldout", dense=dense)
        s = make_sample(seed, kind, split="heldout", dense=dense, kinds=True)
        assert plain.kinds is None
        assert np.array_equal(s.raw, plain.raw) and np.array_equal(s.label, plain.label)
        text = s.label == 1
        assert (s.kinds[text] > 0).mean() > 0.99 and not s.kinds[~text].any()
        seen |= {KINDS[k] for k in np.unique(s.kinds[text])}
    assert {"balloon", "sfx", "line on the art", "body text column"} <= seen


def test_by_kind_recall_blames_the_kind_that_was_missed():
    from heldout_pages import kind_counts, kind_table
    from textclean_train.synth import KINDS

    label = _label()
    kinds = np.zeros_like(label)
    kinds[20:30, 10:25] = KINDS.index("balloon")
    kinds[20:30, 25:40] = KINDS.index("sfx")
    mask = np.zeros_like(label)
    mask[20:30, 10:25] = 255  # the balloon's text, not the SFX more than 3 px from it
    text, found = kind_counts(mask, label, kinds)
    assert text[KINDS.index("balloon")] == text[KINDS.index("sfx")] == 150
    assert found[KINDS.index("balloon")] == 150 and found[KINDS.index("sfx")] == 30  # 3 px tolerance: 3 columns of 10
    rows = kind_table(np.stack([text, found]))
    assert rows[2] == "| sfx | 0.500 | 0.200 | 1.000 |" and rows[3] == "| balloon | 0.500 | 1.000 | 0.000 |"
