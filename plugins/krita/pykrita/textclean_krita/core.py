"""The Krita plugin's logic that needs no Krita: formats, requests, masks, settings.

Unit-tested outside Krita (tests/test_krita_core.py). Standard library only.
"""

from __future__ import annotations

from typing import Dict, Tuple

try:  # installed: the client is vendored inside this package
    from .textclean_client import DEFAULT_ENDPOINT, Image
except ImportError:  # in the repository, for the tests
    from textclean_client import DEFAULT_ENDPOINT, Image

RESULT_LAYER_NAME = "Text removed"
INPAINT_LAYER_NAME = "Inpainted"
SETTINGS_GROUP = "textclean"
DEFAULTS = {"threshold": 0.0, "grow": 3, "endpoint": DEFAULT_ENDPOINT}

# Krita hands integer RGBA pixels over as B, G, R, A (its native order) and
# float RGBA as R, G, B, A.
_LAYOUTS = {("RGBA", "U8"): ("BGRA", "u8"), ("RGBA", "U16"): ("BGRA", "u16"),
            ("RGBA", "F16"): ("RGBA", "f16"), ("RGBA", "F32"): ("RGBA", "f32"),
            ("GRAYA", "U8"): ("GRAYA", "u8"), ("GRAYA", "U16"): ("GRAYA", "u16"),
            ("GRAYA", "F16"): ("GRAYA", "f16"), ("GRAYA", "F32"): ("GRAYA", "f32")}
_MODEL_NAMES = {"CMYKA": "CMYK", "LABA": "Lab", "XYZA": "XYZ", "YCbCrA": "YCbCr"}


class PluginError(Exception):
    """A problem to show the user; the document has not been changed."""


def wire_format(color_model: str, color_depth: str) -> Tuple[str, str]:
    """(protocol layout, protocol depth) for a Krita node, or PluginError saying what to do."""
    key = (color_model, color_depth)
    if key in _LAYOUTS:
        return _LAYOUTS[key]
    if color_model in ("RGBA", "GRAYA"):
        raise PluginError(f"{color_depth} channels are not supported; use 8-bit, 16-bit or float")
    name = _MODEL_NAMES.get(color_model, color_model)
    raise PluginError(f"textclean works on RGB and grayscale images, not {name}. "
                      "Convert the image with Image > Convert Image Color Space first.")


def image_request(data: bytes, width: int, height: int, color_model: str, color_depth: str) -> Image:
    layout, depth = wire_format(color_model, color_depth)
    return Image(width, height, layout, depth, data)


def region_request(selection: bytes | None, width: int, height: int) -> Image | None:
    """The selection over the node's bounds as a GRAY u8 region, None if there is no selection."""
    if selection is None:
        return None
    if len(selection) != width * height:
        raise PluginError("the selection data does not match the layer's size")
    if not any(selection):
        raise PluginError("the selection does not touch the active layer")
    return Image(width, height, "GRAY", "u8", selection)


def check_result(result: Image, width: int, height: int, layout: str, depth: str) -> bytes:
    """The result's pixel bytes, after checking they fit where they go back."""
    if (result.width, result.height, result.layout, result.depth) != (width, height, layout, depth):
        raise PluginError(f"the daemon returned {result!r}, not {width}×{height} {layout} {depth}")
    return bytes(result.data)


def params(settings: Dict[str, object]) -> Dict[str, object]:
    """Protocol parameters from the docker's settings; threshold 0 means the model's own."""
    out: Dict[str, object] = {"grow": int(settings.get("grow", DEFAULTS["grow"]))}
    threshold = float(settings.get("threshold", 0.0) or 0.0)
    if 0.0 < threshold < 1.0:
        out["threshold"] = threshold
    return out


def parse_setting(key: str, raw: str) -> object:
    """A setting as Krita stores it (a string) back to its type, falling back to the default."""
    default = DEFAULTS[key]
    try:
        return type(default)(raw) if raw != "" else default
    except (TypeError, ValueError):
        return default


def status_line(info: dict | None, error: str | None, last_run_s: float | None) -> str:
    if error:
        return error
    if not info:
        return "not connected"
    line = f"connected · {info.get('device', '?').upper()}"
    if last_run_s is not None:
        line += f" · last run {last_run_s:.1f} s"
    return line
