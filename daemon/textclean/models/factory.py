"""Named presets and one factory, as timm does: each shipped architecture is defined here only.

``build(kind, "shipped")`` is the network the daemon ships; a weight file
stores its own configuration, which ``build(kind, weights.config)`` reads
back, so loading never guesses.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from .inpainter import GatedUNet, InpainterConfig
from .segmenter import SegmenterConfig, TextSegmenter

ARCHITECTURES: dict[str, tuple[type, type[nn.Module]]] = {
    "segmenter": (SegmenterConfig, TextSegmenter),
    "inpainter": (InpainterConfig, GatedUNet),
}

PRESETS: dict[str, dict[str, Any]] = {
    "segmenter": {
        # Width 0.5, narrow separable ASPP/decoder and an 8-channel full-resolution head:
        # the CPU budget chosen with bench/models.py (see MODEL_CARD.md).
        "shipped": SegmenterConfig(width_mult=0.5, aspp_channels=96, decoder_channels=64, refine_channels=8),
        "shipped-no-head": SegmenterConfig(width_mult=0.5, aspp_channels=96, decoder_channels=64),
        "deeplabv3plus": SegmenterConfig(width_mult=1.0, aspp_channels=256, decoder_channels=256, separable=False),
    },
    "inpainter": {
        # Guided: the network corrects the structure-continuing coarse fill (textclean.structure).
        "shipped": InpainterConfig(base_channels=16, bottleneck_dilations=(2, 4, 8, 16), guided=True),
        "plain": InpainterConfig(base_channels=16, bottleneck_dilations=(2, 4, 8, 16), guided=False),
    },
}


def config_of(kind: str, preset_or_config: str | dict | Any = "shipped", **overrides: Any) -> Any:
    """The configuration named by a preset, given as a dict (a weight file's) or as a config, with overrides."""
    if kind not in ARCHITECTURES:
        raise ValueError(f"unknown model kind {kind!r}; expected one of {sorted(ARCHITECTURES)}")
    cls = ARCHITECTURES[kind][0]
    if isinstance(preset_or_config, str):
        try:
            cfg = PRESETS[kind][preset_or_config]
        except KeyError:
            raise ValueError(
                f"unknown {kind} preset {preset_or_config!r}; expected one of {sorted(PRESETS[kind])}"
            ) from None
    elif isinstance(preset_or_config, dict):
        cfg = cls.from_dict(preset_or_config)
    elif isinstance(preset_or_config, cls):
        cfg = preset_or_config
    else:
        raise TypeError(f"expected a preset name, a dict or a {cls.__name__}, got {type(preset_or_config).__name__}")
    if overrides:
        cfg = cls.from_dict({**cfg.to_dict(), **{k: v for k, v in overrides.items() if v is not None}})
    return cfg


def build(kind: str, preset_or_config: str | dict | Any = "shipped", **overrides: Any) -> nn.Module:
    """A freshly initialised ``kind`` network ("segmenter" or "inpainter")."""
    config = config_of(kind, preset_or_config, **overrides)
    return ARCHITECTURES[kind][1](config)
