"""MobileNetV2 (Sandler et al. 2018), written here because torchvision is not usable.

The backbone can trade its last strides for dilation, which is how DeepLabV3+
reaches output stride 16 without losing the receptive field of the deep stages.
"""

from __future__ import annotations

import torch
from torch import nn

# (expansion t, output channels c, repeats n, first stride s), as in the paper.
INVERTED_RESIDUAL_SETTING: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of ``divisor`` without dropping below 90%."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


class ConvBNReLU6(nn.Sequential):
    def __init__(
        self, cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1, dilation: int = 1
    ) -> None:
        padding = (kernel - 1) // 2 * dilation
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride, padding, dilation=dilation, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    """Expand 1x1, depthwise 3x3, project 1x1 (linear), with a skip when shapes allow."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int, dilation: int = 1) -> None:
        super().__init__()
        hidden = int(round(cin * expand))
        self.use_skip = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(ConvBNReLU6(cin, hidden, kernel=1))
        layers += [
            ConvBNReLU6(hidden, hidden, stride=stride, groups=hidden, dilation=dilation),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return x + out if self.use_skip else out


class MobileNetV2Features(nn.Module):
    """MobileNetV2 feature extractor returning (1/4-scale features, deepest features).

    ``output_stride=16`` replaces the stride of the last strided stage with
    dilation 2, so the deepest features stay at 1/16 of the input.
    """

    def __init__(self, width_mult: float = 1.0, output_stride: int = 16, in_channels: int = 3) -> None:
        super().__init__()
        if output_stride not in (8, 16, 32):
            raise ValueError("output_stride must be 8, 16 or 32")
        stem = make_divisible(32 * width_mult)
        layers: list[nn.Module] = [ConvBNReLU6(in_channels, stem, stride=2)]
        current_stride, dilation, cin = 2, 1, stem
        self.low_level_index = -1
        for t, c, n, s in INVERTED_RESIDUAL_SETTING:
            cout = make_divisible(c * width_mult)
            for i in range(n):
                stride = s if i == 0 else 1
                block_dilation = dilation
                if stride == 2 and current_stride >= output_stride:
                    # Keep resolution: the stride becomes dilation from here on.
                    stride = 1
                    dilation *= 2
                    block_dilation = dilation // 2 if i == 0 else dilation
                elif stride == 2:
                    current_stride *= 2
                layers.append(InvertedResidual(cin, cout, stride, t, block_dilation))
                cin = cout
            if current_stride == 4 and self.low_level_index < 0 and c == 24:
                self.low_level_index = len(layers)
        self.features = nn.ModuleList(layers)
        self.low_level_channels = make_divisible(24 * width_mult)
        self.out_channels = cin

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        low = x
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i + 1 == self.low_level_index:
                low = x
        return low, x
