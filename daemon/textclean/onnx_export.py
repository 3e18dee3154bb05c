"""ONNX copies of the networks, for the CPU, where ONNX Runtime runs them faster than eager PyTorch.

Written by the training export next to the ``.pt`` files, never by hand.
Each ``.onnx`` records the version (hash) of the ``.pt`` it was made from,
and the runner uses it only when the two agree.
"""

from __future__ import annotations

import io
from pathlib import Path

import torch

VERSION_KEY = "textclean_weights_version"


def input_names(model: torch.nn.Module, kind: str) -> tuple[str, ...]:
    if kind == "segmenter":
        return ("image",)
    return ("image", "mask", "guide") if model.config.guided else ("image", "mask")


def export(model: torch.nn.Module, kind: str, path: str | Path, weights_version: str) -> None:
    import onnx

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
    entry = proto.metadata_props.add()
    entry.key, entry.value = VERSION_KEY, weights_version
    onnx.save(proto, str(path))
