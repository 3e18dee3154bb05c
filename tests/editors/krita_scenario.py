"""Runs inside the real Krita (kritarunner), driven by tests/test_krita.py.

Reads /tmp/tc/scenario.json, makes a document from /tmp/tc/page.raw, calls
one of textclean_krita.actions and writes the pixels and result.json into
/tmp/tc/out/.
"""

import json
import os
import traceback

BASE = "/tmp/tc"
OUT = os.path.join(BASE, "out")


def run(args=None):
    os.makedirs(OUT, exist_ok=True)
    scenario = json.load(open(os.path.join(BASE, "scenario.json")))
    result = {"scenario": scenario}
    try:
        from krita import Krita, Selection
        from textclean_krita import actions, core

        app = Krita.instance()
        result["krita_version"] = app.version()
        w, h = scenario["width"], scenario["height"]
        ox, oy = scenario.get("offset", [0, 0])
        cw, ch = w + abs(ox) * 2, h + abs(oy) * 2
        doc = app.createDocument(cw, ch, "page", scenario["model"], scenario["depth"], "", 300.0)
        node = doc.topLevelNodes()[0]
        if scenario.get("offset"):
            # A layer whose content starts off the canvas: bounds are not the canvas.
            cw, ch = w, h
            doc.setWidth(cw)
            doc.setHeight(ch)
            node = doc.createNode("page", "paintlayer")
            doc.rootNode().addChildNode(node, None)
        node.setPixelData(open(os.path.join(BASE, "page.raw"), "rb").read(), ox, oy, w, h)
        doc.refreshProjection()
        if scenario.get("select"):
            x, y, sw, sh = scenario["select"]
            sel = Selection()
            sel.select(x + ox, y + oy, sw, sh, 255)
            doc.setSelection(sel)
        b = node.bounds()
        result["bounds"] = [b.x(), b.y(), b.width(), b.height()]
        before = bytes(node.pixelData(ox, oy, w, h))

        def layers():  # the global selection shows up as a "selectionmask" node; it is no layer
            return [n.name() for n in doc.topLevelNodes() if n.type() != "selectionmask"]

        names_before = layers()
        action = getattr(actions, scenario["action"])
        try:
            returned = action(doc, node, **scenario.get("params", {}))
            result["returned"] = type(returned).__name__
        except (core.PluginError, Exception) as exc:  # the test checks the message
            result["error"] = str(exc)
            result["error_type"] = type(exc).__name__
        doc.waitForDone()
        result["original_unchanged"] = bytes(node.pixelData(ox, oy, w, h)) == before
        result["layers_before"] = names_before
        result["layers"] = layers()
        open(os.path.join(OUT, "before.raw"), "wb").write(before)
        new = [n for n in doc.topLevelNodes() if n.name() in (core.RESULT_LAYER_NAME, core.INPAINT_LAYER_NAME)]
        if new:
            result["new_layer"] = {
                "name": new[0].name(),
                "index": result["layers"].index(new[0].name()),
                "original_index": result["layers"].index(node.name()),
                "model": new[0].colorModel(),
                "depth": new[0].colorDepth(),
            }
            open(os.path.join(OUT, "new.raw"), "wb").write(bytes(new[0].pixelData(ox, oy, w, h)))
        sel = doc.selection()
        result["has_selection"] = sel is not None
        if sel is not None:
            open(os.path.join(OUT, "selection.raw"), "wb").write(bytes(sel.pixelData(ox, oy, w, h)))
        doc.close()
    except Exception:
        result["exception"] = traceback.format_exc()
    with open(os.path.join(OUT, "result.json"), "w") as f:
        json.dump(result, f)
