#!/usr/bin/env python3
"""textclean for GIMP 3: Filters > Remove Text, Select > Text, Filters > Inpaint Selection (textclean).

Thin glue between GIMP and ``textclean_client``: read the active layer,
send it to the local textclean daemon, and put the answer back as a
selection and a new layer. The original layer is never written to, and
each run is one undo group. What both plugins share (actions, parameters,
messages) is in ``textclean_editor``; GIMP's own logic that needs no GIMP
is in ``gimp_core.py``.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gi  # noqa: E402

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
gi.require_version("Babl", "0.1")
import gimp_core as core  # noqa: E402
import textclean_client as tc  # noqa: E402
import textclean_editor as editor  # noqa: E402
from gi.repository import Babl, Gegl, Gimp, GLib, GObject  # noqa: E402


def _error(procedure, run_mode, message):
    if run_mode == Gimp.RunMode.INTERACTIVE:
        Gimp.message(message)
    return procedure.new_return_values(
        Gimp.PDBStatusType.EXECUTION_ERROR, GLib.Error.new_literal(GLib.quark_from_string("textclean"), message, 0)
    )


def _read(drawable, encoding, x, y, w, h, abyss=Gegl.AbyssPolicy.NONE):
    return bytes(drawable.get_buffer().get(Gegl.Rectangle.new(x, y, w, h), 1.0, encoding, abyss))


def _write(drawable, encoding, x, y, w, h, data):
    buffer = drawable.get_buffer()
    buffer.set(Gegl.Rectangle.new(x, y, w, h), encoding, data)
    buffer.flush()
    drawable.update(x, y, w, h)


class Layer:
    """The active layer's pixels in the daemon's terms, and the layer's place on the canvas."""

    def __init__(self, image, drawable):
        if image.get_base_type() == Gimp.ImageBaseType.INDEXED:
            raise editor.PluginError("indexed images are not supported; use Image > Mode > RGB first")
        self.image, self.drawable = image, drawable
        self.encoding, self.layout, self.depth = core.wire_format(Babl.format_get_encoding(drawable.get_format()))
        self.width, self.height = drawable.get_width(), drawable.get_height()
        _, self.x, self.y = drawable.get_offsets()

    def pixels(self):
        data = _read(self.drawable, self.encoding, 0, 0, self.width, self.height)
        return tc.Image(self.width, self.height, self.layout, self.depth, data)

    def selection(self):
        """The selection over this layer as a GRAY u8 mask, or None when nothing is selected."""
        if Gimp.Selection.is_empty(self.image):
            return None
        data = _read(self.image.get_selection(), "Y u8", self.x, self.y, self.width, self.height)
        if core.is_empty(data):
            raise editor.PluginError("the selection does not touch the active layer")
        return tc.Image(self.width, self.height, "GRAY", "u8", data)

    def add_result(self, result, name):
        """A new layer above the original, same size, offsets and type, holding ``result``."""
        layer = Gimp.Layer.new(
            self.image, name, self.width, self.height, self.drawable.type(), 100.0, Gimp.LayerMode.NORMAL
        )
        layer.set_offsets(self.x, self.y)
        self.image.insert_layer(layer, self.drawable.get_parent(), self.image.get_item_position(self.drawable))
        _write(layer, self.encoding, 0, 0, self.width, self.height, bytes(result.data))
        return layer

    def select(self, mask):
        """Replace the selection with ``mask`` (layer-sized GRAY u8), clipped to the canvas."""
        cw, ch = self.image.get_width(), self.image.get_height()
        overlap = core.canvas_overlap(self.x, self.y, self.width, self.height, cw, ch)
        Gimp.Selection.none(self.image)
        if overlap is None:
            return
        x0, y0, x1, y1 = overlap
        data = core.crop_rows(bytes(mask.data), self.width, 1, x0 - self.x, y0 - self.y, x1 - self.x, y1 - self.y)
        channel = Gimp.Channel.new(self.image, "textclean mask", cw, ch, 100.0, Gegl.Color.new("black"))
        self.image.insert_channel(channel, None, 0)
        _write(channel, "Y u8", x0, y0, x1 - x0, y1 - y0, data)
        self.image.select_item(Gimp.ChannelOps.REPLACE, channel)
        self.image.remove_channel(channel)


class TextClean(Gimp.PlugIn):
    def do_query_procedures(self):
        return list(core.PROCEDURES.values())

    def do_set_i18n(self, name):
        return False

    def do_create_procedure(self, name):
        kind = core.KIND_OF[name]
        action = editor.ACTIONS[kind]
        procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, self.run, None)
        procedure.set_image_types("RGB*, GRAY*")
        procedure.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.DRAWABLE)
        if kind == "remove":
            procedure.set_menu_label("Remove _Text...")
            procedure.add_menu_path("<Image>/Filters")
        elif kind == "select":
            procedure.set_menu_label("_Text")
            procedure.add_menu_path("<Image>/Select")
        else:
            procedure.set_menu_label("_Inpaint Selection (textclean)")
            procedure.add_menu_path("<Image>/Filters")
        procedure.set_documentation(
            f"{action.label} with textclean",
            f"textclean: {action.summary}. Needs the textclean daemon (textclean-daemon start).",
            name,
        )
        procedure.set_attribution("textclean", "textclean", "2026")
        if action.takes_params:
            lo, hi, default = editor.dialog_range("threshold")
            procedure.add_double_argument(
                "threshold",
                "_Threshold",
                "Text probability threshold (0: the model's own)",
                lo,
                hi,
                default,
                GObject.ParamFlags.READWRITE,
            )
            lo, hi, default = editor.dialog_range("grow")
            procedure.add_int_argument(
                "grow",
                "_Grow (px)",
                "Grow the text mask by this many pixels",
                int(lo),
                int(hi),
                int(default),
                GObject.ParamFlags.READWRITE,
            )
        procedure.add_string_argument(
            "endpoint",
            "_Endpoint",
            "Where the textclean daemon listens",
            tc.DEFAULT_ENDPOINT,
            GObject.ParamFlags.READWRITE,
        )
        return procedure

    def run(self, procedure, run_mode, image, drawables, config, run_data):
        kind = core.KIND_OF[procedure.get_name()]
        action = editor.ACTIONS[kind]
        if len(drawables) != 1 or not isinstance(drawables[0], Gimp.Layer):
            return _error(procedure, run_mode, "textclean: select exactly one layer")
        if run_mode == Gimp.RunMode.INTERACTIVE and action.takes_params:
            gi.require_version("GimpUi", "3.0")
            from gi.repository import GimpUi

            GimpUi.init("textclean")
            dialog = GimpUi.ProcedureDialog.new(procedure, config, "textclean")
            dialog.fill(None)
            ok = dialog.run()
            dialog.destroy()
            if not ok:
                return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, None)
        endpoint = config.get_property("endpoint") or tc.DEFAULT_ENDPOINT
        settings = {p: config.get_property(p) for p in editor.DIALOG_PARAMS} if action.takes_params else {}
        try:
            layer = Layer(image, drawables[0])
            region = layer.selection()
            # Everything that can be refused is refused before the daemon is asked or the image touched.
            editor.check_region(kind, region)
            editor.params(settings)
            client = tc.connect(endpoint, timeout=300)
        except (editor.PluginError, tc.TextcleanError) as exc:
            return _error(procedure, run_mode, editor.user_message(exc, endpoint))

        Gimp.progress_init("textclean…")

        def progress(fraction, stage):
            Gimp.progress_set_text(f"textclean: {stage}")
            Gimp.progress_update(fraction)

        image.undo_group_start()
        try:
            mask, result = editor.run(client, kind, layer.pixels(), region, settings, progress)
            if result is not None:
                editor.check_result(result, layer.width, layer.height, layer.layout, layer.depth)
                layer.add_result(result, action.layer)
            if mask is not None:
                layer.select(mask)
        except (editor.PluginError, tc.TextcleanError) as exc:
            return _error(procedure, run_mode, editor.user_message(exc, endpoint))
        finally:
            image.undo_group_end()
            client.close()
            Gimp.progress_end()
        Gimp.displays_flush()
        return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, None)


Gimp.main(TextClean.__gtype__, sys.argv)
