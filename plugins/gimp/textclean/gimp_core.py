"""The GIMP plug-in's own logic that needs no GIMP: Babl formats, rectangles, masks.

What both plugins share (actions, parameters, messages) is in
``textclean_editor``; this holds only what is GIMP's. Kept apart from
``textclean.py`` (the thin GIMP glue) so that it is tested outside the
editor. Standard library only.
"""

from __future__ import annotations

from typing import Tuple

from textclean_editor import ACTIONS, PluginError

__all__ = ["PluginError", "PROCEDURES", "KIND_OF", "wire_format", "canvas_overlap", "crop_rows", "is_empty"]

# Babl sample types the daemon takes as they are, and what the others are read as.
_WIRE_DEPTH = {"u8": "u8", "u16": "u16", "half": "f16", "float": "f32"}
_READ_AS = {"u32": "float", "double": "float"}

PROCEDURES = {
    kind: "plug-in-textclean-" + ("inpaint-selection" if kind == "inpaint" else f"{kind}-text") for kind in ACTIONS
}
KIND_OF = {name: kind for kind, name in PROCEDURES.items()}


def wire_format(encoding: str) -> Tuple[str, str, str]:
    """(Babl encoding to read and write with, protocol layout, protocol depth) for a drawable.

    The drawable's own encoding is kept whenever the daemon accepts its
    sample type, so no colour conversion can touch pixels outside the mask;
    only u32 and double are read as float.
    """
    parts = encoding.split()
    if len(parts) != 2:
        raise PluginError(f"unsupported pixel format {encoding!r}")
    components, sample = parts
    sample = _READ_AS.get(sample, sample)
    if sample not in _WIRE_DEPTH:
        raise PluginError(f"unsupported sample type in {encoding!r}")
    letters = components.replace("'", "").replace("~", "")
    if letters in ("RGBA", "RaGaBaA"):
        layout = "RGBA"
    elif letters == "RGB":
        layout = "RGB"
    elif letters in ("YA", "YaA"):
        layout = "GRAYA"
    elif letters == "Y":
        layout = "GRAY"
    else:
        raise PluginError(f"unsupported pixel format {encoding!r}; convert the image to RGB or grayscale")
    if letters in ("RaGaBaA", "YaA"):  # premultiplied: read straight alpha instead
        components = components.replace("a", "")
    return f"{components} {sample}", layout, _WIRE_DEPTH[sample]


def canvas_overlap(x: int, y: int, w: int, h: int, canvas_w: int, canvas_h: int) -> Tuple[int, int, int, int] | None:
    """The part of a layer at (x, y) of size w×h that lies on the canvas, as (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = max(0, x), max(0, y), min(canvas_w, x + w), min(canvas_h, y + h)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def crop_rows(data: bytes, width: int, bpp: int, x0: int, y0: int, x1: int, y1: int) -> bytes:
    """Rows y0..y1, columns x0..x1 of a packed image ``width`` pixels wide."""
    row = width * bpp
    return b"".join(data[y * row + x0 * bpp : y * row + x1 * bpp] for y in range(y0, y1))


def is_empty(mask: bytes) -> bool:
    return not any(mask)
