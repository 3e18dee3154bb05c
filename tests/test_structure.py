"""The inpainter's coarse stage: screentone and lines continued, flat paper kept flat (no ghosts)."""

import cv2
import numpy as np
import pytest
from textclean.structure import coarse_fill, continue_structure, prepare


def psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    return float(10 * np.log10(1 / max(float(((a[where] - b[where]) ** 2).mean()), 1e-10)))


def text_hole(
    h: int, w: int, word: str = "BOOM!", org: tuple[int, int] = (12, 90), scale: float = 1.4, thickness: int = 5
) -> np.ndarray:
    hole = np.zeros((h, w), np.uint8)
    cv2.putText(hole, word, org, cv2.FONT_HERSHEY_DUPLEX, scale, 1, thickness)
    return hole > 0


def dots(h: int, w: int, period: float, angle_deg: float, coverage) -> np.ndarray:
    """Antialiased halftone dots, 1 = paper; ``coverage`` may vary over the image."""
    a = np.deg2rad(angle_deg)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u = (xx * np.cos(a) + yy * np.sin(a)) / period
    v = (-xx * np.sin(a) + yy * np.cos(a)) / period
    dist = np.hypot(u - np.round(u), v - np.round(v))
    ink = np.clip((np.sqrt(coverage / np.pi) - dist) * period + 0.5, 0, 1)
    return np.repeat((1 - ink)[..., None], 3, axis=2).astype(np.float32)


@pytest.mark.parametrize("period,angle", [(5.0, 45.0), (7.3, 15.0), (9.6, 0.0)])
def test_screentone_is_continued_in_phase(period, angle):
    img = dots(160, 240, period, angle, 0.3)
    hole = text_hole(160, 240)
    fill, structured = continue_structure(img, hole)
    assert structured[hole].mean() > 0.95
    # Telea paints grey; continuing the dots in phase is far closer to the truth.
    assert psnr(fill, img, hole) > psnr(coarse_fill(img, hole), img, hole) + 10
    assert psnr(fill, img, hole) > 20


def test_a_tone_gradient_under_the_dots_is_followed():
    yy, xx = np.mgrid[0:160, 0:240]
    coverage = (0.1 + 0.5 * xx / 240).astype(np.float32)
    img = dots(160, 240, 6.0, 45.0, coverage)
    hole = text_hole(160, 240, "WWWWW", (5, 100), 1.6, 7)
    fill, _ = continue_structure(img, hole)
    # The mean ink along x inside the hole tracks the truth's (within a few percent).
    for x0 in range(20, 220, 40):
        band = hole[:, x0 : x0 + 40]
        if band.sum() < 200:
            continue
        assert abs(fill[:, x0 : x0 + 40][band].mean() - img[:, x0 : x0 + 40][band].mean()) < 0.05
    assert psnr(fill, img, hole) > psnr(coarse_fill(img, hole), img, hole) + 6


def test_hatching_lines_cross_the_hole():
    img = np.ones((160, 240), np.float32)
    for k in range(-400, 400, 6):
        cv2.line(img, (k, 0), (k + 92, 160), 0.0, 1, cv2.LINE_AA)  # lines at about 60°
    img = np.repeat(img[..., None], 3, axis=2)
    hole = text_hole(160, 240)
    fill, _ = continue_structure(img, hole)
    assert psnr(fill, img, hole) > psnr(coarse_fill(img, hole), img, hole) + 6
    # The lines keep their contrast in the middle of the hole instead of fading to grey.
    core = cv2.erode(hole.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    assert fill[core].std() > 0.6 * img[core].std()


def test_flat_paper_beside_a_border_is_filled_flat_and_only_structure_is_left():
    img = np.full((160, 240, 3), 0.98, np.float32)
    hole = text_hole(160, 240, "BOOM", (20, 95), 1.4, 5)
    right = int(np.nonzero(hole.any(axis=0))[0].max())
    img[:, right + 3 : right + 6] = 0.05  # a panel border two pixels right of the hole
    p = prepare(img, hole)
    assert p.flat.sum() > 0.8 * hole.sum()
    assert not p.hole[:, : right - 12].any()  # away from the border, nothing is left for the network
    assert np.abs(p.image[hole & p.flat] - 0.98).max() < 1e-3


def test_photos_fall_back_to_telea():
    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur(rng.random((120, 160, 3)).astype(np.float32), (0, 0), 6)
    img = (img - img.min()) / (img.max() - img.min())
    hole = text_hole(120, 160, "AB", (10, 80), 1.5, 5)
    fill, structured = continue_structure(img, hole)
    telea = coarse_fill(img, hole)
    assert psnr(fill, img, hole) > psnr(telea, img, hole) - 1.0
    assert (
        np.array_equal(fill[~hole], np.clip(img, 0, 1)[~hole].round(6))
        or np.abs(fill[~hole] - img[~hole]).max() <= 1 / 255 + 1e-6
    )


def test_no_ghost_of_the_text_beside_a_border_through_the_shipped_path():
    """A text-shaped hole in white paper, 1-3 px from a panel border: no visible outline comes back.

    Bound: 4/255. Below about 1.5% of full scale a difference on white paper
    is not visible (the eye's contrast threshold is 1-2%), and it is the
    order of the noise a scan or JPEG leaves on flat paper anyway; the
    glyph-shaped ghost that Telea leaves here is 6/255 at a 2 px gap and
    54/255 at 1 px.
    """
    from textclean.backend import ModelRunner
    from textclean.pipeline import Pipeline

    pipeline = Pipeline(ModelRunner("cpu", backend="torch"))
    for gap, vertical in ((1, True), (2, True), (3, False)):
        img = np.full((160, 240, 3), 250, np.uint8)
        hole = np.zeros((160, 240), np.uint8)
        cv2.putText(hole, "BOOM!", (10, 90), cv2.FONT_HERSHEY_DUPLEX, 1.4, 255, 5)
        ys, xs = np.nonzero(hole)
        if vertical:
            x = xs.max() + 1 + gap
            img[:, x : x + 3] = 20
        else:
            y = ys.max() + 1 + gap
            img[y : y + 3] = 20
        out = pipeline.inpaint(img, hole)
        deviation = np.abs(out.astype(int) - 250)[hole > 0].max()
        assert deviation <= 4, (gap, vertical, deviation)


def noisy_gradient(h: int = 160, w: int = 240, noise: float = 0.015) -> tuple[np.ndarray, np.ndarray]:
    """(noisy image, noiseless truth): a linear tone gradient, as a smooth sky in a colour comic."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    truth = np.repeat((0.3 + 0.5 * (0.6 * xx + 0.4 * yy) / w)[..., None], 3, axis=2)
    rng = np.random.default_rng(1)
    return np.clip(truth + rng.normal(0, noise, truth.shape), 0, 1).astype(np.float32), truth


def test_a_smooth_gradient_is_filled_by_its_rings_plane():
    img, truth = noisy_gradient()
    hole = text_hole(160, 240)
    p = prepare(img, hole)
    assert p.settled[hole].all()  # nothing is left for the network to repaint
    # Telea streaks the ring's noise inward; the plane follows the slope and averages the noise away.
    assert psnr(p.guide, truth, hole) > psnr(coarse_fill(img, hole), truth, hole) + 10
    assert psnr(p.guide, truth, hole) > 50


def test_a_textured_ring_is_not_taken_for_smooth_shading():
    rng = np.random.default_rng(2)
    img = np.clip(noisy_gradient()[0] + rng.normal(0, 0.08, (160, 240, 3)), 0, 1).astype(np.float32)
    hole = text_hole(160, 240)
    p = prepare(img, hole)
    assert not p.settled[hole].all()


class _Recorder:
    """Stands in for the network's forward pass: paints mid grey and counts its calls."""

    calls = 0


def _recording_network():
    from textclean.networks import InpaintNetwork

    class Recording(InpaintNetwork):
        def forward(self, image, mask, guide):
            _Recorder.calls += 1
            return np.full_like(image, 0.5)

    return Recording()


def test_continued_screentone_keeps_the_guide_and_smooth_holes_skip_the_network():
    net = _recording_network()
    img = dots(160, 240, 6.0, 30.0, 0.3)
    hole = text_hole(160, 240)
    p = prepare(img, hole)
    before = _Recorder.calls
    out = net.inpaint(img, hole)
    keep = p.structured & hole
    assert keep.sum() > 0.9 * hole.sum()
    assert np.array_equal(out[keep], p.guide[keep])
    grad, _ = noisy_gradient()
    out = net.inpaint(grad, hole)
    assert _Recorder.calls == before + (1 if (p.hole & ~p.settled).any() else 0)
    assert np.array_equal(out[hole], prepare(grad, hole).guide[hole])
