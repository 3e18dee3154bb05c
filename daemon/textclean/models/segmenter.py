"""Text segmenter: DeepLabV3+ on a MobileNetV2 backbone, one logit per pixel.

The layout follows Chen et al. 2018: an atrous spatial pyramid (rates 6/12/18
plus image pooling) on 1/16-scale features, and a decoder that fuses the
1/4-scale features before upsampling to full size. The decoder and head use
SELU, as the seed design did.

An optional full-resolution refinement head (``refine_channels > 0``) looks
at the input image again next to the upsampled coarse logits. Glyph strokes
at 10-20 px text are 1-3 px wide; a 1/4-scale decoder cannot place their
edges or the gaps between them, and the head adds a residual that can.
Its last convolution starts at zero, so it begins as plain DeepLabV3+.

Width and channel counts are constructor arguments because the CPU budget is
decided by measurement (see ``bench/models.py``); the shipped configuration is
recorded in the weight file, so loading never guesses.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .config import ConfigDict
from .mobilenetv2 import MobileNetV2Features

# Danbooru statistics, the seed's argument that manga is not ImageNet.
INPUT_MEAN = (0.4935, 0.4563, 0.4544)
INPUT_STD = (0.3769, 0.3615, 0.3566)


@dataclass(frozen=True)
class SegmenterConfig(ConfigDict):
    width_mult: float = 1.0
    aspp_channels: int = 128
    decoder_channels: int = 96
    low_level_channels: int = 48
    separable: bool = True
    aspp_rates: tuple[int, int, int] = (6, 12, 18)
    refine_channels: int = 0  # 0: plain DeepLabV3+; >0: a full-resolution refinement head


def conv3x3(cin: int, cout: int, dilation: int, separable: bool, act: nn.Module) -> nn.Sequential:
    """A 3x3 (optionally depthwise-separable) convolution, BN, activation."""
    if separable:
        return nn.Sequential(
            nn.Conv2d(cin, cin, 3, padding=dilation, dilation=dilation, groups=cin, bias=False),
            nn.BatchNorm2d(cin),
            nn.Conv2d(cin, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
            act,
        )
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        act,
    )


class ASPP(nn.Module):
    def __init__(self, cin: int, cout: int, rates: tuple[int, ...], separable: bool) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            [nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))]
            + [conv3x3(cin, cout, r, separable, nn.ReLU(inplace=True)) for r in rates]
        )
        # Image pooling: no BatchNorm on a 1x1 map, which breaks at batch size 1.
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(cin, cout, 1), nn.ReLU(inplace=True))
        self.project = nn.Sequential(
            nn.Conv2d(cout * (len(rates) + 2), cout, 1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [b(x) for b in self.branches]
        pooled = self.pool(x).expand(-1, -1, x.shape[2], x.shape[3])
        return self.project(torch.cat(outs + [pooled], dim=1))


class TextSegmenter(nn.Module):
    """DeepLabV3+ / MobileNetV2. Input: RGB in [0, 1], NCHW. Output: N×1×H×W logits."""

    def __init__(self, config: SegmenterConfig | None = None) -> None:
        super().__init__()
        self.config = config or SegmenterConfig()
        c = self.config
        self.register_buffer("mean", torch.tensor(INPUT_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(INPUT_STD).view(1, 3, 1, 1), persistent=False)
        self.backbone = MobileNetV2Features(c.width_mult, output_stride=16)
        self.aspp = ASPP(self.backbone.out_channels, c.aspp_channels, c.aspp_rates, c.separable)
        self.low_level = nn.Sequential(
            nn.Conv2d(self.backbone.low_level_channels, c.low_level_channels, 1, bias=False),
            nn.BatchNorm2d(c.low_level_channels),
            nn.SELU(inplace=True),
        )
        self.decoder = nn.Sequential(
            conv3x3(c.aspp_channels + c.low_level_channels, c.decoder_channels, 1, c.separable, nn.SELU(inplace=True)),
            conv3x3(c.decoder_channels, c.decoder_channels, 1, c.separable, nn.SELU(inplace=True)),
        )
        self.classifier = nn.Conv2d(c.decoder_channels, 1, 1)
        # Text is a minority class: start the logit near its prior so early
        # training is not spent unlearning a 50/50 guess (RetinaNet's trick).
        nn.init.constant_(self.classifier.bias, -2.0)
        self.refine: nn.Module | None = None
        if c.refine_channels:
            self.refine_features = nn.Conv2d(c.decoder_channels, 4, 1)
            self.refine = nn.Sequential(
                nn.Conv2d(3 + 4 + 1, c.refine_channels, 3, padding=1),
                nn.SELU(inplace=True),
                nn.Conv2d(c.refine_channels, 1, 3, padding=1),
            )
            nn.init.zeros_(self.refine[-1].weight)
            nn.init.zeros_(self.refine[-1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        x = (x - self.mean) / self.std
        low, deep = self.backbone(x)
        deep = self.aspp(deep)
        deep = F.interpolate(deep, size=low.shape[-2:], mode="bilinear", align_corners=False)
        fused = self.decoder(torch.cat([deep, self.low_level(low)], dim=1))
        logits = F.interpolate(self.classifier(fused), size=size, mode="bilinear", align_corners=False)
        if self.refine is None:
            return logits
        feats = F.interpolate(self.refine_features(fused), size=size, mode="bilinear", align_corners=False)
        return logits + self.refine(torch.cat([x, feats, logits], dim=1))
