"""The manga-background negatives: buildings, trees, people from behind, hands and street clutter.

They exist so the segmenter learns to leave them alone, so they must reach the generated pages, stay
the same for a seed on any machine, and never be labelled text.
"""

from __future__ import annotations

import numpy as np
import pytest
from textclean_train import scenery
from textclean_train.synth import make_sample


@pytest.mark.parametrize("draw", sorted({d for d, _lo, _hi in scenery.PROPS}, key=lambda d: d.__name__))
def test_each_prop_inks_near_where_asked_and_repeats_for_a_seed(draw):
    images = []
    for _ in range(2):
        img = np.ones((300, 300), np.float32)
        draw(img, np.random.default_rng(3), 150.0, 150.0, 90.0)
        images.append(img)
    assert np.array_equal(images[0], images[1]), draw.__name__
    ink = images[0] < 0.5
    assert ink.sum() > 30, draw.__name__
    ys, xs = np.nonzero(ink)
    assert abs(ys.mean() - 150) < 80 and abs(xs.mean() - 150) < 80, draw.__name__


def test_street_scene_fills_a_panel_with_ink_and_tone():
    view = np.ones((400, 300), np.float32)
    scenery.street_scene(view, np.random.default_rng(8))
    assert (view < 0.3).mean() > 0.03  # dark panes, outlines
    assert ((view > 0.3) & (view < 0.9)).mean() > 0.02  # grey walls or tone


def test_pages_get_scenery_and_stay_text_free(monkeypatch):
    calls = {"street_scene": 0, "scatter_props": 0}
    for name in calls:
        real = getattr(scenery, name)

        def counted(*args, _real=real, _name=name, **kw):
            calls[_name] += 1
            return _real(*args, **kw)

        monkeypatch.setattr(scenery, name, counted)
    for seed in range(38, 45):
        kind = "manga" if seed % 3 else "colour"
        a = make_sample(seed, kind, "train", size=(640, 480), text=False)
        b = make_sample(seed, kind, "train", size=(640, 480), text=False)
        assert np.array_equal(a.raw, b.raw), seed
        assert not a.label.any(), seed  # all 0: nothing on a text-free page is text
        assert np.array_equal(a.raw, a.clean), seed
    assert calls["street_scene"] >= 1 and calls["scatter_props"] >= 1, calls
