"""The two networks, loaded once, on one device, behind array-in/array-out calls.

This is the only module that touches tensors at inference time. CUDA runs
PyTorch in fp16. The CPU runs ONNX Runtime when the ``.onnx`` copies made by
the training export are present and match the ``.pt`` weights (faster than
eager PyTorch there; ``bench/models.py`` measures it, the model card has the
figures), else PyTorch in fp32 with channels-last memory, the faster eager
layout for these networks. The preprocessing around each forward pass lives
in ``networks``, shared by every implementation here and by training.

torch is imported only when PyTorch runs a network: on a CPU with the ONNX
copies in place, the weights' version, threshold and summary come from the
``.onnx`` files' metadata, and a command starts without paying the second or
more that importing torch takes.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import onnx_export
from . import weights as weights_mod
from .networks import InpaintNetwork, SegmentNetwork

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

BACKENDS = ("auto", "torch", "onnx", "onnx-fp32")
INT8_SUFFIX = ".int8.onnx"


def int8_path(fp32_path: str | os.PathLike) -> Path:
    """Where the int8 copy of an fp32 ``.onnx`` lives (``segmenter.onnx`` → ``segmenter.int8.onnx``)."""
    p = Path(fp32_path)
    return p.with_name(p.name.removesuffix(".onnx") + INT8_SUFFIX)


class DeviceError(RuntimeError):
    """The requested device cannot be used."""


@dataclass(frozen=True)
class Device:
    """A device by name (``cpu``, ``cuda``, ``cuda:1``), without importing torch to hold it."""

    name: str

    @property
    def type(self) -> str:
        return self.name.split(":")[0]

    def __str__(self) -> str:
        return self.name


def _cuda_possible() -> bool:
    """False when this machine certainly has no CUDA driver, so that ``auto`` need not import torch to ask.

    True only means "ask torch": a CPU-only torch build or a hidden GPU still gives the CPU.
    """
    if sys.platform == "darwin":
        return False
    if sys.platform.startswith("linux"):
        # The NVIDIA kernel driver, or WSL2's GPU paravirtualisation device.
        return os.path.exists("/proc/driver/nvidia") or os.path.exists("/dev/nvidiactl") or os.path.exists("/dev/dxg")
    if sys.platform == "win32":
        return (Path(os.environ.get("SystemRoot", r"C:\Windows")) / "System32" / "nvcuda.dll").exists()
    return True


def device_name(device: str = "auto") -> Device:
    """``auto`` picks CUDA when present, else CPU; ``cuda`` without CUDA is an error. torch only if it may be CUDA."""
    if device == "cpu" or (device == "auto" and not _cuda_possible()):
        return Device("cpu")
    if device != "auto" and not device.startswith("cuda"):
        raise DeviceError(f"unknown device {device!r}; use auto, cpu or cuda")
    import torch

    if device == "auto":
        return Device("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        raise DeviceError(
            f"--device {device} was asked for, but CUDA is not available "
            "(no NVIDIA GPU or a CPU-only PyTorch build); use --device cpu or auto"
        )
    return Device(device)


def resolve_device(device: str = "auto") -> torch.device:
    """``device_name`` as a ``torch.device``, for code that runs torch anyway."""
    import torch

    return torch.device(device_name(device).name)


def _default_threads() -> int:
    """ONNX Runtime's intra-op threads: torch's setting when a caller already set it, else OMP_NUM_THREADS.

    Otherwise every core this process may run on, as torch does: ONNX Runtime's own default (0)
    ran one thread on this project's 2-core machine, at 1.60 MP/s against 2.19 with two.
    """
    if "torch" in sys.modules:
        return sys.modules["torch"].get_num_threads()
    value = os.environ.get("OMP_NUM_THREADS", "")
    if value.isdigit() and int(value) > 0:
        return int(value)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class _OrtSession:
    """An ONNX Runtime session that takes and returns numpy arrays, with the metadata the export stored."""

    def __init__(self, path: Path, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.path = path
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.version, self.meta = onnx_export.read_metadata(self.session.get_modelmeta().custom_metadata_map)
        self.inputs = [i.name for i in self.session.get_inputs()]

    def __call__(self, *arrays: np.ndarray) -> np.ndarray:
        feed = {name: np.ascontiguousarray(a, dtype=np.float32) for name, a in zip(self.inputs, arrays)}
        return self.session.run(None, feed)[0]


class _TorchForward:
    """Runs a module on numpy arrays: fp16 on CUDA, fp32 channels-last on the CPU, one caller at a time."""

    def __init__(self, model: torch.nn.Module, device: torch.device | Device | str = "cpu") -> None:
        import torch

        self.torch = torch
        self.device = torch.device(str(device))
        self.half = self.device.type == "cuda"
        self.model = model
        self._lock = threading.Lock()

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        torch = self.torch
        t = torch.from_numpy(np.ascontiguousarray(array)).to(self.device)
        t = t.half() if self.half else t.float()
        return t.contiguous(memory_format=torch.channels_last) if t.ndim == 4 else t

    def __call__(self, *arrays: np.ndarray | None) -> np.ndarray:
        with self.torch.inference_mode():
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

    def __init__(self, model: torch.nn.Module, device: torch.device | Device | str = "cpu") -> None:
        self.model = model
        self._run = _TorchForward(model, device)

    def forward(self, image: np.ndarray) -> np.ndarray:
        return self._run(image)


class TorchInpainter(InpaintNetwork):
    """A ``GatedUNet`` as an ``InpaintNetwork``: what the daemon and training's validation both run."""

    def __init__(self, model: torch.nn.Module, device: torch.device | Device | str = "cpu") -> None:
        self.model = model
        self.multiple = getattr(type(model), "multiple", InpaintNetwork.multiple)
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
    # ``multiple`` is the GatedUNet's (8, as in ``InpaintNetwork``; tests/test_backend.py checks they agree),
    # read from the interface so that this class needs no torch.

    def __init__(self, session: _OrtSession) -> None:
        self.session = session
        self.guided = "guide" in session.inputs

    def forward(self, image: np.ndarray, mask: np.ndarray, guide: np.ndarray | None) -> np.ndarray:
        return self.session(image, mask, *([guide] if self.guided else []))


class ModelRunner:
    """Loads the shipped (or given) weights and serves both networks through their interfaces.

    ``backend``: ``auto`` (ONNX Runtime on the CPU when possible, else PyTorch),
    ``torch``, ``onnx`` (ONNX Runtime or an error) or ``onnx-fp32`` (the same,
    never the int8 copies). ONNX Runtime runs a network's int8 copy
    (``segmenter.int8.onnx``, made by ``textclean_train.quantize`` and checked
    against the fp32 one) when there is one, else its fp32 copy. Without a
    ``backend`` argument, ``TEXTCLEAN_BACKEND`` in the environment chooses
    (``TEXTCLEAN_BACKEND=onnx-fp32`` for float on the CPU). ``self.segmenter_net`` and ``self.inpainter_net``
    are the ``SegmentNetwork`` and ``InpaintNetwork`` the pipeline runs;
    ``self.segmenter`` and ``self.inpainter`` are the PyTorch modules, or None
    for a network ONNX Runtime runs (PyTorch is then never loaded for it).
    ``threads``: ONNX Runtime's intra-op threads (default: torch's setting
    if torch is already imported, else ``OMP_NUM_THREADS``, else one per core).
    """

    def __init__(
        self,
        device: str = "auto",
        allow_untrained: bool = False,
        segmenter_path: str | None = None,
        inpainter_path: str | None = None,
        backend: str | None = None,
        threads: int | None = None,
    ) -> None:
        if backend is None:
            backend = os.environ.get("TEXTCLEAN_BACKEND") or "auto"
        if backend not in BACKENDS:
            raise DeviceError(f"unknown backend {backend!r}; use {', '.join(BACKENDS)}")
        self.device = device_name(device)
        self.half = self.device.type == "cuda"
        self.trained = True
        self.versions: dict[str, str] = {}
        self.meta: dict[str, dict] = {}
        self.paths: dict[str, str] = {}
        self.onnx: dict[str, _OrtSession] = {}
        self.segmenter: torch.nn.Module | None = None
        self.inpainter: torch.nn.Module | None = None
        threads = _default_threads() if threads is None else threads
        use_onnx = self.device.type == "cpu" and backend != "torch"
        for kind, path in (("segmenter", segmenter_path), ("inpainter", inpainter_path)):
            precision = "fp32" if backend == "onnx-fp32" else "auto"
            if use_onnx and self._load_onnx(kind, path, threads, precision, required=backend.startswith("onnx")):
                continue
            module = self._load(kind, path, allow_untrained)
            if backend.startswith("onnx") and use_onnx:  # only an untrained network gets here
                raise DeviceError(f"the ONNX backend cannot be used: no trained {kind} weights")
            setattr(self, kind, module)
        self.segmenter_net: SegmentNetwork = (
            OrtSegmenter(self.onnx["segmenter"])
            if "segmenter" in self.onnx
            else TorchSegmenter(self.segmenter, self.device)
        )
        self.inpainter_net: InpaintNetwork = (
            OrtInpainter(self.onnx["inpainter"])
            if "inpainter" in self.onnx
            else TorchInpainter(self.inpainter, self.device)
        )

    def _load_onnx(self, kind: str, path: str | None, threads: int, precision: str, required: bool) -> bool:
        """Serve ``kind`` from an ONNX copy (the int8 one first, unless ``precision`` is fp32).

        False (and a log line, or an error if ``required``) when no copy can be used.
        """
        pt = Path(path) if path else weights_mod.weights_path(kind)
        if not pt.exists():
            return False  # the PyTorch loader says what is missing, or builds the untrained network
        fp32 = pt.with_suffix(".onnx")
        candidates = ([int8_path(fp32)] if precision != "fp32" else []) + [fp32]
        problems = []
        for onnx_path in candidates:
            session, problem = self._open_onnx(onnx_path, pt, threads)
            if session is not None:
                break
            if onnx_path != fp32 and not onnx_path.exists():
                continue  # no int8 copy is no problem: the fp32 one is the norm
            problems.append(problem)
            if onnx_path != fp32:
                log.info("not using the int8 %s: %s", kind, problem)
        else:
            problem = "; ".join(problems)
            if required:
                raise DeviceError(f"the ONNX backend cannot be used: {problem}")
            log.info("using PyTorch for the %s: %s", kind, problem)
            return False
        if session.meta is None:
            # A copy exported before the metadata was stored in it: the .pt has it (at the cost of torch).
            session.meta = weights_mod.load(kind, pt).meta
        self.onnx[kind] = session
        self.versions[kind] = session.version
        self.meta[kind] = {k: v for k, v in session.meta.items() if k != "quantization"}
        self.paths[kind] = str(pt)
        return True

    @staticmethod
    def _open_onnx(onnx_path: Path, pt: Path, threads: int) -> tuple[_OrtSession | None, str]:
        """(session, "") when ``onnx_path`` loads and was made from ``pt``, else (None, why not)."""
        if not onnx_path.exists():
            return None, f"no {onnx_path.name} next to the weights"
        try:
            session = _OrtSession(onnx_path, threads)
        except ImportError:
            return None, "onnxruntime is not installed"
        except Exception as exc:  # a damaged file: fall back rather than fail
            return None, f"{onnx_path} does not load ({exc.__class__.__name__})"
        version = weights_mod.file_version(pt)
        if session.version != version:
            return None, f"{onnx_path} was made from other weights ({session.version} ≠ {version})"
        return session, ""

    def _load(self, kind: str, path: str | None, allow_untrained: bool) -> torch.nn.Module:
        from .models import build

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
        else:
            model = load_model(w)
            self.versions[kind] = weights_mod.file_version(w.path)
            self.meta[kind] = w.meta
            self.paths[kind] = w.path
        model = model.eval().to(str(self.device))
        if self.half:
            return model.half()
        import torch

        return model.to(memory_format=torch.channels_last)

    @property
    def default_threshold(self) -> float:
        return float(self.meta.get("segmenter", {}).get("threshold", 0.5))

    @property
    def backend(self) -> str:
        torch_part = ""
        if len(self.onnx) < 2:
            import torch

            torch_part = f"torch-{torch.__version__}" + ("-fp16" if self.half else "-fp32")
        if self.onnx:
            import onnxruntime

            ort_part = f"onnxruntime-{onnxruntime.__version__}"
            precisions = {k: "int8" if s.path.name.endswith(INT8_SUFFIX) else "fp32" for k, s in self.onnx.items()}
            if len(set(precisions.values())) == 1 and not torch_part:
                return f"{ort_part}-{next(iter(precisions.values()))}"
            ort_part += f" ({', '.join(f'{k} {p}' for k, p in precisions.items())})"
            return ort_part if not torch_part else f"{ort_part} + {torch_part}"
        return torch_part

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
    from .models import build

    model = build(w.kind, w.config)
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in w.state_dict.items()})
    except RuntimeError as exc:
        raise weights_mod.WeightsError(
            f"{w.path} does not match the {w.kind} architecture: {str(exc).splitlines()[0][:200]}"
        ) from exc
    return model
