"""InpaintNetwork runs the network on windows around the pixels the guide leaves to it, and stitches them back."""

import numpy as np
from textclean.networks import InpaintNetwork
from textclean.structure import prepare

from .helpers import page


class PointwiseNet(InpaintNetwork):
    """A stand-in whose output at a pixel depends on that pixel's inputs only, so windows change nothing."""

    def __init__(self) -> None:
        self.shapes: list[tuple[int, int]] = []

    def forward(self, image, mask, guide):
        self.shapes.append(image.shape[2:])
        return 0.25 * image + 0.5 * guide + 0.125 * mask


def _busy_crop(h: int = 320, w: int = 360) -> np.ndarray:
    """Noise the guide cannot continue, so its hole pixels are the network's."""
    return np.random.default_rng(3).random((h, w, 3), dtype=np.float32)


def _holes(shape: tuple[int, int], boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    hole = np.zeros(shape, bool)
    for y0, y1, x0, x1 in boxes:
        hole[y0:y1, x0:x1] = True
    return hole


def test_far_apart_holes_get_windows_and_the_same_fill_as_one_pass(monkeypatch):
    image = _busy_crop()
    hole = _holes(image.shape[:2], [(20, 40, 30, 50), (260, 290, 290, 330)])
    prepared = prepare(image, hole)
    assert (prepared.hole & ~prepared.settled).sum() > 0.8 * hole.sum()  # the stand-in, not the guide, fills them

    windowed = PointwiseNet()
    out = windowed.inpaint(image, hole)
    assert len(windowed.shapes) == 2
    assert all(h * w < 0.25 * image.shape[0] * image.shape[1] for h, w in windowed.shapes)

    whole = PointwiseNet()
    monkeypatch.setattr(whole, "window_margin", 10_000)
    expected = whole.inpaint(image, hole)
    assert whole.shapes == [(320, 360)]
    np.testing.assert_allclose(out[hole], expected[hole], atol=1e-6)


def test_holes_that_span_the_crop_take_one_pass():
    image = _busy_crop()
    hole = _holes(image.shape[:2], [(y, y + 12, 20, 340) for y in range(20, 300, 60)])
    net = PointwiseNet()
    net.inpaint(image, hole)
    assert net.shapes == [(320, 360)]


def test_shipped_inpainter_fills_windows_as_it_fills_the_crop(monkeypatch):
    from textclean.backend import ModelRunner

    net = ModelRunner("cpu").inpainter_net
    image = page(360, 400, seed=5).astype(np.float32) / 255
    hole = _holes(image.shape[:2], [(30, 48, 40, 90), (290, 310, 300, 370)])
    windowed = net.inpaint(image, hole)
    monkeypatch.setattr(net, "window_margin", 10_000)
    whole = net.inpaint(image, hole)
    # Less context changes the network's output a little; a level on average is what this allows.
    assert np.abs(windowed[hole] - whole[hole]).mean() < 1.0 / 255
