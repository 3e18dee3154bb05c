"""The wire protocol: one place that defines requests, replies and pixel frames.

A message is ZeroMQ multipart: a msgpack map (the header), then raw binary
frames for pixels. ``docs/PROTOCOL.md`` is the prose version of this file.
This module checks a header against the schema before any pixel is looked
at, and turns pixel frames into numpy arrays and back. It knows nothing of
sockets or tensors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgpack
import numpy as np
from textclean_client import params as schema

PROTOCOL_VERSION = 1
DEFAULT_PORT = 47711
DEFAULT_ENDPOINT = f"tcp://127.0.0.1:{DEFAULT_PORT}"

LAYOUTS = {"RGBA": 4, "BGRA": 4, "RGB": 3, "GRAY": 1, "GRAYA": 2}
DEPTHS = {"u8": np.dtype("<u1"), "u16": np.dtype("<u2"), "f16": np.dtype("<f2"), "f32": np.dtype("<f4")}
HEAVY_OPS = ("segment", "inpaint", "remove_text")
LIGHT_OPS = ("hello", "ping", "status", "cancel")
OPS = LIGHT_OPS + HEAVY_OPS
# Frames each heavy op carries, in order; a name in brackets is optional.
FRAMES = {"segment": ("image", "[region]"), "inpaint": ("image", "mask"), "remove_text": ("image", "[region]")}
# Names and types only; ranges and defaults live in textclean_client.params, the one table.
PARAMS = {p.name: p.kind for p in schema.PARAMS}

MAX_HEADER_BYTES = 64 * 1024
MAX_ID_LENGTH = 64


class ErrorCode:
    BAD_REQUEST = "bad_request"
    TOO_LARGE = "too_large"
    UNSUPPORTED_FORMAT = "unsupported_format"
    BUSY = "busy"
    INTERNAL = "internal"
    CANCELLED = "cancelled"


class ProtocolError(Exception):
    """A request that gets an error reply; ``code`` is one of ``ErrorCode``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Limits:
    max_pixels: int = 12000 * 12000
    # A 12000×12000 RGBA page in f32 plus headroom; also ZMQ_MAXMSGSIZE.
    max_message_bytes: int = 12000 * 12000 * 16 + (1 << 20)


@dataclass(frozen=True)
class ImageSpec:
    width: int
    height: int
    layout: str
    depth: str
    stride: int

    @property
    def channels(self) -> int:
        return LAYOUTS[self.layout]

    @property
    def row_bytes(self) -> int:
        return self.width * self.channels * DEPTHS[self.depth].itemsize

    @property
    def frame_bytes(self) -> int:
        return self.stride * (self.height - 1) + self.row_bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "height": self.height,
            "layout": self.layout,
            "depth": self.depth,
            "stride": self.stride,
        }


@dataclass
class Request:
    id: Any
    op: str
    header: dict
    images: dict[str, ImageSpec]  # frame name -> spec, in frame order
    params: dict


# ------------------------------------------------------------------ headers


def pack(header: dict) -> bytes:
    return msgpack.packb(header, use_bin_type=True)


def unpack_header(frame: bytes) -> dict:
    """Decode a header frame, or raise ``ProtocolError(bad_request)``; never anything else."""
    if len(frame) > MAX_HEADER_BYTES:
        raise ProtocolError(ErrorCode.TOO_LARGE, f"header is {len(frame)} bytes; the limit is {MAX_HEADER_BYTES}")
    try:
        header = msgpack.unpackb(
            frame,
            raw=False,
            strict_map_key=True,
            max_array_len=1024,
            max_map_len=256,
            max_str_len=4096,
            max_bin_len=4096,
        )
    except Exception as exc:  # msgpack raises many types on garbage
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"header is not valid msgpack ({exc.__class__.__name__})") from None
    if not isinstance(header, dict):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "header must be a msgpack map")
    return header


def request_id(header: dict) -> Any:
    """The client's request id if it is usable in a reply, else None."""
    rid = header.get("id")
    if isinstance(rid, bool) or not isinstance(rid, (int, str)):
        return None
    if isinstance(rid, str) and len(rid) > MAX_ID_LENGTH:
        return None
    if isinstance(rid, int) and not -(2**63) <= rid < 2**64:
        return None
    return rid


def _int(d: dict, key: str, where: str, lo: int, hi: int | None = None) -> int:
    v = d.get(key)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"{where}.{key} must be an integer")
    if v < lo or (hi is not None and v > hi):
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"{where}.{key} = {v} is out of range")
    return v


def parse_image_spec(d: Any, where: str, limits: Limits) -> ImageSpec:
    if not isinstance(d, dict):
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"{where} must be a map with width, height, layout, depth")
    width = _int(d, "width", where, 1, 1 << 31)
    height = _int(d, "height", where, 1, 1 << 31)
    if width * height > limits.max_pixels:
        raise ProtocolError(
            ErrorCode.TOO_LARGE,
            f"{where} is {width}×{height} = {width * height:,} pixels; the limit is {limits.max_pixels:,}",
        )
    layout, depth = d.get("layout"), d.get("depth")
    if layout not in LAYOUTS:
        raise ProtocolError(
            ErrorCode.UNSUPPORTED_FORMAT, f"{where}.layout {layout!r} is not one of {', '.join(LAYOUTS)}"
        )
    if depth not in DEPTHS:
        raise ProtocolError(ErrorCode.UNSUPPORTED_FORMAT, f"{where}.depth {depth!r} is not one of {', '.join(DEPTHS)}")
    row = width * LAYOUTS[layout] * DEPTHS[depth].itemsize
    stride = _int(d, "stride", where, row, 1 << 40) if "stride" in d else row
    spec = ImageSpec(width, height, layout, depth, stride)
    if spec.frame_bytes > limits.max_message_bytes:
        raise ProtocolError(
            ErrorCode.TOO_LARGE, f"{where} needs {spec.frame_bytes:,} bytes; the limit is {limits.max_message_bytes:,}"
        )
    return spec


def parse_request(header: dict, n_frames: int, limits: Limits) -> Request:
    """Check a header against the schema. Pixel frames are not touched here."""
    if header.get("v", PROTOCOL_VERSION) != PROTOCOL_VERSION:
        raise ProtocolError(
            ErrorCode.BAD_REQUEST,
            f"protocol version {header.get('v')!r} is not supported; this daemon speaks {PROTOCOL_VERSION}",
        )
    op = header.get("op")
    if op not in OPS:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"unknown op {op!r}; ops are {', '.join(OPS)}")
    rid = request_id(header)
    images: dict[str, ImageSpec] = {}
    params: dict = {}
    if op in HEAVY_OPS:
        for name in FRAMES[op]:
            optional = name.startswith("[")
            key = name.strip("[]")
            if key in header and header[key] is not None:
                images[key] = parse_image_spec(header[key], key, limits)
            elif not optional:
                raise ProtocolError(ErrorCode.BAD_REQUEST, f"{op} needs '{key}'")
        base = images["image"]
        for key in ("region", "mask"):
            spec = images.get(key)
            if spec and (spec.width, spec.height) != (base.width, base.height):
                raise ProtocolError(
                    ErrorCode.BAD_REQUEST,
                    f"{key} is {spec.width}×{spec.height} but image is {base.width}×{base.height}",
                )
            if spec and spec.layout != "GRAY":
                raise ProtocolError(ErrorCode.UNSUPPORTED_FORMAT, f"{key}.layout must be GRAY")
        if n_frames != len(images):
            raise ProtocolError(
                ErrorCode.BAD_REQUEST, f"header describes {len(images)} pixel frame(s) but the message has {n_frames}"
            )
        params = parse_params(header.get("params", {}))
    elif op == "cancel":
        if request_id({"id": header.get("target")}) is None:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "cancel needs 'target': the id of the request to cancel")
    if op not in HEAVY_OPS and n_frames:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"{op} takes no pixel frames, got {n_frames}")
    return Request(rid, op, header, images, params)


def parse_params(d: Any) -> dict:
    """The request's mask parameters, checked against the shared table (names, types, ranges)."""
    try:
        return schema.validate(d)
    except schema.ParamError as exc:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"params: {exc}") from None


# ------------------------------------------------------------------- pixels


def decode_image(spec: ImageSpec, frame: bytes | memoryview) -> np.ndarray:
    """A read-only H×W×C array over ``frame`` (a copy only if rows are padded); BGRA becomes RGBA."""
    buf = memoryview(frame).cast("B")
    if buf.nbytes != spec.frame_bytes and buf.nbytes != spec.stride * spec.height:
        raise ProtocolError(
            ErrorCode.BAD_REQUEST,
            f"pixel frame is {buf.nbytes:,} bytes; width, height, layout, depth and stride say {spec.frame_bytes:,}",
        )
    raw = np.frombuffer(buf, np.uint8)
    if spec.stride == spec.row_bytes:
        rows = raw[: spec.frame_bytes]
    else:
        rows = np.lib.stride_tricks.as_strided(raw, (spec.height, spec.row_bytes), (spec.stride, 1))
        rows = np.ascontiguousarray(rows)
    dtype = DEPTHS[spec.depth]
    a = rows.view(dtype).reshape(spec.height, spec.width, spec.channels)
    if spec.layout == "BGRA":
        a = a[..., [2, 1, 0, 3]]
    if spec.depth == "f16":
        a = a.astype(np.float32)  # the pipeline computes in f32; results go back as f16
    return a


def encode_image(image: np.ndarray, layout: str, depth: str) -> tuple[ImageSpec, bytes]:
    """Tightly packed frame in ``layout``/``depth`` from a pipeline result."""
    a = image if image.ndim == 3 else image[..., None]
    if layout == "BGRA":
        a = a[..., [2, 1, 0, 3]]
    dtype = DEPTHS[depth]
    if a.dtype != dtype:
        a = a.astype(dtype)
    a = np.ascontiguousarray(a)
    h, w, c = a.shape
    if c != LAYOUTS[layout]:
        raise ValueError(f"array has {c} channels, layout {layout} has {LAYOUTS[layout]}")
    spec = ImageSpec(w, h, layout, depth, w * c * dtype.itemsize)
    return spec, a.tobytes()


def as_pipeline_array(image: np.ndarray, layout: str) -> np.ndarray:
    """Pipeline arrays are H×W for GRAY, H×W×C otherwise."""
    return image[..., 0] if layout == "GRAY" else image


# ------------------------------------------------------------------ replies


def ok_reply(rid: Any, op: str, **fields: Any) -> dict:
    return {"v": PROTOCOL_VERSION, "id": rid, "type": "result", "op": op, "ok": True, **fields}


def error_reply(rid: Any, code: str, message: str, op: Any = None) -> dict:
    return {
        "v": PROTOCOL_VERSION,
        "id": rid,
        "type": "result",
        "op": op if isinstance(op, str) else None,
        "ok": False,
        "error": {"code": code, "message": message},
    }


def progress_reply(rid: Any, op: str, fraction: float, stage: str) -> dict:
    return {
        "v": PROTOCOL_VERSION,
        "id": rid,
        "type": "progress",
        "op": op,
        "progress": round(float(fraction), 4),
        "stage": stage,
    }
