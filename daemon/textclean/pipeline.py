"""The inference pipeline: pure functions over numpy arrays.

``segment(image) -> mask``, ``inpaint(image, mask) -> image`` and
``remove_text(image, region=None) -> (mask, image)``. Images are any layout
and depth ``pixels`` accepts; masks are H×W uint8 (0 or 255). Pixels outside
the final mask come back bit-identical, alpha is never changed, and the
input array is never written to.

Segmentation runs at a working scale of 1/k (k a whole number, so strips
shrink exactly and the page is never converted whole; k follows the short
side, so long strips keep full resolution), in overlapping tiles blended
across their overlap, so tiles do not show as seams. Tiles are converted
and blended one row of tiles at a time: memory beyond the page and its mask
stays a few tile rows, whatever the page's length. Long runs of flat rows
(a webtoon's gutters) are not segmented at all: each band of content
between them is tiled on its own, as if it were a page.
Where a blob check fitted to the segmenter ships (``blobcheck``; 0.4 and 0.5 ship
none: refitted to 0.4, it cut nothing), the thresholded mask gets a second
look blob by blob: blobs that look like art rather than lettering (an eye, a
lock of hair, foliage) are dropped before the mask is grown.
Inpainting works one crop per (merged) mask region with context around it:
regions whose surrounding ring is flat, like the inside of a speech bubble,
get the plane through the ring's colours (exact on flat paper, and a soft
gradient keeps its slope), which is instant; the network paints the rest
(screentone, hatching, photos) at a bounded working resolution.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from . import blobcheck, masks
from .masks import MaskParams
from .networks import Networks
from .pixels import check_image, from_unit_rgb, to_u8_rgb, to_unit_rgb, write_color
from .structure import hole_rings, plane_fill

Progress = Callable[[float, str], None]
CancelCheck = Callable[[], bool]


class Cancelled(Exception):
    """The caller asked to stop; nothing was returned."""


@dataclass(frozen=True)
class PipelineConfig:
    # Largest segmenter tile side at working scale. The segmenter is trained on 512² crops, and its image
    # pooling (a mean over the whole input) and widest ASPP taps only ever saw one crop's context: over a
    # 1024-px tile of mostly paper its probabilities on text sank. On 30 generated held-out pages
    # (bench/heldout_pages.py, 3 px tolerance) 512 / 48 gave F1 0.772 against 0.712 for one 1024 tile
    # with the 0.3 weights, in less time (19.7 s against 29.0 s for 12 pages); see the model card.
    tile: int = 512
    margin: int = 48  # overlap between neighbouring tiles is 2 × margin, blended
    # Pages whose short side is over this are segmented at 1/k. The short side, not the long one:
    # lettering size follows the page's width, and a webtoon strip is long because it holds more
    # panels, not bigger ones, so a 800×30000 strip is segmented at full resolution, in tiles.
    max_working_short_side: int = 2048
    batch: int = 2  # tiles per forward pass
    # Runs of at least flat_run_rows rows (at working scale) in which every channel spans at most
    # flat_range levels are not segmented: a webtoon's gutters. 0 turns it off.
    flat_run_rows: int = 48
    flat_range: int = 6
    inpaint_max_side: int = 512  # crops larger than this are inpainted downscaled
    merge_px: int = 8  # mask regions closer than this share a crop
    flat_ring_px: int = 3  # width of the ring tested for flatness
    flat_tolerance: float = 0.1  # a ring pixel this far from the ring's median is "not flat"
    flat_outliers: float = 0.01  # share of such pixels a flat ring may have (JPEG noise)
    # Display lettering larger than the segmenter's receptive field can be found by a second pass at
    # 1/coarse_factor scale; only blobs of that pass at least coarse_min_side px across (at working
    # scale) are kept, because at that scale small dark art would look like dialogue. Off (0) by
    # default: on generated 300-400 px lettering it raised recall from 0.13 to 0.85, but on the real
    # pages it took hair, faces and foliage for lettering (precision 0.83 -> 0.46 on a manga spread).
    # With 0.4 at factor 4 it finds 006014's title (real-page mean F1 0.875 -> 0.900, no real page
    # worse), but on 36 generated text-free pages it marked 0.57% of the page against 0.14% (12.7% of
    # one manga page): blobs the full pass does not see are exactly what it adds. So still off.
    coarse_factor: int = 0
    coarse_min_side: int = 120
    # A coarse blob is added only where the full-resolution pass marked at most this share of it: the
    # coarse pass is there for lettering too large to be seen at all, and where the full pass did see
    # it, the coarse blob's 4-px-blocky rim only spills into the art around (on 30 generated held-out
    # pages with coarse_factor 4, precision 3 px 0.840 with every blob, 0.915 with this, 0.927 off).
    coarse_max_found: float = 0.15
    # Blobs on plain ground are taken back to within 2 px of their ink (masks.fit_to_ink) before the
    # mask is grown: on the real pages precision rose by 0.01-0.03 with recall within 0.001.
    fit_to_ink: bool = True
    # The segmenter's probability is averaged with a second pass at this many times the working scale
    # (0: off), run only where it can change the mask. On the real pages precision rose to 0.90 and
    # more on every referenced page (006013 0.812 -> 0.902), where a higher threshold alone gave 0.844
    # at 0.7; on the validation crops F1 stayed within 0.004 (see the model card).
    second_scale: float = 1.25


def _ceil16(n: int) -> int:
    return (n + 15) // 16 * 16


def _tiling(length: int, max_tile: int, margin: int) -> tuple[int, list[int]]:
    """(tile length, starts) covering ``length`` with as few, as evenly sized tiles as fit ``max_tile``.

    Fixed-size tiles waste compute on overlap (a 512 tile with 64-px margins
    processes 1.9× the page); sizing the tiles to the page keeps the overlap
    to the 2 × ``margin`` that hides the seams.
    """
    if length <= max_tile:
        return _ceil16(length), [0]
    n = math.ceil((length - 2 * margin) / (max_tile - 2 * margin))
    tile = min(max_tile, _ceil16(math.ceil((length + 2 * margin * (n - 1)) / n)))
    return tile, [(length - tile) * i // (n - 1) for i in range(n)]


def _ramp(length: int, margin: int) -> np.ndarray:
    """Blending weights along one tile side: rising over the first 2 × margin pixels, falling over the last."""
    ramp = np.ones(length, np.float32)
    margin = min(margin, length // 4)
    if margin > 0:
        r = (np.arange(2 * margin, dtype=np.float32) + 0.5) / (2 * margin)
        ramp[: 2 * margin] = r
        ramp[-2 * margin :] = np.minimum(ramp[-2 * margin :], r[::-1])
    return ramp


def _shrink(array: np.ndarray, k: int, convert: Callable[[np.ndarray], np.ndarray], strip: int = 512) -> np.ndarray:
    """``convert`` then area-average by the whole factor ``k``, in row strips."""
    if k == 1:
        return convert(array)
    h, w = array.shape[:2]
    hk, wk = math.ceil(h / k), math.ceil(w / k)
    rows = []
    step = strip * k
    for y in range(0, h, step):
        part = convert(array[y : y + step])
        ph, pw = (-part.shape[0]) % k, (-w) % k
        if ph or pw:
            part = cv2.copyMakeBorder(part, 0, ph, 0, pw, cv2.BORDER_REPLICATE)
        rows.append(cv2.resize(part, (part.shape[1] // k, part.shape[0] // k), interpolation=cv2.INTER_AREA))
    out = np.concatenate(rows, axis=0)
    return out[:hk, :wk]


def _as_mask(mask: np.ndarray, shape: tuple[int, int], name: str) -> np.ndarray:
    if not isinstance(mask, np.ndarray) or mask.shape[:2] != shape or (mask.ndim == 3 and mask.shape[2] != 1):
        got = getattr(mask, "shape", type(mask).__name__)
        raise ValueError(f"{name} must be an H×W array matching the image ({shape[1]}×{shape[0]}), got {got}")
    return mask.reshape(shape)


class Pipeline:
    """Segment, post-process and inpaint with one set of ``Networks`` (``backend.ModelRunner`` ships)."""

    def __init__(
        self,
        runner: Networks,
        config: PipelineConfig | None = None,
        blob_model: blobcheck.BlobModel | None | str = "shipped",
    ) -> None:
        """``blob_model``: the blob check's trees; "shipped" takes the one made for the runner's segmenter
        (none when the runner has other weights: a check fitted to one segmenter's mistakes is no
        judge of another's), None turns the check off."""
        self.runner = runner
        self.config = config or PipelineConfig()
        self.blob_model = blobcheck.shipped_for(runner) if blob_model == "shipped" else blob_model

    def info(self) -> dict:
        """Device, backend, model versions and whether they are trained, for status replies and logs."""
        return self.runner.info()

    # ------------------------------------------------------------ segmentation

    def working_factor(self, shape: tuple[int, int]) -> int:
        return max(1, math.ceil(min(shape) / self.config.max_working_short_side))

    def probabilities(
        self,
        image: np.ndarray,
        region: np.ndarray | None = None,
        progress: Progress | None = None,
        cancel: CancelCheck | None = None,
    ) -> tuple[np.ndarray, int]:
        """Text probability (uint8, 0..255) at working scale 1/k, and k."""
        check_image(image)
        h, w = image.shape[:2]
        k = self.working_factor((h, w))
        # At full scale the page is converted tile by tile (to_u8_rgb returns a u8 RGB page as is);
        # shrunk, the working copy is 1/k² of the page.
        work = _shrink(image, k, to_u8_rgb) if k > 1 else image
        hk, wk = (math.ceil(h / k), math.ceil(w / k))
        region_k = None
        if region is not None:
            # Converted strip by strip inside _shrink, so a huge page's region is never copied whole.
            region_k = _shrink(_as_mask(region, (h, w), "region"), k, lambda a: (a > 0).astype(np.uint8) * 255) > 0
        prob = np.zeros((hk, wk), np.uint8)
        bands = self._content_bands(work)
        total_rows = sum(y1 - y0 for y0, y1 in bands) or 1
        done_rows = 0
        for y0, y1 in bands:
            band_progress = None
            if progress:

                def band_progress(f: float, name: str, y0: int = y0, y1: int = y1, before: int = done_rows) -> None:
                    progress((before + f * (y1 - y0)) / total_rows, name)

            self._segment_band(
                work[y0:y1],
                prob[y0:y1],
                None if region_k is None else region_k[y0:y1],
                band_progress,
                cancel,
            )
            done_rows += y1 - y0
        if progress and not bands:
            progress(1.0, "segment")
        return prob, k

    def _content_bands(self, work: np.ndarray) -> list[tuple[int, int]]:
        """Row ranges of ``work`` that can hold text: all of it, less long runs of flat rows.

        A digital webtoon strip is panels separated by gutters of one flat colour, often a third of
        its length; a row whose every channel spans a few levels cannot hold visible text, so runs of
        them are not segmented (their probability is 0). Scanned pages have paper noise and seldom
        have such rows; for them this is one band, the page. Each band keeps ``margin`` flat rows
        above and below, so glyphs next to a gutter are seen with the same context as inside.
        """
        c = self.config
        hk = work.shape[0]
        if c.flat_run_rows <= 0 or hk < 2 * c.flat_run_rows:
            return [(0, hk)]
        flat = np.empty(hk, bool)
        for y in range(0, hk, 512):  # converted in strips: never a second full-page copy
            rows = to_u8_rgb(work[y : y + 512])
            flat[y : y + 512] = (rows.max(axis=1).astype(np.int16) - rows.min(axis=1)).max(axis=1) <= c.flat_range
        bands: list[tuple[int, int]] = []
        y = 0
        while y < hk:
            while y < hk and flat[y]:
                y += 1
            if y >= hk:
                break
            start = y
            # A band ends at the first run of flat rows long enough to be a gutter.
            run = 0
            while y < hk and run < c.flat_run_rows:
                run = run + 1 if flat[y] else 0
                y += 1
            end = y - run
            lo, hi = max(0, start - c.margin), min(hk, end + c.margin)
            if bands and lo <= bands[-1][1]:
                bands[-1] = (bands[-1][0], hi)
            else:
                bands.append((lo, hi))
        return bands

    def _segment_band(
        self,
        work: np.ndarray,
        prob: np.ndarray,
        region_k: np.ndarray | None,
        progress: Progress | None,
        cancel: CancelCheck | None,
    ) -> None:
        """Write into ``prob`` (uint8) the text probability of ``work`` (same rows), in blended tiles."""
        hk, wk = prob.shape
        margin = self.config.margin
        th, ys = _tiling(hk, self.config.tile, margin)
        tw, xs = _tiling(wk, self.config.tile, margin)
        ph, pw = max(hk, th), max(wk, tw)  # a side shorter than a tile is padded to one tile

        def tile_at(y: int, x: int) -> np.ndarray:
            t = to_u8_rgb(work[y : y + th, x : x + tw])
            if t.shape[0] < th or t.shape[1] < tw:
                t = cv2.copyMakeBorder(t, 0, th - t.shape[0], 0, tw - t.shape[1], cv2.BORDER_REPLICATE)
            return t

        # Overlapping tiles are blended with weights that ramp up across the
        # overlap: ASPP's image pooling gives each tile its own global context,
        # and a hard cut between two tiles would show as a seam.
        ramp_y = _ramp(th, margin)
        ramp_x = _ramp(tw, margin)
        tiles = []
        for y in ys:
            for x in xs:
                if region_k is not None and not region_k[y : min(y + th, hk), x : min(x + tw, wk)].any():
                    continue
                tiles.append((y, x))

        def weights_at(y: int, x: int) -> np.ndarray:  # made per tile: held for all, they would be a page
            wy = ramp_y.copy()
            wx = ramp_x.copy()
            if y == 0:
                wy[: th // 2] = 1.0
            if y + th >= ph:
                wy[th // 2 :] = 1.0
            if x == 0:
                wx[: tw // 2] = 1.0
            if x + tw >= pw:
                wx[tw // 2 :] = 1.0
            return np.outer(wy, wx)

        # The blend sums live only for the rows that tiles still to come can reach: rows above the
        # next tile's top are final and go out as uint8, so a 100000-row strip needs a few tile rows
        # of float buffers, not two page-sized ones.
        top = 0  # band row of the buffers' first row
        total = np.zeros((0, pw), np.float32)
        weight = np.zeros((0, pw), np.float32)
        for b in range(0, len(tiles), self.config.batch):
            if cancel and cancel():
                raise Cancelled()
            group = tiles[b : b + self.config.batch]
            out = self.runner.segment(np.stack([tile_at(y, x) for y, x in group]))
            bottom = max(y for y, _ in group) + th
            if bottom - top > total.shape[0]:
                grow_by = bottom - top - total.shape[0]
                total = np.concatenate([total, np.zeros((grow_by, pw), np.float32)])
                weight = np.concatenate([weight, np.zeros((grow_by, pw), np.float32)])
            for (y, x), p in zip(group, out):
                wt = weights_at(y, x)
                total[y - top : y - top + th, x : x + tw] += p * wt
                weight[y - top : y - top + th, x : x + tw] += wt
            done = tiles[b + len(group)][0] if b + len(group) < len(tiles) else ph
            if done > top:
                # Rows past the buffers were reached by no tile (those tiles lay outside the region):
                # ``prob`` already holds 0 there, and a gap of skipped tile rows is never allocated.
                n = min(done - top, total.shape[0])
                rows = np.divide(total[:n], weight[:n], out=np.zeros_like(total[:n]), where=weight[:n] > 0)
                lo, hi = top, min(top + n, hk)
                if hi > lo:
                    prob[lo:hi] = (rows[: hi - lo, :wk] * 255 + 0.5).astype(np.uint8)
                total, weight, top = total[n:], weight[n:], done
            if progress:
                progress(min(1.0, (b + len(group)) / len(tiles)), "segment")
        if region_k is not None:
            prob[~region_k] = 0

    def segment(
        self,
        image: np.ndarray,
        region: np.ndarray | None = None,
        params: MaskParams | None = None,
        progress: Progress | None = None,
        cancel: CancelCheck | None = None,
        protect: np.ndarray | None = None,
        one_pass: bool = False,
    ) -> np.ndarray:
        """H×W uint8 mask (255 = text to remove), post-processed per ``params``.

        ``region`` (nonzero): look for text only there. ``protect`` (nonzero): never part of the mask,
        whatever the segmenter or the growing says; faces or a logo the user wants left as they are.
        ``one_pass``: without the second look at ``second_scale`` (what ``--bubbles-only`` was made on).
        """
        params = (params or MaskParams()).validated()
        h, w = image.shape[:2]
        prob, k = self.probabilities(image, region, progress, cancel)
        threshold = params.threshold if params.threshold is not None else self.runner.default_threshold
        if not one_pass:
            self._add_second_scale(image, k, prob, threshold, cancel)
        self._add_large_lettering(image, k, prob, threshold, cancel)
        binary = self.binary_mask(prob, k, params)
        self._refine_blobs(image, k, prob, binary, params.check_blobs and self.blob_model is not None)
        del prob
        if k > 1:
            binary = cv2.resize(binary, (w, h), interpolation=cv2.INTER_LINEAR)
            cv2.threshold(binary, 127, 255, cv2.THRESH_BINARY, dst=binary)
        mask = masks.grow(binary, params.grow)
        if region is not None:
            mask[_as_mask(region, (h, w), "region") == 0] = 0
        if protect is not None:
            mask[_as_mask(protect, (h, w), "protect") > 0] = 0
        return mask

    def binary_mask(self, prob: np.ndarray, k: int, params: MaskParams) -> np.ndarray:
        """``prob`` (at 1/k) thresholded, glyph counters filled and specks dropped: 0/255 uint8 at 1/k."""
        threshold = params.threshold if params.threshold is not None else self.runner.default_threshold
        binary = cv2.compare(prob, max(1, round(threshold * 255)), cv2.CMP_GE)  # 0/255, no wide temporaries

        def clean_band(band: np.ndarray) -> None:
            if params.fill_holes:
                masks.fill_enclosed(band, params.max_hole_area // (k * k))
            masks.drop_specks(band, math.ceil(params.min_area / (k * k)))

        masks.in_bands(binary, clean_band)
        return binary

    def _refine_blobs(self, image: np.ndarray, k: int, prob: np.ndarray, binary: np.ndarray, check: bool) -> None:
        """Look at ``binary``'s blobs (at 1/k) with the page's colours: drop those the blob check takes
        for art (when ``check``), then fit those on plain ground to their ink; band by band."""
        if not (check or self.config.fit_to_ink):
            return
        # Bands of about a thousand rows: the check's per-pixel maps (labels, distances, edges; some
        # 20 B/px) then stay a few MB on a long strip. No blob crosses a cut, so this is exact.
        for y0, y1 in masks.bands(binary, min_rows=1024):
            rgb = _shrink(image[y0 * k : y1 * k], k, to_u8_rgb)
            if check:
                blobcheck.drop_art(rgb, prob[y0:y1], binary[y0:y1], self.blob_model)
            if self.config.fit_to_ink:
                masks.fit_to_ink(rgb, binary[y0:y1])

    def _add_second_scale(
        self, image: np.ndarray, k: int, prob: np.ndarray, threshold: float, cancel: CancelCheck | None
    ) -> None:
        """Average into ``prob`` (at 1/k, in place) a pass at ``second_scale`` × the working scale, where it can count.

        Under the mean, a pixel whose first probability is below 2·threshold − 1 stays below the
        threshold whatever the second pass says, so only the others, with ``margin`` of context (as a
        tile's middle has), are looked at again: at the shipped threshold (0.6), pixels of 0.2 and more.
        """
        s = self.config.second_scale
        if s <= 1 or not prob.any():
            return
        floor = max(0, math.ceil((2 * threshold - 1) * 255))
        gate = cv2.compare(prob, floor, cv2.CMP_GE) if floor > 0 else np.full(prob.shape, 255, np.uint8)
        context = self.config.margin  # what a tile has around its middle
        grown = cv2.dilate(gate, np.ones((2 * context + 1, 2 * context + 1), np.uint8))
        n, labels, stats, _ = cv2.connectedComponentsWithStats(grown, connectivity=8)
        del gate, grown
        # Tall regions (a strip's column of balloons) in pieces, so the upscaled copy stays small.
        step = max(256, self.config.tile * 2)
        for i in range(1, n):
            x, y, bw, bh = (int(v) for v in stats[i, :4])
            for top in range(y, y + bh, step):
                if cancel and cancel():
                    raise Cancelled()
                y0, y1 = max(y, top - context), min(y + bh, top + step + context)
                piece = _shrink(image[y0 * k : y1 * k, x * k : (x + bw) * k], k, to_u8_rgb)
                ph, pw = piece.shape[:2]
                up = cv2.resize(piece, (round(pw * s), round(ph * s)), interpolation=cv2.INTER_CUBIC)
                second = np.zeros(up.shape[:2], np.uint8)
                self._segment_band(up, second, None, None, cancel)
                second = cv2.resize(second, (pw, ph), interpolation=cv2.INTER_AREA)
                c0, c1 = top - y0, min(y + bh, top + step) - y0  # this piece's own rows
                core = (slice(top, y0 + c1), slice(x, x + bw))
                own = labels[core] == i
                first = prob[core]
                first[own] = (first[own].astype(np.uint16) + second[c0:c1][own] + 1) // 2

    def _add_large_lettering(
        self, image: np.ndarray, k: int, prob: np.ndarray, threshold: float, cancel: CancelCheck | None
    ) -> None:
        """Merge (in place) into ``prob`` (at 1/k) the large blobs a pass at 1/(k·coarse_factor) finds."""
        f = self.config.coarse_factor
        hk, wk = prob.shape
        if f <= 1 or min(hk, wk) < self.config.coarse_min_side * 2:
            return
        if cancel and cancel():
            raise Cancelled()
        small = _shrink(image, k * f, to_u8_rgb)
        # Tiled like the page itself, so a long strip's coarse pass stays within the same memory bound.
        coarse_u8, _ = self.probabilities(small, cancel=cancel)
        coarse = coarse_u8.astype(np.float32) / 255
        blobs = (coarse >= threshold).astype(np.uint8)
        cut = max(1, round(threshold * 255))
        _n, labels, stats, _ = cv2.connectedComponentsWithStats(blobs, connectivity=8)
        side = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]) * f
        keep = np.nonzero(side >= self.config.coarse_min_side)[0]
        keep = keep[keep > 0]
        if not len(keep):
            return
        for i in keep:
            # Each kept blob is scaled up within its own box only: a long strip never needs a full-size copy.
            x, y, bw, bh = (int(v) for v in stats[i, :4])
            x0, y0, x1, y1 = (
                max(0, x - 1),
                max(0, y - 1),
                min(labels.shape[1], x + bw + 1),
                min(labels.shape[0], y + bh + 1),
            )
            part = np.where(labels[y0:y1, x0:x1] == i, coarse[y0:y1, x0:x1], 0).astype(np.float32)
            X0, Y0, X1, Y1 = x0 * f, y0 * f, min(wk, x1 * f), min(hk, y1 * f)
            up = cv2.resize(part, ((x1 - x0) * f, (y1 - y0) * f), interpolation=cv2.INTER_LINEAR)
            up = (up[: Y1 - Y0, : X1 - X0] * 255 + 0.5).astype(np.uint8)
            here = prob[Y0:Y1, X0:X1]
            blob = up >= cut
            if here[blob].size and (here[blob] >= cut).mean() > self.config.coarse_max_found:
                continue
            np.maximum(here, up, out=here)

    # -------------------------------------------------------------- inpainting

    def _regions(self, mask: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Bounding boxes (x0, y0, x1, y1) of mask regions, nearby ones merged."""
        h, w = mask.shape
        f = max(1, math.ceil(math.sqrt(h * w / 8e6)))
        small = (_shrink(mask, f, lambda a: a) > 0).astype(np.uint8) if f > 1 else (mask > 0).astype(np.uint8)
        merge = max(1, self.config.merge_px // f)
        small = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * merge + 1, 2 * merge + 1)))
        n, _, stats, _ = cv2.connectedComponentsWithStats(small, connectivity=8)
        boxes = []
        for i in range(1, n):
            x, y, bw, bh = (int(v) for v in stats[i, :4])
            boxes.append((max(0, x * f - f), max(0, y * f - f), min(w, (x + bw) * f + f), min(h, (y + bh) * f + f)))
        return boxes

    def _flat_fill(self, rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
        """Fill hole components whose surrounding ring is one flat colour; return what is left."""
        remaining = hole.copy()
        for box, comp, ring in hole_rings(hole, self.config.flat_ring_px):
            values = rgb[box][ring]
            if len(values) < 8:
                continue
            median = np.median(values, axis=0)
            deviation = np.abs(values - median).max(axis=1)
            if np.mean(deviation > self.config.flat_tolerance) <= self.config.flat_outliers:
                # The plane through the ring's inliers, not their median: a flat ring gives its colour
                # exactly, and a soft gradient (a colour sky, an airbrushed balloon) keeps its slope
                # across the hole instead of showing a patch of one colour (+10 dB in the text zone of
                # generated gradient tiles, bench/inpainting.py).
                inliers = ring.copy()
                inliers[ring] = deviation <= self.config.flat_tolerance
                rgb[box][comp], _ = plane_fill(rgb[box], inliers, comp)
                remaining[box][comp] = False
        return remaining

    def _model_fill(self, rgb: np.ndarray, hole: np.ndarray) -> None:
        """Paint ``hole`` in ``rgb`` (in place) with the network, at a bounded working size."""
        h, w = hole.shape
        s = min(1.0, self.config.inpaint_max_side / max(h, w))
        if s < 1.0:
            size = (max(8, round(w * s)), max(8, round(h * s)))
            small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
            small_hole = cv2.resize(hole.astype(np.uint8) * 255, size, interpolation=cv2.INTER_AREA) > 0
            pred = cv2.resize(self.runner.inpaint(small, small_hole), (w, h), interpolation=cv2.INTER_LINEAR)
        else:
            pred = self.runner.inpaint(rgb, hole)
        known = rgb[~hole]
        if known.size and float(np.abs(known - known.mean(axis=1, keepdims=True)).max()) <= 2.5 / 255:
            # A black-and-white page stays black and white: the network's three
            # channels can drift apart, and a tinted patch on a gray page shows.
            pred = np.repeat(pred.mean(axis=2, keepdims=True), 3, axis=2)
        rgb[hole] = pred[hole]

    def inpaint(
        self,
        image: np.ndarray,
        mask: np.ndarray,
        flat_fill: bool = True,
        progress: Progress | None = None,
        cancel: CancelCheck | None = None,
    ) -> np.ndarray:
        """A copy of ``image`` with the pixels under ``mask`` (nonzero) repainted."""
        check_image(image)
        h, w = image.shape[:2]
        mask = _as_mask(mask, (h, w), "mask")
        out = image.copy()
        boxes = self._regions(mask)
        for i, (x0, y0, x1, y1) in enumerate(boxes):
            if cancel and cancel():
                raise Cancelled()
            # Context: enough surrounding texture for the network to continue.
            c = max(24, (max(x1 - x0, y1 - y0)) // 4)
            cx0, cy0, cx1, cy1 = max(0, x0 - c), max(0, y0 - c), min(w, x1 + c), min(h, y1 + c)
            hole = mask[cy0:cy1, cx0:cx1] > 0
            rgb = to_unit_rgb(image[cy0:cy1, cx0:cx1])
            remaining = self._flat_fill(rgb, hole) if flat_fill else hole
            if remaining.any():
                self._model_fill(rgb, remaining)
            # Write back only this region's box: a neighbour's pixels are its own crop's job.
            own = np.zeros_like(hole)
            own[y0 - cy0 : y1 - cy0, x0 - cx0 : x1 - cx0] = hole[y0 - cy0 : y1 - cy0, x0 - cx0 : x1 - cx0]
            ys, xs = np.nonzero(own)
            write_color(out, ys + cy0, xs + cx0, from_unit_rgb(rgb[ys, xs], image))
            if progress:
                progress((i + 1) / len(boxes), "inpaint")
        if progress and not boxes:
            progress(1.0, "inpaint")
        return out

    def remove_text(
        self,
        image: np.ndarray,
        region: np.ndarray | None = None,
        params: MaskParams | None = None,
        flat_fill: bool = True,
        progress: Progress | None = None,
        cancel: CancelCheck | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Find text (inside ``region`` if given) and inpaint it: (mask, cleaned image)."""

        def stage(lo: float, hi: float) -> Progress | None:
            return (lambda f, name: progress(lo + (hi - lo) * f, name)) if progress else None

        mask = self.segment(image, region, params, stage(0.0, 0.5), cancel)
        cleaned = self.inpaint(image, mask, flat_fill, stage(0.5, 1.0), cancel)
        return mask, cleaned


_default: Pipeline | None = None


def default_pipeline() -> Pipeline:
    """A process-wide pipeline with the shipped weights on the best device."""
    global _default
    if _default is None:
        from .backend import ModelRunner  # torch loads only when a pipeline is really made

        _default = Pipeline(ModelRunner("auto"))
    return _default


def segment(image: np.ndarray, region: np.ndarray | None = None, params: MaskParams | None = None) -> np.ndarray:
    return default_pipeline().segment(image, region, params)


def inpaint(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return default_pipeline().inpaint(image, mask)


def remove_text(
    image: np.ndarray, region: np.ndarray | None = None, params: MaskParams | None = None
) -> tuple[np.ndarray, np.ndarray]:
    return default_pipeline().remove_text(image, region, params)
