"""The two networks, loaded once, on one device, behind array-in/array-out calls.

This is the only module that touches tensors at inference time. CUDA runs
PyTorch in fp16. The CPU runs ONNX Runtime when the ``.onnx`` copies made by
the training export are present and match the ``.pt`` weights (1.8× faster
for the segmenter and 1.4× for the inpainter than eager PyTorch on this
project's 2-core CPU, see bench/models.py), else PyTorch in fp32 with
channels-last memory, the faster eager layout for these networks.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
import torch

from . import weights as weights_mod
from .models import GatedUNet, InpainterConfig, SegmenterConfig, TextSegmenter
from .models.inpainter import coarse_fill

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


class _OrtNetwork:
    """An ONNX Runtime session that takes and returns numpy arrays."""

    def __init__(self, path: Path, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.version = self.session.get_modelmeta().custom_metadata_map.get("textclean_weights_version")
        self.inputs = [i.name for i in self.session.get_inputs()]

    def __call__(self, *arrays: np.ndarray) -> np.ndarray:
        feed = {name: np.ascontiguousarray(a, dtype=np.float32) for name, a in zip(self.inputs, arrays)}
        return self.session.run(None, feed)[0]


class ModelRunner:
    """Holds the segmenter and inpainter; thread-safe for one caller at a time per model.

    ``backend``: ``auto`` (ONNX Runtime on the CPU when possible, else PyTorch),
    ``torch`` or ``onnx``.
    """

    def __init__(self, device: str = "auto", allow_untrained: bool = False,
                 segmenter_path: str | None = None, inpainter_path: str | None = None,
                 backend: str = "auto") -> None:
        self.device = resolve_device(device)
        self.half = self.device.type == "cuda"
        self.trained = True
        self.versions: dict[str, str] = {}
        self.meta: dict[str, dict] = {}
        self.paths: dict[str, str] = {}
        self.segmenter = self._load("segmenter", segmenter_path, allow_untrained)
        self.inpainter = self._load("inpainter", inpainter_path, allow_untrained)
        self._lock = threading.Lock()
        self.onnx: dict[str, _OrtNetwork] = {}
        if backend not in ("auto", "torch", "onnx"):
            raise DeviceError(f"unknown backend {backend!r}; use auto, torch or onnx")
        if self.device.type == "cpu" and backend != "torch":
            self._load_onnx(required=backend == "onnx")
        if self.device.type == "cpu":
            self.segmenter.to(memory_format=torch.channels_last)
            self.inpainter.to(memory_format=torch.channels_last)

    def _load_onnx(self, required: bool) -> None:
        for kind in ("segmenter", "inpainter"):
            pt = self.paths.get(kind)
            path = Path(pt).with_suffix(".onnx") if pt else None
            problem = None
            if path is None or not path.exists():
                problem = f"no {kind}.onnx next to the weights"
            else:
                try:
                    net = _OrtNetwork(path, torch.get_num_threads())
                except ImportError:
                    problem = "onnxruntime is not installed"
                except Exception as exc:  # a damaged file: fall back rather than fail
                    problem = f"{path} does not load ({exc.__class__.__name__})"
                else:
                    if net.version != self.versions[kind]:
                        problem = f"{path} was made from other weights ({net.version} ≠ {self.versions[kind]})"
                    else:
                        self.onnx[kind] = net
            if problem:
                if required:
                    raise DeviceError(f"the ONNX backend cannot be used: {problem}")
                log.info("using PyTorch for the %s: %s", kind, problem)

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
            model = TextSegmenter(SegmenterConfig(width_mult=0.5, aspp_channels=96, decoder_channels=64,
                                                  refine_channels=8)) \
                if kind == "segmenter" else GatedUNet(InpainterConfig(guided=True))
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
        self.versions[kind] = weights_mod.file_version(w.path)
        self.meta[kind] = w.meta
        self.paths[kind] = w.path
        model = model.eval().to(self.device)
        return model.half() if self.half else model

    @property
    def default_threshold(self) -> float:
        return float(self.meta.get("segmenter", {}).get("threshold", 0.5))

    @property
    def backend(self) -> str:
        if self.onnx:
            import onnxruntime

            return f"onnxruntime-{onnxruntime.__version__}" + (
                "" if len(self.onnx) == 2 else f" ({', '.join(self.onnx)}) + torch-{torch.__version__}")
        return f"torch-{torch.__version__}" + ("-fp16" if self.half else "-fp32")

    def info(self) -> dict:
        return {
            "device": self.device.type,
            "backend": self.backend,
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
        if "segmenter" in self.onnx:
            logits = self.onnx["segmenter"](tiles.transpose(0, 3, 1, 2).astype(np.float32) / 255.0)
            return (1.0 / (1.0 + np.exp(-logits[:, 0]))).astype(np.float32)
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
        arrays = [image.transpose(2, 0, 1)[None], hole.astype(np.float32)[None, None]]
        if self.inpainter.config.guided:
            arrays.append(coarse_fill(image, hole).transpose(2, 0, 1)[None])
        if ph or pw:
            mode = "reflect" if h > ph and w > pw else "edge"
            arrays = [np.pad(a, ((0, 0), (0, 0), (0, ph), (0, pw)), mode="constant" if i == 1 else mode)
                      for i, a in enumerate(arrays)]
        if "inpainter" in self.onnx:
            return self.onnx["inpainter"](*arrays)[0, :, :h, :w].transpose(1, 2, 0)
        tensors = [self._tensor(a) for a in arrays]
        with self._lock:
            out = self.inpainter(*tensors)
        return out[0, :, :h, :w].float().permute(1, 2, 0).cpu().numpy()
