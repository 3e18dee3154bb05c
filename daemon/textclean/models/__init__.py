"""The two networks: a text segmenter and an inpainter, built by name through ``build``."""

from .factory import PRESETS, build, config_of
from .inpainter import GatedUNet, InpainterConfig
from .segmenter import SegmenterConfig, TextSegmenter

__all__ = ["PRESETS", "GatedUNet", "InpainterConfig", "SegmenterConfig", "TextSegmenter", "build", "config_of"]
