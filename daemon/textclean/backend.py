"""The two networks, loaded once, on one device, behind array-in/array-out calls.

This is the only module that touches tensors at inference time. CUDA runs
PyTorch in fp16. The CPU runs ONNX Runtime when the ``.onnx`` copies made by
the training export are present and match the ``.pt`` weights (faster than
eager PyTorch there; ``bench/models.py`` measures it, the model card has the
figures), else PyTorch in fp32 with channels-last memory, the faster eager
layout for these networks. The preprocessing around each forward pass lives
in ``networks``, shared by every implementation here and by training.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
import torch

from . import weights as weights_mod
from .models import GatedUNet, build
from .networks import InpaintNetwork, SegmentNetwork

log = logging.getLogger(__name__)


class DeviceError(RuntimeError):
    """The requested device cannot be used."""


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present, else CPU; ``cuda`` without CUDA is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError(
            f"--device {device} was asked for, but CUDA is not available "
            "(no NVIDIA GPU or a CPU-only PyTorch build); use --device cpu or auto"
        )
    if device not in ("cpu",) and not device.startswith("cuda"):
        raise DeviceError(f"unknown device {device!r}; use auto, cpu or cuda")
    return torch.device(device)


class _OrtSession:
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


class _TorchForward:
    """Runs a module on numpy arrays: fp16 on CUDA, fp32 channels-last on the CPU, one caller at a time."""

    def __init__(self, model: torch.nn.Module, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        self.half = self.device.type == "cuda"
        self.model = model
        self._lock = threading.Lock()

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(np.ascontiguousarray(array)).to(self.device)
        t = t.half() if self.half else t.float()
        return t.contiguous(memory_format=torch.channels_last) if t.ndim == 4 else t

    @torch.inference_mode()
    def __call__(self, *arrays: np.ndarray | None) -> np.ndarray:
        tensors = [None if a is None else self._tensor(a) for a in arrays]
        with self._lock:
            was_training = self.model.training
            self.model.eval()
            try:
                out = self.model(*tensors)
            finally:
                self.model.train(was_training)
        return out.float().cpu().numpy()


class TorchSegmenter(SegmentNetwork):
    """A ``TextSegmenter`` as a ``SegmentNetwork``."""

    def __init__(self, model: torch.nn.Module, device: torch.device | str = "cpu") -> None:
        self.model = model
        self._run = _TorchForward(model, device)

    def forward(self, image: np.ndarray) -> np.ndarray:
        return self._run(image)


class TorchInpainter(InpaintNetwork):
    """A ``GatedUNet`` as an ``InpaintNetwork``: what the daemon and training's validation both run."""

    multiple = GatedUNet.multiple

    def __init__(self, model: torch.nn.Module, device: torch.device | str = "cpu") -> None:
        self.model = model
        self.guided = bool(model.config.guided)
        self._run = _TorchForward(model, device)

    def forward(self, image: np.ndarray, mask: np.ndarray, guide: np.ndarray | None) -> np.ndarray:
        return self._run(image, mask, guide)


class OrtSegmenter(SegmentNetwork):
    def __init__(self, session: _OrtSession) -> None:
        self.session = session

    def forward(self, image: np.ndarray) -> np.ndarray:
        return self.session(image)


class OrtInpainter(InpaintNetwork):
    multiple = GatedUNet.multiple

    def __init__(self, session: _OrtSession) -> None:
        self.session = session
        self.guided = "guide" in session.inputs

    def forward(self, image: np.ndarray, mask: np.ndarray, guide: np.ndarray | None) -> np.ndarray:
        return self.session(image, mask, *([guide] if self.guided else []))


class ModelRunner:
    """Loads the shipped (or given) weights and serves both networks through their interfaces.

    ``backend``: ``auto`` (ONNX Runtime on the CPU when possible, else PyTorch),
    ``torch`` or ``onnx``. ``self.segmenter_net`` and ``self.inpainter_net``
    are the ``SegmentNetwork`` and ``InpaintNetwork`` the pipeline runs.
    """

    def __init__(
        self,
        device: str = "auto",
        allow_untrained: bool = False,
        segmenter_path: str | None = None,
        inpainter_path: str | None = None,
        backend: str = "auto",
    ) -> None:
        if backend not in ("auto", "torch", "onnx"):
            raise DeviceError(f"unknown backend {backend!r}; use auto, torch or onnx")
        self.device = resolve_device(device)
        self.half = self.device.type == "cuda"
        self.trained = True
        self.versions: dict[str, str] = {}
        self.meta: dict[str, dict] = {}
        self.paths: dict[str, str] = {}
        self.segmenter = self._load("segmenter", segmenter_path, allow_untrained)
        self.inpainter = self._load("inpainter", inpainter_path, allow_untrained)
        if self.device.type == "cpu":
            self.segmenter.to(memory_format=torch.channels_last)
            self.inpainter.to(memory_format=torch.channels_last)
        self.segmenter_net: SegmentNetwork = TorchSegmenter(self.segmenter, self.device)
        self.inpainter_net: InpaintNetwork = TorchInpainter(self.inpainter, self.device)
        self.onnx: dict[str, _OrtSession] = {}
        if self.device.type == "cpu" and backend != "torch":
            self._load_onnx(required=backend == "onnx")
        if "segmenter" in self.onnx:
            self.segmenter_net = OrtSegmenter(self.onnx["segmenter"])
        if "inpainter" in self.onnx:
            self.inpainter_net = OrtInpainter(self.onnx["inpainter"])

    def _load_onnx(self, required: bool) -> None:
        for kind in ("segmenter", "inpainter"):
            pt = self.paths.get(kind)
            path = Path(pt).with_suffix(".onnx") if pt else None
            problem = None
            if path is None or not path.exists():
                problem = f"no {kind}.onnx next to the weights"
            else:
                try:
                    net = _OrtSession(path, torch.get_num_threads())
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
            model = build(kind, "shipped")
            return model.eval().to(self.device).half() if self.half else model.eval().to(self.device)
        model = load_model(w)
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
                "" if len(self.onnx) == 2 else f" ({', '.join(self.onnx)}) + torch-{torch.__version__}"
            )
        return f"torch-{torch.__version__}" + ("-fp16" if self.half else "-fp32")

    def info(self) -> dict:
        return {
            "device": self.device.type,
            "backend": self.backend,
            "trained": self.trained,
            "models": dict(self.versions),
        }

    def segment(self, tiles: np.ndarray) -> np.ndarray:
        """N×H×W×3 uint8 tiles → N×H×W float32 text probabilities. H, W: multiples of 16."""
        return self.segmenter_net.segment(tiles)

    def inpaint(self, image: np.ndarray, hole: np.ndarray) -> np.ndarray:
        """H×W×3 float32 in [0, 1] and an H×W bool hole → H×W×3 float32 prediction (``InpaintNetwork``)."""
        return self.inpainter_net.inpaint(image, hole)


def load_model(w: weights_mod.Weights) -> torch.nn.Module:
    """The fp32 network a weight file describes (its stored configuration, through the factory)."""
    model = build(w.kind, w.config)
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in w.state_dict.items()})
    except RuntimeError as exc:
        raise weights_mod.WeightsError(
            f"{w.path} does not match the {w.kind} architecture: {str(exc).splitlines()[0][:200]}"
        ) from exc
    return model
