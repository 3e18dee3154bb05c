"""``--bubbles-only`` on pages from the training generator: nothing outside the bubbles changes.

The pages are drawn by ``textclean_train.pages`` (read-only use): panels,
tones, line art, balloons and caption boxes, with dialogue placed in the
bubbles and free text and sound effects on the art. Where the bubbles are is
taken from the page before any text was drawn, so the test does not trust
the code it checks.
"""

import cv2
import numpy as np
import pytest
from PIL import Image
from textclean.cli import main
from textclean.imagefiles import read_image

RUN = ["--allow-untrained", "--device", "cpu"]
# The generator's art of 0.2, and its digital-manga scenery (buildings, trees, heads, props): on the
# latter a thin light frame around a panel was once taken for a balloon, and the panel's eyes went.
# On scenery page 12 a white tree is a closed, flat, balloon-shaped region; the 0.2 segmenter took a
# mark inside it for text (225 px changed outside the bubbles, a strict xfail until the 0.3 weights
# and their blob check, which leave it alone).
PAGES = [(11, False), (12, False), (13, False), (11, True), (12, True), (13, True)]


def _bubble_page(seed: int, scenery: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(page with text, where the bubbles are (outline included), where text was drawn)."""
    from textclean_train import synth
    from textclean_train.pages import manga_page

    rng = np.random.default_rng(seed)
    gray, bubbles = manga_page(900, 700, rng, scenery=scenery)
    page = np.repeat(gray[..., None], 3, axis=2).astype(np.float32)
    clean8 = (np.clip(gray, 0, 1) * 255 + 0.5).astype(np.uint8)
    h, w = gray.shape
    inside = np.zeros((h, w), bool)
    for b in bubbles:
        # Seeds across the bubble's box: a later bubble may cover its centre.
        for fy in (0.2, 0.5, 0.8):
            for fx in (0.2, 0.5, 0.8):
                y, x = int(b.y0 + fy * (b.y1 - b.y0)), int(b.x0 + fx * (b.x1 - b.x0))
                if not (0 <= y < h and 0 <= x < w) or inside[y, x]:
                    continue
                ff = np.zeros((h + 2, w + 2), np.uint8)
                cv2.floodFill(
                    clean8.copy(),
                    ff,
                    (x, y),
                    0,
                    12,
                    12,
                    4 | cv2.FLOODFILL_FIXED_RANGE | cv2.FLOODFILL_MASK_ONLY | (1 << 8),
                )
                region = ff[1:-1, 1:-1] > 0
                if region.sum() < 0.25 * h * w:  # a box that runs into the art is not one closed bubble
                    inside |= region
    # The bubble is its inside and its outline.
    bubble = cv2.dilate(inside.astype(np.uint8), np.ones((13, 13), np.uint8)) > 0
    alpha = np.zeros((h, w), np.float32)
    for b in bubbles:
        synth._place_in_bubble(page, b, rng, "heldout", alpha)
    for sfx in (True, False, False):
        synth._place_free(page, rng, "heldout", alpha, sfx=sfx, colour=False)
    raw = (np.clip(page, 0, 1) * 255 + 0.5).astype(np.uint8)
    return raw, bubble, alpha > 0.1


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bubbles")
    src = folder / "in"
    src.mkdir()
    truth = {}
    for seed, scenery in PAGES:
        raw, bubble, text = _bubble_page(seed, scenery)
        name = f"{seed}{'-scenery' if scenery else ''}"
        Image.fromarray(raw).save(src / f"{name}.png")
        truth[name] = (raw, bubble, text)
    return folder, truth


def test_bubbles_only_changes_nothing_outside_bubbles(pages):
    folder, truth = pages
    assert main(["clean", str(folder / "in"), "-o", str(folder / "only"), "--bubbles-only"] + RUN) == 0
    assert main(["clean", str(folder / "in"), "-o", str(folder / "all")] + RUN) == 0
    removed_inside = removed_outside_by_default = dialogue = 0
    for seed, (raw, bubble, text) in truth.items():
        only = read_image(folder / "only" / f"{seed}.png")
        changed = (only != raw).any(axis=2)
        assert not changed[~bubble].any(), f"page {seed}: {changed[~bubble].sum()} px changed outside bubbles"
        if not seed.endswith("-scenery"):  # the dialogue share below was set on the 0.2 art's pages
            removed_inside += (changed & text & bubble).sum()
            dialogue += (text & bubble).sum()
        everything = read_image(folder / "all" / f"{seed}.png")
        removed_outside_by_default += ((everything != raw).any(axis=2) & ~bubble).sum()
    assert removed_inside > 0.3 * dialogue, "bubbles-only should still clean the dialogue"
    # Without the flag the free text on the art is cleaned: the check above could fail.
    assert removed_outside_by_default > 0
