"""masks.fit_to_ink: blobs on plain ground are taken back to their ink; blobs on busy ground are left."""

import cv2
import numpy as np
from textclean import masks


def lettered(paper: tuple[int, int, int], ink: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Two lines of hard-edged lettering on plain ground: (RGB uint8, ink pixels)."""
    rgb = np.full((120, 320, 3), paper, np.uint8)
    for y, words in ((48, "HOLD STILL"), (96, "I'LL FREE YOU")):
        cv2.putText(rgb, words, (12, y), cv2.FONT_HERSHEY_SIMPLEX, 1.1, ink, 3, cv2.LINE_8)
    return rgb, (rgb != np.array(paper, np.uint8)).any(axis=2)


def _fat_mask(ink: np.ndarray, px: int) -> np.ndarray:
    """What the segmenter hands over on real pages: the glyphs' blob spilling ``px`` onto the paper."""
    return cv2.dilate(ink.astype(np.uint8) * 255, np.ones((2 * px + 1, 2 * px + 1), np.uint8))


def _distance_from(ink: np.ndarray) -> np.ndarray:
    return cv2.distanceTransform((~ink).astype(np.uint8), cv2.DIST_L2, 5)


def test_dark_text_on_paper_keeps_its_glyphs_and_loses_the_paper_around_them():
    rgb, ink = lettered(paper=(246, 242, 230), ink=(20, 20, 20))
    mask = _fat_mask(ink, 8)
    masks.fit_to_ink(rgb, mask)
    kept = mask > 0
    assert kept[ink].all()  # every glyph pixel is still text
    assert _distance_from(ink)[kept].max() <= masks.INK_REACH_PX + 1
    assert kept.sum() < 0.6 * (_fat_mask(ink, 8) > 0).sum()


def test_light_text_on_a_dark_box_is_fitted_the_same_way():
    rgb, ink = lettered(paper=(25, 30, 40), ink=(250, 250, 250))
    mask = _fat_mask(ink, 8)
    masks.fit_to_ink(rgb, mask)
    kept = mask > 0
    assert kept[ink].all()
    assert _distance_from(ink)[kept].max() <= masks.INK_REACH_PX + 1


def test_antialiased_rims_within_reach_stay_in_the_mask():
    rgb, ink = lettered(paper=(255, 255, 255), ink=(0, 0, 0))
    soft = cv2.GaussianBlur(rgb, (0, 0), 0.8)  # rims of grey between ink and paper
    rim = (np.abs(soft.astype(int) - 255).max(axis=2) > 8) & ~ink
    mask = _fat_mask(ink, 8)
    masks.fit_to_ink(soft, mask)
    near = rim & (_distance_from(ink) <= masks.INK_REACH_PX)
    assert (mask[near] > 0).all()


def test_a_blob_on_screentone_is_left_as_it_is():
    rgb, ink = lettered(paper=(255, 255, 255), ink=(0, 0, 0))
    yy, xx = np.mgrid[: rgb.shape[0], : rgb.shape[1]]
    dots = ((yy % 6 < 3) & (xx % 6 < 3))[..., None]  # a 25% tone
    toned = np.where(dots & ~ink[..., None], 60, rgb).astype(np.uint8)
    mask = _fat_mask(ink, 8)
    before = mask.copy()
    masks.fit_to_ink(toned, mask)
    assert np.array_equal(mask, before)


def test_an_empty_mask_stays_empty():
    rgb, _ink = lettered(paper=(255, 255, 255), ink=(0, 0, 0))
    mask = np.zeros(rgb.shape[:2], np.uint8)
    assert not masks.fit_to_ink(rgb, mask).any()
