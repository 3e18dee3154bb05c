"""The two networks: a text segmenter and an inpainter."""

from .inpainter import GatedUNet, InpainterConfig
from .segmenter import SegmenterConfig, TextSegmenter

__all__ = ["GatedUNet", "InpainterConfig", "SegmenterConfig", "TextSegmenter"]
