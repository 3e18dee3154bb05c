"""The two networks, loaded once, on one device, behind array-in/array-out calls.

This is the only module that touches tensors at inference time. CUDA runs in
fp16; the CPU runs fp32 with channels-last memory, which measured fastest
for these depthwise-heavy networks in eager PyTorch.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import weights as weights_mod
from .models import GatedUNet, InpainterConfig, SegmenterConfig, TextSegmenter

log = logging.getLogger(__name__)


class DeviceError(RuntimeError):
    """The requested device cannot be used."""


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present, else CPU; ``cuda`` without CUDA is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError(f"--device {device} was asked for, but CUDA is not available "
                          "(no NVIDIA GPU or a CPU-only PyTorch build); use --device cpu or auto")
    if device not in ("cpu",) and not device.startswith("cuda"):
        raise DeviceError(f"unknown device {device!r}; use auto, cpu or cuda")
    return torch.device(device)


def _version(path: str) -> str:
    h = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return h[:12]


class ModelRunner:
    """Holds the segmenter and inpainter; thread-safe for one caller at a time per model."""

    def __init__(self, device: str = "auto", allow_untrained: bool = False,
                 segmenter_path: str | None = None, inpainter_path: str | None = None) -> None:
        self.device = resolve_device(device)
        self.half = self.device.type == "cuda"
        self.trained = True
        self.versions: dict[str, str] = {}
        self.meta: dict[str, dict] = {}
        self.segmenter = self._load("segmenter", segmenter_path, allow_untrained)
        self.inpainter = self._load("inpainter", inpainter_path, allow_untrained)
        self._lock = threading.Lock()
        if self.device.type == "cpu":
            # Channels-last measured faster for both networks on this CPU.
            self.segmenter.to(memory_format=torch.channels_last)
            self.inpainter.to(memory_format=torch.channels_last)

    def _load(self, kind: str, path: str | None, allow_untrained: bool) -> torch.nn.Module:
        try:
            w = weights_mod.load(kind, path)
        except weights_mod.WeightsError:
            if not allow_untrained:
                raise
            log.warning("no trained %s weights: using a randomly initialised network", kind)
            self.trained = False
            self.versions[kind] = "untrained"
            self.meta[kind] = {}
            model = TextSegmenter(SegmenterConfig(width_mult=0.5, aspp_channels=96, decoder_channels=64)) \
                if kind == "segmenter" else GatedUNet(InpainterConfig())
            return model.eval().to(self.device).half() if self.half else model.eval().to(self.device)
        if kind == "segmenter":
            model = TextSegmenter(SegmenterConfig.from_dict(w.config))
        else:
            model = GatedUNet(InpainterConfig.from_dict(w.config))
        try:
            model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in w.state_dict.items()})
        except RuntimeError as exc:
            raise weights_mod.WeightsError(
                f"{w.path} does not match the {kind} architecture: {str(exc).splitlines()[0][:200]}") from exc
        self.versions[kind] = _version(w.path)
        self.meta[kind] = w.meta
        model = model.eval().to(self.device)
        return model.half() if self.half else model

    @property
    def default_threshold(self) -> float:
        return float(self.meta.get("segmenter", {}).get("threshold", 0.5))

    def info(self) -> dict:
        return {
            "device": self.device.type,
            "backend": f"torch-{torch.__version__}" + ("-fp16" if self.half else "-fp32"),
            "trained": self.trained,
            "models": dict(self.versions),
        }

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(np.ascontiguousarray(array)).to(self.device)
        t = t.half() if self.half else t.float()
        return t.contiguous(memory_format=torch.channels_last) if t.ndim == 4 else t

    @torch.inference_mode()
    def segment(self, tiles: np.ndarray) -> np.ndarray:
        """N×H×W×3 uint8 tiles → N×H×W float32 text probabilities. H, W: multiples of 16."""
        x = self._tensor(tiles.transpose(0, 3, 1, 2)) / 255.0
        with self._lock:
            logits = self.segmenter(x)
        return torch.sigmoid(logits.float())[:, 0].cpu().numpy()

    @torch.inference_mode()
    def inpaint(self, image: np.ndarray, hole: np.ndarray) -> np.ndarray:
        """H×W×3 float32 in [0, 1] and an H×W bool hole → H×W×3 float32 prediction.

        Sides are padded (reflect) to the network's multiple and cropped back.
        """
        h, w = hole.shape
        m = GatedUNet.multiple
        ph, pw = (-h) % m, (-w) % m
        x = self._tensor(image.transpose(2, 0, 1)[None])
        k = self._tensor(hole.astype(np.float32)[None, None])
        if ph or pw:
            mode = "reflect" if h > ph and w > pw else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
            k = F.pad(k, (0, pw, 0, ph), mode="constant", value=0.0)
        with self._lock:
            out = self.inpainter(x, k)
        return out[0, :, :h, :w].float().permute(1, 2, 0).cpu().numpy()
