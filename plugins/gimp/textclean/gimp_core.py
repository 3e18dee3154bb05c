"""The GIMP plug-in's logic that needs no GIMP: formats, rectangles, masks, messages.

Kept apart from ``textclean.py`` (the thin GIMP glue) so that it is tested
outside the editor. Standard library only.
"""

from __future__ import annotations

from typing import Tuple

# Babl sample types the daemon takes as they are, and what the others are read as.
_WIRE_DEPTH = {"u8": "u8", "u16": "u16", "half": "f16", "float": "f32"}
_READ_AS = {"u32": "float", "double": "float"}

PROCEDURES = {
    "remove": "plug-in-textclean-remove-text",
    "select": "plug-in-textclean-select-text",
    "inpaint": "plug-in-textclean-inpaint-selection",
}
RESULT_LAYER_NAME = "Text removed"
INPAINT_LAYER_NAME = "Inpainted"


class PluginError(Exception):
    """A problem to show the user; the image has not been changed."""


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


def canvas_overlap(x: int, y: int, w: int, h: int, canvas_w: int, canvas_h: int
                   ) -> Tuple[int, int, int, int] | None:
    """The part of a layer at (x, y) of size w×h that lies on the canvas, as (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = max(0, x), max(0, y), min(canvas_w, x + w), min(canvas_h, y + h)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def crop_rows(data: bytes, width: int, bpp: int, x0: int, y0: int, x1: int, y1: int) -> bytes:
    """Rows y0..y1, columns x0..x1 of a packed image ``width`` pixels wide."""
    row = width * bpp
    return b"".join(data[y * row + x0 * bpp: y * row + x1 * bpp] for y in range(y0, y1))


def is_empty(mask: bytes) -> bool:
    return not any(mask)


def params(threshold: float, grow: int) -> dict:
    """Protocol parameters from the dialog's values; a threshold of 0 means the model's default."""
    out = {"grow": int(grow)}
    if threshold and 0.0 < threshold < 1.0:
        out["threshold"] = float(threshold)
    return out


def user_message(exc: Exception) -> str:
    """What the user reads when the daemon cannot help."""
    code = getattr(exc, "code", None)
    text = str(exc)
    if code and code not in ("not_running", "client") and f"[{code}]" not in text:
        text = f"{text} [{code}]"
    return f"textclean: {text}"
