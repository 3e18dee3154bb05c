"""The blob check: its trees, its measures, and when it is used.

Whether the shipped check removes art and keeps text is in test_model_quality.py, with the weights.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from textclean import blobcheck
from textclean.backend import ModelRunner
from textclean.masks import MaskParams
from textclean.pipeline import Pipeline


def test_trees_give_scikit_learns_probabilities():
    """The numpy walk over exported trees is the fitted model, not an approximation of it."""
    sklearn = pytest.importorskip("sklearn.ensemble")
    from textclean_train.train_blobcheck import export_trees

    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, len(blobcheck.FEATURES))).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 3] * x[:, 5] + rng.normal(scale=0.3, size=600)) > 0.2
    gb = sklearn.GradientBoostingClassifier(n_estimators=30, max_depth=3, subsample=0.8, random_state=0)
    gb.fit(x, y, sample_weight=rng.uniform(1, 5, 600))
    base, trees = export_trees(gb)
    model = blobcheck.BlobModel.load_dict({"base": base, "trees": trees, "cut": 0.5, "meta": {}})
    probe = rng.normal(size=(200, len(blobcheck.FEATURES))).astype(np.float32)
    np.testing.assert_allclose(model.probability(probe), gb.predict_proba(probe)[:, 1], atol=1e-6)


def _line_and_eye() -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]]:
    """A page: a line of glyph-like strokes on white paper, and a dark eye in hatching; and its mask."""
    rgb = np.full((200, 400, 3), 250, np.uint8)
    for x in range(220, 400, 6):  # hatching behind the eye
        cv2.line(rgb, (x, 100), (x - 60, 200), (60, 60, 60), 1)
    for i in range(8):  # eight "glyphs" of one stroke width and height
        x = 20 + i * 22
        cv2.line(rgb, (x, 30), (x, 52), (0, 0, 0), 3)
        cv2.line(rgb, (x, 30), (x + 12, 30), (0, 0, 0), 3)
        cv2.line(rgb, (x, 41), (x + 10, 41), (0, 0, 0), 3)
    cv2.ellipse(rgb, (300, 150), (22, 14), 0, 0, 360, (10, 10, 10), -1)
    cv2.circle(rgb, (306, 146), 4, (255, 255, 255), -1)
    mask = np.zeros(rgb.shape[:2], np.uint8)
    mask[26:57, 16:200] = 255  # one blob over the line, as the segmenter marks it
    cv2.ellipse(mask, (300, 150), (25, 17), 0, 0, 360, 255, -1)
    return rgb, mask, np.where(mask > 0, 230, 0).astype(np.uint8), ((40, 100), (150, 300))


def test_features_tell_a_line_of_glyphs_from_an_eye():
    rgb, mask, prob, (line_at, eye_at) = _line_and_eye()
    labels, _stats, feats = blobcheck.blob_features(rgb, prob, mask)
    assert len(feats) == 2
    f = {name: i for i, name in enumerate(blobcheck.FEATURES)}
    line, eye = feats[labels[line_at] - 1], feats[labels[eye_at] - 1]
    assert line[f["ink_parts"]] > eye[f["ink_parts"]]  # eight glyphs against one shape
    assert line[f["ring_spread"]] < eye[f["ring_spread"]] or line[f["context_edges"]] < eye[f["context_edges"]]
    assert line[f["ink_dark"]] > 0.2 and 4 <= line[f["stroke_width"]] <= 8  # strokes of 3 px, the ridge doubled


def test_drop_art_clears_whole_blobs_by_score():
    rgb, mask, prob, (line_at, eye_at) = _line_and_eye()
    # A one-node "tree" on ink_parts: few parts is art. Not the shipped model; what drop_art does with a score.
    i = blobcheck.FEATURES.index("ink_parts")
    tree = {"feature": [i, 0, 0], "threshold": [np.log1p(3), 0, 0], "left": [1, -1, -1], "right": [2, -1, -1]}
    tree["value"] = [0.0, -4.0, 4.0]
    model = blobcheck.BlobModel.load_dict({"base": 0.0, "trees": [tree], "cut": 0.5, "meta": {}})
    out = mask.copy()
    assert blobcheck.drop_art(rgb, prob, out, model) == 1
    assert out[line_at] == 255 and out[eye_at] == 0
    np.testing.assert_array_equal(out[mask == 0], 0)  # nothing added
    empty = np.zeros_like(mask)
    assert blobcheck.drop_art(rgb, prob, empty, model) == 0


def _check_for(version: str) -> blobcheck.BlobModel:
    """A one-leaf check that claims to be fitted to segmenter ``version`` (no check ships with 0.4)."""
    leaf = {k: np.asarray(v) for k, v in {"feature": [-2], "threshold": [-2.0], "left": [-1], "right": [-1]}.items()}
    meta = {"segmenter_version": version, "val_precision": [0.9, 0.95], "val_recall": [1.0, 0.99]}
    return blobcheck.BlobModel(0.0, [{**leaf, "value": np.asarray([0.0])}], 0.5, meta)


@pytest.fixture
def weights_with_check(tmp_path, monkeypatch):
    """A copy of the shipped weights with a check written for their segmenter beside them."""
    import json
    import shutil

    from textclean.weights import WEIGHTS_DIR, file_version

    for f in WEIGHTS_DIR.iterdir():
        if f.is_file():
            shutil.copy(f, tmp_path / f.name)
    monkeypatch.setenv("TEXTCLEAN_WEIGHTS_DIR", str(tmp_path))
    version = file_version(tmp_path / "segmenter.pt")  # the version a runner of these weights reports
    (tmp_path / blobcheck.FILE).write_text(json.dumps(_check_for(version).to_json()))
    return tmp_path


def test_a_check_is_used_only_with_its_segmenter(weights_with_check):
    shipped = ModelRunner("cpu")
    model = blobcheck.shipped_for(shipped)
    assert model is not None and model.meta["segmenter_version"] == shipped.versions["segmenter"]

    class Other:
        versions = {"segmenter": "0123456789ab"}

    assert blobcheck.shipped_for(Other()) is None
    # A check made for other features (an old file) is not used either, and says why in the log.
    (weights_with_check / blobcheck.FILE).write_text('{"feature_version": 0, "features": [], "trees": []}')
    assert blobcheck.shipped_for(shipped) is None


def test_check_blobs_off_gives_the_unchecked_mask(pipeline: Pipeline, rgb_page: np.ndarray):
    if pipeline.blob_model is None:
        pytest.skip("no blob check for these weights")
    checked = pipeline.segment(rgb_page) > 0
    unchecked = pipeline.segment(rgb_page, params=MaskParams(check_blobs=False)) > 0
    assert not (checked & ~unchecked).any(), "the check only removes"


def test_the_model_card_reports_the_check_and_flags_one_fitted_to_other_weights(weights_with_check):
    import json

    from textclean_train.export import card_only

    tmp_path = weights_with_check
    card_only(str(tmp_path), "RECIPE TEXT", "NOTES TEXT")
    card = (tmp_path / "MODEL_CARD.md").read_text()
    assert "## Blob check" in card and "RECIPE TEXT" in card and "NOTES TEXT" in card
    assert "not the shipped segmenter" not in card
    d = json.loads((tmp_path / blobcheck.FILE).read_text())
    d["meta"]["segmenter_version"] = "000000000000"
    (tmp_path / blobcheck.FILE).write_text(json.dumps(d))
    card_only(str(tmp_path), "RECIPE TEXT")
    assert "not the shipped segmenter" in (tmp_path / "MODEL_CARD.md").read_text()
