"""Inpainter: a UNet in which every convolution is a gated convolution.

Gated convolutions (Yu et al. 2019, *Free-Form Image Inpainting with Gated
Convolution*) learn a soft, per-pixel, per-channel validity mask, so the
network is not fooled by the zeroed hole the way a plain convolution is.
Dilated gated convolutions in the bottleneck widen the receptive field so
that screentone and lines are continued from far enough away.

Input: RGB in [0, 1] with the hole zeroed, plus the hole mask (1 = hole).
Output: RGB in [0, 1]. Only hole pixels of the output are meant to be used.

With ``guided=True`` (the shipped configuration) the network also gets a
coarse fill of the hole (``textclean.structure``: the ring's screentone and
lines continued, Telea's fill elsewhere) and predicts a correction to it:
a coarse-to-fine pair as in Yu et al., whose coarse stage costs no
training. Its last layer starts at zero, so an untrained network returns
exactly the coarse fill and training only has to learn what the coarse
fill gets wrong. MODEL_CARD.md compares the guided and plain networks.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .config import ConfigDict


@dataclass(frozen=True)
class InpainterConfig(ConfigDict):
    base_channels: int = 16
    bottleneck_dilations: tuple[int, ...] = (2, 4, 8, 16)
    guided: bool = False


class GatedConv2d(nn.Module):
    """``act(feature) * sigmoid(gate)``, both from one convolution for speed."""

    def __init__(
        self, cin: int, cout: int, kernel: int = 3, stride: int = 1, dilation: int = 1, activation: bool = True
    ) -> None:
        super().__init__()
        padding = (kernel - 1) // 2 * dilation
        self.conv = nn.Conv2d(cin, 2 * cout, kernel, stride, padding, dilation=dilation)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feature, gate = self.conv(x).chunk(2, dim=1)
        if self.activation:
            feature = F.elu(feature)
        return feature * torch.sigmoid(gate)


class GatedUNet(nn.Module):
    """Three downsamplings to 1/8 scale, a dilated gated bottleneck, and skips back up.

    Channels double at each scale (c, 2c, 4c, 8c) so that the full-resolution
    layers, which dominate the cost, stay narrow.
    """

    #: Input sides must be multiples of this.
    multiple = 8

    def __init__(self, config: InpainterConfig | None = None) -> None:
        super().__init__()
        self.config = config or InpainterConfig()
        c = self.config.base_channels
        self.enc0 = nn.Sequential(GatedConv2d(7 if self.config.guided else 4, c, 5), GatedConv2d(c, c))
        self.enc1 = nn.Sequential(GatedConv2d(c, 2 * c, stride=2), GatedConv2d(2 * c, 2 * c))
        self.enc2 = nn.Sequential(GatedConv2d(2 * c, 4 * c, stride=2), GatedConv2d(4 * c, 4 * c))
        self.enc3 = nn.Sequential(GatedConv2d(4 * c, 8 * c, stride=2), GatedConv2d(8 * c, 8 * c))
        self.bottleneck = nn.Sequential(
            *[GatedConv2d(8 * c, 8 * c, dilation=d) for d in self.config.bottleneck_dilations]
        )
        self.dec2 = nn.Sequential(GatedConv2d(12 * c, 4 * c), GatedConv2d(4 * c, 4 * c))
        self.dec1 = nn.Sequential(GatedConv2d(6 * c, 2 * c), GatedConv2d(2 * c, 2 * c))
        self.dec0 = nn.Sequential(GatedConv2d(3 * c, c), GatedConv2d(c, c))
        self.out = GatedConv2d(c, 3, activation=False)
        if self.config.guided:
            nn.init.zeros_(self.out.conv.weight)
            nn.init.zeros_(self.out.conv.bias)

    @staticmethod
    def _up(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, size=like.shape[-2:], mode="nearest")

    def forward(self, image: torch.Tensor, mask: torch.Tensor, guide: torch.Tensor | None = None) -> torch.Tensor:
        """``image``: N×3×H×W in [0, 1]; ``mask``: N×1×H×W, 1 inside the hole;
        ``guide`` (guided networks only): N×3×H×W, a coarse fill of the hole in [0, 1]."""
        known = image * (1 - mask)
        parts = [known * 2 - 1, mask]
        if self.config.guided:
            if guide is None:
                raise ValueError("this inpainter is guided: pass the coarse fill as `guide`")
            guide = known + guide * mask  # the coarse fill can only speak for the hole
            parts.append(guide * 2 - 1)
        x = torch.cat(parts, dim=1)
        e0 = self.enc0(x)
        e1 = self.enc1(e0)
        e2 = self.enc2(e1)
        e3 = self.bottleneck(self.enc3(e2))
        d2 = self.dec2(torch.cat([self._up(e3, e2), e2], dim=1))
        d1 = self.dec1(torch.cat([self._up(d2, e1), e1], dim=1))
        d0 = self.dec0(torch.cat([self._up(d1, e0), e0], dim=1))
        if self.config.guided:
            return torch.clamp(guide + self.out(d0), 0.0, 1.0)
        # out is feature*sigmoid(gate) in roughly [-inf, inf]; map to [0, 1].
        return torch.clamp(self.out(d0) * 0.5 + 0.5, 0.0, 1.0)
