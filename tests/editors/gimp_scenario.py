"""Runs inside the real GIMP (gimp-console-3.0, python-fu-eval), driven by tests/test_gimp.py.

Reads /tmp/tc/scenario.json, calls one textclean procedure through the PDB,
and writes what the test needs to judge it into /tmp/tc/out/: the original
layer's pixels before and after, the new layer's pixels, the selection,
and result.json. Pixels are written raw (8-bit for masks, the layer's own
encoding for layers) so that nothing is lost in between.
"""

import json
import os

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
gi.require_version("Babl", "0.1")
from gi.repository import Babl, Gegl, Gimp, Gio  # noqa: E402

BASE = "/tmp/tc"
OUT = os.path.join(BASE, "out")
os.makedirs(OUT, exist_ok=True)
scenario = json.load(open(os.path.join(BASE, "scenario.json")))
result = {"scenario": scenario}


def read(drawable, encoding, x, y, w, h):
    return bytes(drawable.get_buffer().get(Gegl.Rectangle.new(x, y, w, h), 1.0, encoding, Gegl.AbyssPolicy.NONE))


result["gimp_version"] = Gimp.version()
try:
    image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(os.path.join(BASE, "page.png")))
    if scenario.get("precision") == "u16":
        image.convert_precision(Gimp.Precision.U16_NON_LINEAR)
    if scenario.get("grayscale"):
        image.convert_grayscale()
    layer = image.get_layers()[0]
    if scenario.get("offset"):
        # A layer bigger than the canvas, moved: offsets and off-canvas pixels must be handled.
        layer.resize(layer.get_width() + 40, layer.get_height() + 30, 20, 10)
        layer.set_offsets(*scenario["offset"])
    if not layer.has_alpha():
        layer.add_alpha()
    encoding = Babl.format_get_encoding(layer.get_format())
    w, h = layer.get_width(), layer.get_height()
    _, ox, oy = layer.get_offsets()
    result.update(
        encoding=encoding, width=w, height=h, offsets=[ox, oy], canvas=[image.get_width(), image.get_height()]
    )
    before = read(layer, encoding, 0, 0, w, h)
    if scenario.get("select"):
        x, y, sw, sh = scenario["select"]
        image.select_rectangle(Gimp.ChannelOps.REPLACE, x, y, sw, sh)
    layers_before = [lay.get_name() for lay in image.get_layers()]

    pdb = Gimp.get_pdb()
    proc = pdb.lookup_procedure(scenario["procedure"])
    config = proc.create_config()
    config.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    config.set_property("image", image)
    config.set_core_object_array("drawables", [layer])
    for key, value in scenario.get("params", {}).items():
        config.set_property(key, value)
    values = proc.run(config)
    status = values.index(0)
    result["status"] = status.value_nick if hasattr(status, "value_nick") else str(status)
    if values.length() > 1:
        err = values.index(1)
        result["error"] = getattr(err, "message", str(err))

    result["layers"] = [lay.get_name() for lay in image.get_layers()]
    result["layers_before"] = layers_before
    after = read(layer, encoding, 0, 0, w, h)
    result["original_unchanged"] = after == before
    with open(os.path.join(OUT, "before.raw"), "wb") as f:
        f.write(before)
    new = [lay for lay in image.get_layers() if lay.get_name() in ("Text removed", "Inpainted")]
    if new:
        n = new[0]
        _, nx, ny = n.get_offsets()
        result["new_layer"] = {
            "name": n.get_name(),
            "width": n.get_width(),
            "height": n.get_height(),
            "offsets": [nx, ny],
            "position": image.get_item_position(n),
            "original_position": image.get_item_position(layer),
        }
        with open(os.path.join(OUT, "new.raw"), "wb") as f:
            f.write(read(n, encoding, 0, 0, w, h))
    result["selection_empty"] = Gimp.Selection.is_empty(image)
    with open(os.path.join(OUT, "selection.raw"), "wb") as f:
        f.write(read(image.get_selection(), "Y u8", ox, oy, w, h))
    result["undo_enabled"] = image.undo_is_enabled()
except Exception:  # reported to the test, which fails with it
    import traceback

    result["exception"] = traceback.format_exc()
with open(os.path.join(OUT, "result.json"), "w") as f:
    json.dump(result, f)
