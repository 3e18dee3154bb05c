"""Shipped model weights: where they live and how they load without running code.

A weight file is a ``torch.save`` of plain data only, loaded with
``weights_only=True`` so a tampered file cannot execute anything::

    {"format": "textclean-weights/1", "kind": "segmenter" | "inpainter",
     "config": {...}, "state_dict": {name: fp16 tensor}, "meta": {...}}
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

# torch is imported inside load() and save() only: the CPU path with ONNX Runtime
# needs just the paths and file_version() from here, and must start without torch.

FORMAT = "textclean-weights/1"
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
FILES = {"segmenter": "segmenter.pt", "inpainter": "inpainter.pt"}

HOW_TO_GET = (
    "Reinstall textclean (the weights ship inside the package), point TEXTCLEAN_WEIGHTS_DIR at a folder "
    "that holds them, or train and export new ones: see training/README.md."
)


class WeightsError(RuntimeError):
    """A weight file is missing, corrupt or of the wrong kind."""


@dataclass
class Weights:
    kind: str
    config: dict
    state_dict: dict[str, torch.Tensor]
    meta: dict = field(default_factory=dict)
    path: str = ""


def weights_dir() -> Path:
    return Path(os.environ.get("TEXTCLEAN_WEIGHTS_DIR", WEIGHTS_DIR))


def weights_path(kind: str) -> Path:
    return weights_dir() / FILES[kind]


def load(kind: str, path: str | os.PathLike | None = None) -> Weights:
    """Load and validate the ``kind`` weights; every failure names the file."""
    import torch

    p = Path(path) if path else weights_path(kind)
    if not p.exists():
        raise WeightsError(f"no trained {kind} weights at {p}. {HOW_TO_GET}")
    try:
        data = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        raise WeightsError(
            f"the {kind} weight file {p} is corrupt or unreadable ({exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0][:200]}). {HOW_TO_GET}"
        ) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("kind") != kind:
        raise WeightsError(f"{p} is not a textclean {kind} weight file ({FORMAT}). {HOW_TO_GET}")
    if not isinstance(data.get("state_dict"), dict) or not isinstance(data.get("config"), dict):
        raise WeightsError(f"{p} lacks a state_dict or config. {HOW_TO_GET}")
    return Weights(kind, data["config"], data["state_dict"], data.get("meta", {}), str(p))


def file_version(path: str | os.PathLike) -> str:
    """The short hash that names a weight file's version in status replies and ONNX copies."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def save(path: str | os.PathLike, kind: str, config: dict, state_dict: dict[str, torch.Tensor], meta: dict) -> None:
    """Write inference weights as fp16 (buffers such as BN counters keep their type)."""
    import torch

    sd = {
        k: (v.detach().half() if v.is_floating_point() else v.detach()).contiguous().cpu()
        for k, v in state_dict.items()
    }
    torch.save({"format": FORMAT, "kind": kind, "config": config, "state_dict": sd, "meta": meta}, path)
