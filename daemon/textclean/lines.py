"""Lines that cross a hole: a panel border, a balloon's outline or a hair strand under a word.

The guide's shifted copies (``structure.continue_structure``) continue what
repeats (screentone, hatching), and a single line repeats only along itself:
a shift along a border is rarely among the autocorrelation's peaks on a crop
that also holds dots or hatching, so a lone line that enters a hole came out
of it broken into dashes, smudged or faded (Telea). Here each line is
followed explicitly, a word of the hole at a time:

1. *Entries.* In a band of known pixels around the word, ink is what differs
   from the band's paper. Each piece of ink that touches the hole, is
   elongated, and has paper around it (not a chain of screentone dots) is a
   line entering the hole: its direction (principal axis, pointing into the
   hole), width (its ink coverage across), colour (median) and where on its
   axis it meets the hole. A piece seen between two letters enters at both ends.
2. *Pairs.* Two entries that point at each other are one line if their two
   pieces, fitted together by one gentle quadratic curve, lie on it as tightly
   as each lies on its own line (``MAX_OFFSET_PX``, ``MAX_SAGITTA``), with
   similar width and colour. Neighbouring hatching strokes lie a period apart
   and fail. Each entry pairs at most once, tightest pairs first.
3. *Drawing.* The fitted curve is drawn between the two entries with the
   line's width and colour, anti-aliased, over the hole only; on plain paper
   the hole beside it is painted paper, clearing the smudges of copies that
   half followed the line.

An entry with no partner (a stroke that ends under the text) is left to the
rest of the guide, and so are pixels the shifted copies filled (``keep``).
"""

from __future__ import annotations

import cv2
import numpy as np

WORD_GAP = 15  # px: letters closer than this are one word (a sliver of line between them is too short to read)
BAND_PX = 12  # known pixels this close to the hole are where a line's direction is read
INK_CONTRAST = 0.25  # luminance (0..1) off the band's paper that counts as ink
MIN_LENGTH = 6.0  # px of a piece of ink along its axis, at least, to be a line
MIN_ELONGATION = 2.0  # length over width, at least (the band is short: a piece of line in it is 10-20 px long)
MAX_INK_AROUND = 0.05  # share of ink within 4 px of a piece, beyond which it is texture, not a line
MAX_WIDTH = 8.0  # px: thicker ink is a shape (a black area), not a line
MAX_TURN = np.deg2rad(35)  # each end points at the other within this
MAX_OFFSET_PX = 1.5  # two pieces of one line fit one curve within this much more (RMS ×4) than each its own
MAX_SAGITTA = 0.25  # the curve bows out by at most this share of its span: gentle arcs, not hooks
MAX_COLOUR_STEP = 0.15  # RGB distance (0..1 per channel, max) between the two ends' colours


def continue_lines(image: np.ndarray, hole: np.ndarray, fill: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    """Draw the lines that cross ``hole`` into ``fill`` (H×W×3 float32, in place); return where (H×W bool).

    ``image`` is H×W×3 float32 in [0, 1] (its hole pixels are not read). The hole is taken a word
    at a time (letters closer than ``WORD_GAP`` px together): a border under "BOOM" is seen between
    the letters only in slivers too short to read a direction from, so it enters the word on one
    side and leaves it on the other, and the pieces in the letters' counters chain it across.
    """
    hole = hole.astype(bool)
    drawn = np.zeros_like(hole)
    if not hole.any():
        return drawn
    # Whole-crop arrays are kept to a byte or two a pixel (a webtoon strip's crops are large): the
    # luminance and everything else is computed per word box.
    words = cv2.morphologyEx(hole.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((WORD_GAP, WORD_GAP), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(words, connectivity=8, ltype=cv2.CV_16U)
    if n > 65535:  # more words than 16-bit labels hold
        n, labels, stats, _ = cv2.connectedComponentsWithStats(words, connectivity=8)
    del words
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * BAND_PX + 1,) * 2)
    h, w = hole.shape
    for i in range(1, n):
        x, y, bw, bh = (int(v) for v in stats[i, :4])
        rows = slice(max(0, y - BAND_PX), min(h, y + bh + BAND_PX))
        box = (rows, slice(max(0, x - BAND_PX), min(w, x + bw + BAND_PX)))
        word = labels[box] == i
        letters = word & hole[box]
        band = (cv2.dilate(word.astype(np.uint8), kernel) > 0) & ~hole[box]
        if band.sum() < 32:
            continue
        lum = image[box].mean(axis=2)
        paper = float(np.median(lum[band]))
        ink = band & (np.abs(lum - paper) > INK_CONTRAST)
        entries = _entries(image[box], lum, paper, letters, band, ink)
        if len(entries) < 2:
            continue
        plain = _plain_paper(image[box], band & ~ink)
        free = letters & ~keep[box] if keep is not None else letters
        for a, b, curve in _pairs(entries):
            _draw(fill[box], drawn[box], free, a, b, curve, plain, ink)
    return drawn


def _plain_paper(rgb: np.ndarray, clear: np.ndarray) -> np.ndarray | None:
    """The band's paper colour if what is not ink there (``clear``) is one flat colour, else None."""
    if clear.sum() < 16:
        return None
    values = rgb[clear]
    colour = np.median(values, axis=0)
    return colour.astype(np.float32) if float(np.percentile(np.abs(values - colour).max(axis=1), 95)) <= 0.06 else None


class _Entry:
    """Where a piece of line (its pixels ``pts``, x-y) meets the hole, and which way it points into it."""

    __slots__ = ("at", "direction", "width", "colour", "pts", "spread")

    def __init__(self, at: np.ndarray, direction: np.ndarray, width: float, colour: np.ndarray, pts: np.ndarray):
        self.at, self.direction, self.width, self.colour, self.pts = at, direction, width, colour, pts
        self.spread = _fit(pts)[1]


def _entries(
    rgb: np.ndarray, lum: np.ndarray, paper: float, comp: np.ndarray, band: np.ndarray, ink: np.ndarray
) -> list[_Entry]:
    if not ink.any():
        return []
    touching = cv2.dilate(comp.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    # Only pieces that touch the hole and are long enough (a screentone band holds hundreds of dots).
    meeting = np.unique(labels[touching & ink])
    long_enough = np.maximum(stats[:, 2], stats[:, 3]) >= MIN_LENGTH
    h, w = comp.shape
    out = []
    for i in meeting[(meeting > 0) & long_enough[meeting]]:
        x, y, bw, bh = (int(v) for v in stats[i, :4])
        # The piece's box with room for the 4-px look around it.
        box = (slice(max(0, y - 4), min(h, y + bh + 4)), slice(max(0, x - 4), min(w, x + bw + 4)))
        piece = labels[box] == i
        ys, xs = np.nonzero(piece)
        pts = np.stack([xs + box[1].start, ys + box[0].start], 1).astype(np.float64)
        centre = pts.mean(axis=0)
        cov = np.cov((pts - centre).T) if len(pts) > 2 else np.zeros((2, 2))
        _evals, evecs = np.linalg.eigh(cov)
        axis = evecs[:, 1]
        along = (pts - centre) @ axis
        length = float(np.ptp(along)) + 1
        # Ink coverage summed across the line, not its pixel count: anti-aliased rims count in part
        # (a 3-px line has about 5 pixels across above the ink threshold).
        contrast = np.abs(lum[box][piece] - paper)
        width = float(contrast.sum() / max(float(np.percentile(contrast, 90)), 1e-3)) / length
        if length < MIN_LENGTH or length < MIN_ELONGATION * width or width > MAX_WIDTH:
            continue
        # A line has paper on both sides; a chain of touching screentone dots or dense hatching has
        # more ink a few px away, and the guide's shifted copies continue those better.
        around = (cv2.dilate(piece.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0) & band[box] & ~piece
        if around.any() and ink[box][around].mean() > MAX_INK_AROUND:
            continue
        colour = np.median(rgb[box][piece], axis=0)
        my, mx = np.nonzero(piece & touching[box])
        # Where the piece meets the hole, on its axis (the centroid of the meeting pixels is a
        # line-width off it, which tilts a short chord by degrees).
        proj = (np.stack([mx + box[1].start, my + box[0].start], 1) - centre) @ axis
        if np.ptp(proj) > 0.5 * length:
            # Hole at both ends: a piece of line seen between two letters, or in a letter's counter.
            out.append(_Entry(centre + axis * proj.min(), -axis, width, colour, pts))
            out.append(_Entry(centre + axis * proj.max(), axis, width, colour, pts))
        else:
            t = float(proj.mean())
            out.append(_Entry(centre + axis * t, axis if t >= 0 else -axis, width, colour, pts))
    return out


def _fit(pts: np.ndarray, degree: int = 1) -> tuple[np.ndarray, float, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(coefficients, RMS across, frame): ``pts`` (N×2, x-y) fitted by a polynomial of ``degree``
    across their principal axis; the frame is (centre, axis, normal)."""
    centre = pts.mean(axis=0)
    d = pts - centre
    _evals, evecs = np.linalg.eigh(d.T @ d)
    axis, normal = evecs[:, 1], evecs[:, 0]
    u, v = d @ axis, d @ normal
    coef = np.polyfit(u, v, degree) if len(pts) > degree + 1 else np.zeros(degree + 1)
    rms = float(np.sqrt(np.mean((np.polyval(coef, u) - v) ** 2)))
    return coef, rms, (centre, axis, normal)


def _pairs(entries: list[_Entry]) -> list[tuple[_Entry, _Entry, tuple]]:
    """Entries that are the two ends of one line under the hole, with the curve through both pieces.

    Short pieces clipped by letters give their directions to within several degrees, too loose to
    pair them by angle alone; fitted together, the two pieces of one line lie on one smooth curve
    as tightly as each lies on its own line, while two different lines (neighbouring hatching
    strokes, a stroke and a border) do not.
    """
    scored = []
    for i, a in enumerate(entries):
        for j in range(i + 1, len(entries)):
            b = entries[j]
            chord = b.at - a.at
            dist = float(np.hypot(*chord))
            if dist < 2 or a.pts is b.pts:
                continue
            # Each points at the other, within MAX_TURN.
            if chord @ a.direction < dist * np.cos(MAX_TURN) or -chord @ b.direction < dist * np.cos(MAX_TURN):
                continue
            if abs(a.width - b.width) > max(1.5, 0.5 * max(a.width, b.width)):
                continue
            if np.abs(a.colour - b.colour).max() > MAX_COLOUR_STEP:
                continue
            pts = np.concatenate([a.pts, b.pts])
            coef, rms, frame = _fit(pts, 2)
            span = float(np.ptp((pts - frame[0]) @ frame[1]))
            sagitta = abs(coef[0]) * (span / 2) ** 2
            if sagitta > MAX_SAGITTA * span or rms > max(a.spread, b.spread) * 1.3 + MAX_OFFSET_PX / 4:
                continue
            scored.append((rms, i, j, (coef, frame)))
    used: set[int] = set()
    out = []
    for _rms, i, j, curve in sorted(scored, key=lambda c: c[0]):
        if i in used or j in used:
            continue
        used.update((i, j))
        out.append((entries[i], entries[j], curve))
    return out


def _draw(
    fill: np.ndarray,
    drawn: np.ndarray,
    hole: np.ndarray,
    a: _Entry,
    b: _Entry,
    curve: tuple,
    paper: np.ndarray | None,
    ink: np.ndarray,
) -> None:
    """Draw the curve from ``a`` to ``b`` with their width and colour over ``hole`` pixels of ``fill``.

    On plain paper the hole pixels beside the line are painted paper first: the shifted copies
    before this step leave grey smudges along a line they half continued.
    """
    coef, (centre, axis, normal) = curve
    ua, ub = (a.at - centre) @ axis, (b.at - centre) @ axis
    # A little past each end, on the known line, so the stroke joins it without a gap.
    lo, hi = min(ua, ub) - 1.5, max(ua, ub) + 1.5
    line_w = min(a.width, b.width)
    scale = 4  # sub-pixel anti-aliasing: draw at 4× and average down
    h, w = hole.shape

    def coverage(width: float, reach: float = 0.0) -> np.ndarray:
        uu = np.linspace(lo - reach, hi + reach, max(8, int((hi - lo + 2 * reach) * 2)))
        xy = centre + uu[:, None] * axis + np.polyval(coef, uu)[:, None] * normal
        pts = np.round((xy + 0.5) * scale - 0.5).astype(np.int32)
        big = np.zeros((h * scale, w * scale), np.uint8)
        cv2.polylines(big, [pts], False, 255, max(1, int(round(width * scale))), cv2.LINE_AA)
        return cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255

    alpha = coverage(line_w) * hole
    if paper is not None:
        halo = (coverage(line_w + 12) > 0) & hole
        # Only where the known pixels beside the line are paper: no other stroke, dot or hatching there
        # (the line itself, on and beyond the drawn stretch, does not count).
        beside = (cv2.dilate(halo.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0) & ~hole
        if not (ink & beside & ~(coverage(line_w + 3, reach=8.0) > 0)).any():
            fill[halo] = paper
            drawn |= halo
    colour = ((a.colour + b.colour) / 2).astype(np.float32)
    fill[:] = fill * (1 - alpha[..., None]) + colour * alpha[..., None]
    drawn |= alpha > 0.5
