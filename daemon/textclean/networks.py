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

    def inpaint(self, image: np.ndarray, hole: np.ndarray) -> np.ndarray:
        """H×W×3 float32 in [0, 1] and an H×W bool hole → H×W×3 float32 prediction for the hole.

        The guide (``structure.prepare``) is computed on the crop as given,
        before padding; sides are then padded (reflect) to the network's
        multiple and the output cropped back. Hole pixels that ``prepare``
        settles (flat, smooth shading, continued screentone and lines) take
        the guide's fill, not the network's: measured on ``bench/inpainting.py``,
        the network's correction of a continued pattern loses PSNR on every
        background. When nothing is left unsettled the network is not run.
        """
        p = prepare(image, hole)
        if not (p.hole & ~p.settled).any():
            out = p.image.copy()
            out[p.settled] = p.guide[p.settled]
            return out
        h, w = hole.shape
        m = self.multiple
        ph, pw = (-h) % m, (-w) % m
        arrays = [
            p.image.transpose(2, 0, 1)[None],
            p.hole.astype(np.float32)[None, None],
            p.guide.transpose(2, 0, 1)[None],
        ]
        if ph or pw:
            mode = "reflect" if h > ph and w > pw else "edge"
            arrays = [
                np.pad(a, ((0, 0), (0, 0), (0, ph), (0, pw)), mode="constant" if i == 1 else mode)
                for i, a in enumerate(arrays)
            ]
        arrays = [np.ascontiguousarray(a, dtype=np.float32) for a in arrays]
        out = self.forward(arrays[0], arrays[1], arrays[2] if self.guided else None)
        pred = np.ascontiguousarray(out[0, :, :h, :w].transpose(1, 2, 0), dtype=np.float32)
        pred[p.settled] = p.guide[p.settled]
        return pred


class Networks(Protocol):
    """What the pipeline needs from whoever holds the networks (``backend.ModelRunner`` ships)."""

    @property
    def default_threshold(self) -> float: ...

    def segment(self, tiles: np.ndarray) -> np.ndarray: ...

    def inpaint(self, image: np.ndarray, hole: np.ndarray) -> np.ndarray: ...

    def info(self) -> dict: ...
