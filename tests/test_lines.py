"""Lines that cross a hole are continued through it (``textclean.lines``), and only real lines."""

import cv2
import numpy as np
from textclean.lines import continue_lines
from textclean.structure import coarse_fill, continue_structure, prepare


def word_hole(h: int, w: int, word: str, org: tuple[int, int], scale: float = 1.6, thickness: int = 9) -> np.ndarray:
    hole = np.zeros((h, w), np.uint8)
    cv2.putText(hole, word, org, cv2.FONT_HERSHEY_SIMPLEX, scale, 1, thickness)
    return hole > 0


def line_page(h: int, w: int, draw) -> tuple[np.ndarray, np.ndarray]:
    """(page, centre line): white paper with ``draw(canvas, value, width)`` in black, and its 1-px centre."""
    page = np.ones((h, w), np.float32)
    draw(page, 0.0, 3)
    centre = np.zeros((h, w), np.uint8)
    draw(centre, 1, 1)
    return np.repeat(page[..., None], 3, axis=2), centre > 0


def with_dots(page: np.ndarray, box: tuple[slice, slice]) -> np.ndarray:
    """Screentone in ``box``: the shifts the guide finds then come from the dots, not the line."""
    out = page.copy()
    yy, xx = np.mgrid[box]
    out[box] = np.where(((yy % 6) - 3) ** 2 + ((xx % 6) - 3) ** 2 <= 3, 0.0, 1.0)[..., None]
    return out


def test_a_border_under_a_word_leaves_it_whole_and_clean():
    page, centre = line_page(200, 420, lambda c, v, t: cv2.line(c, (0, 80), (419, 100), v, t, cv2.LINE_AA))
    page = with_dots(page, (slice(150, 200), slice(0, 420)))
    hole = word_hole(200, 420, "BOOM", (20, 110), scale=2.2, thickness=12)
    raw = page.copy()
    raw[hole] = 0
    on_line = hole & centre
    assert on_line.sum() > 40
    guide = prepare(raw, hole).guide
    assert (guide[on_line].mean(axis=1) < 0.35).mean() > 0.9  # the border runs on through every letter
    # Beside it (cv2's anti-aliased 3-px line is dark over 5 rows), paper: no grey smudge left by
    # copies that half followed the line.
    near = cv2.dilate(centre.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    beside = hole & ~near & (cv2.dilate(centre.astype(np.uint8), np.ones((15, 15), np.uint8)) > 0)
    assert guide[beside].min() > 0.8
    # Over Telea's fill, which smears the border's ink into the letters around it, the line step
    # alone draws it back sharp.
    telea = coarse_fill(raw, hole)
    assert telea[beside].min() < 0.5
    continue_lines(raw, hole, telea)
    assert telea[beside].min() > 0.8 and (telea[on_line].mean(axis=1) < 0.35).mean() > 0.9


def test_a_balloon_outline_arcs_through_the_word():
    page, centre = line_page(
        220, 420, lambda c, v, t: cv2.ellipse(c, (210, 260), (190, 170), 0, 180, 360, v, t, cv2.LINE_AA)
    )
    hole = word_hole(220, 420, "WHAM", (60, 120), scale=1.8)
    raw = page.copy()
    raw[hole] = 0
    on_line = hole & centre
    assert on_line.sum() > 20
    fill = continue_structure(raw, hole)[0]
    drawn = continue_lines(raw, hole, fill)
    assert drawn.any()
    assert (fill[on_line].mean(axis=1) < 0.35).mean() > 0.9


def test_hatching_strokes_are_not_joined_to_their_neighbours():
    page = np.ones((200, 300), np.float32)
    for k in range(-200, 400, 9):
        cv2.line(page, (k, 0), (k + 60, 200), 0.0, 2, cv2.LINE_AA)
    page = np.repeat(page[..., None], 3, axis=2)
    hole = word_hole(200, 300, "SFX", (40, 130), scale=2.4, thickness=14)
    raw = page.copy()
    raw[hole] = 0
    fill = raw.copy()
    drawn = continue_lines(raw, hole, fill)
    # What is drawn is the hatching itself, continued: never a stroke joined to the next one over.
    if drawn.any():
        assert np.abs(fill[drawn] - page[drawn]).mean() < 0.15


def test_a_stroke_that_ends_under_the_text_is_not_extended():
    # It ends inside the stem of the P, so no piece of it shows beyond.
    page, _ = line_page(160, 320, lambda c, v, t: cv2.line(c, (0, 70), (98, 71), v, t, cv2.LINE_AA))
    hole = word_hole(160, 320, "POW", (90, 100), scale=1.8)
    raw = page.copy()
    raw[hole] = 0
    fill = raw.copy()
    assert not continue_lines(raw, hole, fill).any()
    assert np.array_equal(fill, raw)
