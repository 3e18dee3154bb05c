"""Params, FLOPs and CPU latency of segmenter and inpainter variants.

    python bench/models.py [--size 512] [--threads 2]

Prints one row per variant: this is how the shipped configuration was chosen.
"""

from __future__ import annotations

import argparse
import time

import torch
from textclean.models import build, config_of
from torch import nn

# Variants are the shipped presets with one thing changed, so the shipped rows are the presets themselves.
SEGMENTER_VARIANTS = {
    "dense-256 (paper)": config_of("segmenter", "deeplabv3plus"),
    "sep-256": config_of("segmenter", "deeplabv3plus", separable=True),
    "sep-128/96": config_of("segmenter", "deeplabv3plus", separable=True, aspp_channels=128, decoder_channels=96),
    "sep-128/64 w0.75": config_of("segmenter", "shipped-no-head", width_mult=0.75, aspp_channels=128),
    "sep-96/64 w0.5": config_of("segmenter", "shipped-no-head"),
    "sep-96/64 w0.5 +refine8 (shipped)": config_of("segmenter", "shipped"),
    "sep-96/64 w0.5 +refine16": config_of("segmenter", "shipped", refine_channels=16),
}
INPAINTER_VARIANTS = {
    "gated-unet c16 (shipped)": config_of("inpainter", "shipped"),
    "gated-unet c24": config_of("inpainter", "shipped", base_channels=24),
}


def count_flops(model: nn.Module, *inputs: torch.Tensor) -> int:
    """Multiply-adds of convolutions times two (the usual FLOPs convention)."""
    total = 0

    def hook(module: nn.Conv2d, _inp: tuple, out: torch.Tensor) -> None:
        nonlocal total
        k = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
        total += 2 * k * out.numel()

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    with torch.inference_mode():
        model(*inputs)
    for h in handles:
        h.remove()
    return total


def time_ms(model: nn.Module, *inputs: torch.Tensor, repeats: int = 5) -> float:
    with torch.inference_mode():
        model(*inputs)
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            model(*inputs)
            times.append(time.perf_counter() - t)
    times.sort()
    return 1000 * times[len(times) // 2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    s = args.size
    print(f"{'variant':44s} {'params':>9s} {'GFLOPs':>8s} {'ms@' + str(s):>9s}")
    for name, cfg in SEGMENTER_VARIANTS.items():
        m = build("segmenter", cfg).eval()
        x = torch.rand(1, 3, s, s)
        params = sum(p.numel() for p in m.parameters())
        print(f"segmenter {name:34s} {params:9,d} {count_flops(m, x) / 1e9:8.2f} {time_ms(m, x):9.1f}")
    for name, cfg in INPAINTER_VARIANTS.items():
        m = build("inpainter", cfg).eval()
        inputs = [torch.rand(1, 3, s, s), torch.zeros(1, 1, s, s)] + ([torch.rand(1, 3, s, s)] if cfg.guided else [])
        params = sum(p.numel() for p in m.parameters())
        print(f"inpainter {name:34s} {params:9,d} {count_flops(m, *inputs) / 1e9:8.2f} {time_ms(m, *inputs):9.1f}")


if __name__ == "__main__":
    main()
