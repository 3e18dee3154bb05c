"""The Krita plugin's own logic that needs no Krita: pixel formats, the selection, settings, the status line.

What both plugins share (actions, parameters, checks, messages) is in
``textclean_editor``; this holds only what is Krita's. Standard library
only; tested outside Krita (tests/test_plugin_cores.py).
"""

from __future__ import annotations

from typing import Dict, Tuple

from .client import editor, tc

PluginError = editor.PluginError
RESULT_LAYER_NAME = editor.RESULT_LAYER_NAME
INPAINT_LAYER_NAME = editor.INPAINT_LAYER_NAME
SETTINGS_GROUP = "textclean"
DEFAULTS: Dict[str, object] = {
    **{name: editor.dialog_range(name)[2] for name in editor.DIALOG_PARAMS},
    "endpoint": tc.DEFAULT_ENDPOINT,
}

# Krita hands integer RGBA pixels over as B, G, R, A (its native order) and
# float RGBA as R, G, B, A.
_LAYOUTS = {
    ("RGBA", "U8"): ("BGRA", "u8"),
    ("RGBA", "U16"): ("BGRA", "u16"),
    ("RGBA", "F16"): ("RGBA", "f16"),
    ("RGBA", "F32"): ("RGBA", "f32"),
    ("GRAYA", "U8"): ("GRAYA", "u8"),
    ("GRAYA", "U16"): ("GRAYA", "u16"),
    ("GRAYA", "F16"): ("GRAYA", "f16"),
    ("GRAYA", "F32"): ("GRAYA", "f32"),
}
_MODEL_NAMES = {"CMYKA": "CMYK", "LABA": "Lab", "XYZA": "XYZ", "YCbCrA": "YCbCr"}
LAYER_TYPES = ("paintlayer", "grouplayer", "filelayer", "clonelayer", "filllayer", "vectorlayer")


def wire_format(color_model: str, color_depth: str) -> Tuple[str, str]:
    """(protocol layout, protocol depth) for a Krita node, or PluginError saying what to do."""
    key = (color_model, color_depth)
    if key in _LAYOUTS:
        return _LAYOUTS[key]
    if color_model in ("RGBA", "GRAYA"):
        raise PluginError(f"{color_depth} channels are not supported; use 8-bit, 16-bit or float")
    name = _MODEL_NAMES.get(color_model, color_model)
    raise PluginError(
        f"textclean works on RGB and grayscale images, not {name}. "
        "Convert the image with Image > Convert Image Color Space first."
    )


def image_request(data: bytes, width: int, height: int, color_model: str, color_depth: str) -> tc.Image:
    layout, depth = wire_format(color_model, color_depth)
    return tc.Image(width, height, layout, depth, data)


def region_request(selection: bytes | None, width: int, height: int) -> tc.Image | None:
    """The selection over the node's bounds as a GRAY u8 region, None if there is no selection."""
    if selection is None:
        return None
    if len(selection) != width * height:
        raise PluginError("the selection data does not match the layer's size")
    if not any(selection):
        raise PluginError("the selection does not touch the active layer")
    return tc.Image(width, height, "GRAY", "u8", selection)


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
