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
# Since fonts are drawn by foundry group the pages differ, and three more ways to touch the art showed
# on them, each now a rule in ``bubbles.py`` and a small test below: the counter of a giant SFX "O"
# (scenery page 11), a text block cut in two by a white shape (scenery page 12, 5266 px), and a speck
# in a flat strip closed by SFX strokes (page 15). Six seeds of each kind, so one page's layout does
# not decide the dialogue share: 0.420 with the 0.3 weights (0.361 before lettering close to an
# outline was cut at the bubble's edge).
PAGES = [(seed, scenery) for scenery in (False, True) for seed in range(11, 17)]
DIALOGUE_SHARE = 0.3


def _bubble_page(seed: int, scenery: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(page with text, where the bubbles are (outline included), the dialogue drawn in them that no
    free text crosses)."""
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
    dialogue = alpha > 0.1
    free = np.zeros((h, w), np.float32)
    for sfx in (True, False, False):
        synth._place_free(page, rng, "heldout", free, sfx=sfx, colour=False)
    raw = (np.clip(page, 0, 1) * 255 + 0.5).astype(np.uint8)
    # Dialogue that free text or a sound effect runs over is not wholly inside its bubble any more.
    crossed = cv2.dilate((free > 0.1).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    return raw, bubble, dialogue & ~crossed


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
        removed_inside += (changed & text & bubble).sum()
        dialogue += (text & bubble).sum()
        everything = read_image(folder / "all" / f"{seed}.png")
        removed_outside_by_default += ((everything != raw).any(axis=2) & ~bubble).sum()
    print(f"bubbles-only removed {removed_inside / dialogue:.3f} of the dialogue")
    assert removed_inside > DIALOGUE_SHARE * dialogue, "bubbles-only should still clean the dialogue"
    # Without the flag the free text on the art is cleaned: the check above could fail.
    assert removed_outside_by_default > 0


def _balloon(h: int = 400, w: int = 400) -> np.ndarray:
    # Grey art around a white balloon with a black outline (a balloon is at most a quarter of the page).
    page = np.full((h, w, 3), 200, np.uint8)
    cv2.ellipse(page, (150, 100), (110, 70), 0, 0, 360, (255, 255, 255), -1)
    cv2.ellipse(page, (150, 100), (110, 70), 0, 0, 360, (0, 0, 0), 3)
    return page


def test_dialogue_in_a_balloon_is_kept_and_a_lone_speck_is_not():
    from textclean.bubbles import inside_bubbles

    page = _balloon()
    text = np.zeros(page.shape[:2], np.uint8)
    cv2.putText(text, "HEY YOU", (80, 110), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 255, 3)
    page[text > 0] = 0
    assert (inside_bubbles(page, text) > 0).sum() == (text > 0).sum()
    speck = np.zeros_like(text)
    speck[98:101, 148:151] = 255  # 9 px the segmenter took for text in an otherwise empty balloon
    assert not inside_bubbles(_balloon(), speck).any()


def test_the_counter_of_a_giant_letter_is_no_balloon():
    from textclean.bubbles import inside_bubbles

    page = np.full((400, 400, 3), 200, np.uint8)
    text = np.zeros(page.shape[:2], np.uint8)
    cv2.circle(text, (120, 120), 80, 255, 40)  # a sound effect's "O", found as text
    page[text > 0] = 0
    cv2.circle(page, (120, 120), 60, (255, 255, 255), -1)  # its paper counter, flat and closed
    mark = np.zeros_like(text)
    cv2.line(mark, (105, 120), (135, 120), 255, 4)  # art inside the counter, taken for text
    page[mark > 0] = 90
    kept = inside_bubbles(page, np.maximum(text, mark))
    assert not (kept & mark).any()


def test_a_block_of_text_that_runs_out_of_the_balloon_is_left_whole():
    from textclean.bubbles import inside_bubbles

    page = _balloon()
    text = np.zeros(page.shape[:2], np.uint8)
    cv2.putText(text, "HEY YOU THERE", (120, 110), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 255, 3)  # runs over the outline
    page[text > 0] = 0
    assert not inside_bubbles(page, text).any()


def test_a_mask_grown_onto_the_outline_keeps_its_block_and_the_outline():
    # Lettering set close to the balloon's outline: the segmenter's mask, fatter than the letters,
    # covers a few pixels of the outline. The lettering goes, cut at the bubble's edge; the outline stays.
    from textclean.bubbles import inside_bubbles

    page = _balloon()
    outline = (page == 0).all(axis=2)
    text = np.zeros(page.shape[:2], np.uint8)
    cv2.putText(text, "HEY YOU", (46, 104), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 255, 3)
    page[text > 0] = 0
    mask = cv2.dilate(text, np.ones((7, 7), np.uint8))
    assert (mask > 0)[outline].sum() > 10
    kept = inside_bubbles(page, mask) > 0
    assert kept[text > 0].all()
    assert not kept[outline].any()
