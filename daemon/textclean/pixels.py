"""Pixel layouts and depths the pipeline accepts, and conversions for model input.

Accepted arrays: H×W (gray), H×W×1, H×W×2 (gray+alpha), H×W×3 (RGB),
H×W×4 (RGBA); dtypes uint8, uint16, float16 and float32 (floats are 0..1).
The pipeline never converts a whole page: it converts the tiles and crops
the models see, and writes results back into a copy of the input's own
layout and depth, so untouched pixels stay bit-identical.
"""

from __future__ import annotations

import numpy as np

SUPPORTED_DTYPES = (np.uint8, np.uint16, np.float16, np.float32)


class UnsupportedImage(ValueError):
    """The array's shape or dtype is not one textclean can process."""


def check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray):
        raise UnsupportedImage(f"expected a numpy array, got {type(image).__name__}")
    if image.dtype.type not in SUPPORTED_DTYPES:
        raise UnsupportedImage(f"unsupported pixel type {image.dtype}; use uint8, uint16, float16 or float32")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 2, 3, 4)):
        raise UnsupportedImage(f"unsupported image shape {image.shape}; expected H×W or H×W×{{1,2,3,4}}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise UnsupportedImage(f"image has zero size {image.shape[1]}×{image.shape[0]}")


def channels(image: np.ndarray) -> int:
    return 1 if image.ndim == 2 else image.shape[2]


def color_channels(image: np.ndarray) -> int:
    """1 for gray and gray+alpha, 3 for RGB and RGBA."""
    return 1 if channels(image) <= 2 else 3


def has_alpha(image: np.ndarray) -> bool:
    return channels(image) in (2, 4)


def max_value(dtype: np.dtype) -> float:
    if dtype == np.uint8:
        return 255.0
    if dtype == np.uint16:
        return 65535.0
    return 1.0


def to_unit_rgb(region: np.ndarray, over_white: bool = False) -> np.ndarray:
    """A tile or crop of any accepted layout as float32 RGB in [0, 1].

    ``over_white`` composites transparent pixels over white, which is how a
    reader sees a transparent layer and how the segmenter was trained.
    """
    scale = 1.0 / max_value(region.dtype)
    x = region.astype(np.float32) * scale if scale != 1.0 else region.astype(np.float32)
    if x.ndim == 2:
        x = x[..., None]
    nc = color_channels(region)
    color = x[..., :nc]
    if over_white and has_alpha(region):
        a = np.clip(x[..., -1:], 0.0, 1.0)
        color = color * a + (1.0 - a)
    if nc == 1:
        color = np.repeat(color, 3, axis=2)
    return np.clip(np.nan_to_num(color, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)


def to_u8_rgb(region: np.ndarray) -> np.ndarray:
    """Like ``to_unit_rgb(over_white=True)`` but uint8, for the 8-bit segmenter input."""
    if region.dtype == np.uint8 and region.ndim == 3 and region.shape[2] == 3:
        return region
    return (to_unit_rgb(region, over_white=True) * 255.0 + 0.5).astype(np.uint8)


def from_unit_rgb(rgb: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Float RGB in [0, 1] (N×3 or H×W×3) to the colour channels of ``like``'s layout and dtype."""
    nc = color_channels(like)
    values = rgb.mean(axis=-1, keepdims=True) if nc == 1 else rgb
    values = np.clip(values, 0.0, 1.0)
    if like.dtype.kind == "f":
        return values.astype(like.dtype)
    m = max_value(like.dtype)
    return (values * m + 0.5).astype(like.dtype)


def write_color(out: np.ndarray, ys: np.ndarray, xs: np.ndarray, values: np.ndarray) -> None:
    """Write colour ``values`` (N×nc, ``out``'s dtype) at pixels (ys, xs), leaving alpha alone."""
    if out.ndim == 2:
        out[ys, xs] = values[:, 0]
    else:
        out[ys, xs, : values.shape[1]] = values
