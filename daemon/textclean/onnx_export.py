"""ONNX copies of the networks, for the CPU, where ONNX Runtime runs them faster than eager PyTorch.

Written by the training export next to the ``.pt`` files, never by hand.
Each ``.onnx`` records the version (hash) of the ``.pt`` it was made from,
and the runner uses it only when the two agree. It also carries the ``.pt``'s
metadata (threshold, summary, figures), so that the CPU path can run from the
``.onnx`` alone and never import torch: importing it costs more than a second
at start-up, longer than ONNX Runtime takes to load both networks.

torch is imported inside ``export`` only; the keys and ``read_metadata`` are
what the runner needs, and stay torch-free.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

VERSION_KEY = "textclean_weights_version"
KIND_KEY = "textclean_kind"
META_KEY = "textclean_meta"


def input_names(model: torch.nn.Module, kind: str) -> tuple[str, ...]:
    if kind == "segmenter":
        return ("image",)
    return ("image", "mask", "guide") if model.config.guided else ("image", "mask")


def export(model: torch.nn.Module, kind: str, path: str | Path, weights_version: str, meta: dict | None = None) -> None:
    """Write ``model`` as ONNX (fp32, dynamic batch and sides) with the weight file's version and metadata."""
    import onnx
    import torch

    model = model.float().eval().to(memory_format=torch.contiguous_format)
    names = input_names(model, kind)
    shapes = {"image": (1, 3, 64, 64), "mask": (1, 1, 64, 64), "guide": (1, 3, 64, 64)}
    example = tuple(torch.rand(*shapes[n]) for n in names)
    buf = io.BytesIO()
    torch.onnx.export(
        model,
        example,
        buf,
        input_names=list(names),
        output_names=["out"],
        dynamic_axes={n: {0: "n", 2: "h", 3: "w"} for n in (*names, "out")},
        opset_version=17,
        dynamo=False,
    )
    proto = onnx.load_from_string(buf.getvalue())
    set_metadata(proto, kind, weights_version, meta or {})
    onnx.save(proto, str(path))


def set_metadata(proto, kind: str, weights_version: str, meta: dict) -> None:
    """Replace the textclean entries of an ``onnx.ModelProto``'s metadata (other entries are kept)."""
    keep = [(e.key, e.value) for e in proto.metadata_props if e.key not in (VERSION_KEY, KIND_KEY, META_KEY)]
    del proto.metadata_props[:]
    for key, value in [*keep, (VERSION_KEY, weights_version), (KIND_KEY, kind), (META_KEY, json.dumps(meta))]:
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value


def read_metadata(custom: dict[str, str]) -> tuple[str | None, dict | None]:
    """(weights version, ``.pt`` metadata) from an ONNX Runtime session's custom metadata map.

    The metadata is None for a copy exported before it was stored (the runner
    then reads it from the ``.pt``).
    """
    meta = custom.get(META_KEY)
    try:
        parsed = json.loads(meta) if meta is not None else None
    except ValueError:
        parsed = None
    return custom.get(VERSION_KEY), parsed if isinstance(parsed, dict) else None
