"""The two networks' interface: numpy in, numpy out, whatever runs them.

As in IOPaint's ``model/base.py``, a network implementation supplies only
its forward pass (PyTorch or ONNX Runtime, in ``backend``); everything
around it (scaling to [0, 1], the inpainter's guide, flat fill and padding)
is done here, once. The daemon, training's validation, ``evaluate`` and
``bench/`` all run the networks through these classes, so a checkpoint is
chosen with the preprocessing that ships.

This module imports no torch, so code that only needs the interface stays light.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Protocol

import cv2
import numpy as np

from .structure import prepare


class SegmentNetwork(ABC):
    """Text probabilities for batches of tiles."""

    @abstractmethod
    def forward(self, image: np.ndarray) -> np.ndarray:
        """N×3×H×W float32 in [0, 1] → N×1×H×W logits (float32)."""

    def segment(self, tiles: np.ndarray) -> np.ndarray:
        """N×H×W×3 uint8 tiles → N×H×W float32 text probabilities. H, W: multiples of 16."""
        logits = self.forward(np.ascontiguousarray(tiles.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0)
        return (1.0 / (1.0 + np.exp(-logits[:, 0].astype(np.float32)))).astype(np.float32)


class InpaintNetwork(ABC):
    """Fills a hole in one crop."""

    #: Input sides must be multiples of this (three stride-2 stages).
    multiple = 8
    guided = True

    @abstractmethod
    def forward(self, image: np.ndarray, mask: np.ndarray, guide: np.ndarray | None) -> np.ndarray:
        """1×3×H×W image, 1×1×H×W mask (1 = hole), 1×3×H×W guide or None → 1×3×H×W float32."""

    #: The network runs on windows around the hole pixels that the guide leaves to it, this many pixels of
    #: the crop on each side, not on the whole crop: on a real manga page those pixels were 2% of the
    #: crops' area. A window has the context the network was trained with (128-px crops).
    window_margin = 48
    #: Windows covering more than this share of the crop: one pass over the crop instead.
    whole_crop_share = 0.7

    def inpaint(self, image: np.ndarray, hole: np.ndarray) -> np.ndarray:
        """H×W×3 float32 in [0, 1] and an H×W bool hole → H×W×3 float32 prediction for the hole.

        The guide (``structure.prepare``) is computed on the crop as given. Hole pixels that ``prepare``
        settles (flat, smooth shading, continued screentone and lines) take the guide's fill, not the
        network's: measured on ``bench/inpainting.py``, the network's correction of a continued pattern
        loses PSNR on every background. The rest is the network's, run on windows around them (padded
        to the network's multiple); when nothing is left unsettled the network is not run.
        """
        p = prepare(image, hole)
        out = p.image.copy()
        out[p.settled] = p.guide[p.settled]
        todo = p.hole & ~p.settled
        if not todo.any():
            return out
        for (y0, y1, x0, x1), mine in self._windows(todo):
            part = (slice(y0, y1), slice(x0, x1))
            pred = self._forward_padded(p.image[part], p.hole[part], p.guide[part])
            out[part][mine] = pred[mine]
        return out

    def _windows(self, todo: np.ndarray) -> list[tuple[tuple[int, int, int, int], np.ndarray]]:
        """(y0, y1, x0, x1) boxes of the crop, each with the ``todo`` pixels it fills."""
        h, w = todo.shape
        m = self.window_margin
        if m >= max(h, w):
            return [((0, h, 0, w), todo)]
        size = 2 * m + 1
        grown = cv2.dilate(todo.astype(np.uint8), np.ones((size, size), np.uint8))
        n, labels, stats, _ = cv2.connectedComponentsWithStats(grown, connectivity=8)
        boxes = [(int(st[1]), int(st[1] + st[3]), int(st[0]), int(st[0] + st[2])) for st in stats[1:]]
        if sum((y1 - y0) * (x1 - x0) for y0, y1, x0, x1 in boxes) > self.whole_crop_share * h * w:
            return [((0, h, 0, w), todo)]
        return [
            ((y0, y1, x0, x1), todo[y0:y1, x0:x1] & (labels[y0:y1, x0:x1] == i))
            for i, (y0, y1, x0, x1) in enumerate(boxes, start=1)
        ]

    def _forward_padded(self, image: np.ndarray, hole: np.ndarray, guide: np.ndarray) -> np.ndarray:
        """The network on one window, its sides padded to ``multiple`` and the output cropped back: H×W×3."""
        h, w = hole.shape
        m = self.multiple
        ph, pw = (-h) % m, (-w) % m
        arrays = [image.transpose(2, 0, 1)[None], hole.astype(np.float32)[None, None], guide.transpose(2, 0, 1)[None]]
        if ph or pw:
            mode = "reflect" if h > ph and w > pw else "edge"
            arrays = [
                np.pad(a, ((0, 0), (0, 0), (0, ph), (0, pw)), mode="constant" if i == 1 else mode)
                for i, a in enumerate(arrays)
            ]
        arrays = [np.ascontiguousarray(a, dtype=np.float32) for a in arrays]
        out = self.forward(arrays[0], arrays[1], arrays[2] if self.guided else None)
        return np.ascontiguousarray(out[0, :, :h, :w].transpose(1, 2, 0), dtype=np.float32)


class Networks(Protocol):
    """What the pipeline needs from whoever holds the networks (``backend.ModelRunner`` ships)."""

    @property
    def default_threshold(self) -> float: ...

    def segment(self, tiles: np.ndarray) -> np.ndarray: ...

    def inpaint(self, image: np.ndarray, hole: np.ndarray) -> np.ndarray: ...

    def info(self) -> dict: ...
