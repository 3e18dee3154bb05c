"""A small msgpack codec for the header maps the protocol uses (stdlib only).

Used when the editor's Python has no ``msgpack``. It covers every msgpack
type except extensions, which the protocol never sends.
"""

from __future__ import annotations

import struct
from typing import Any


class MsgpackError(ValueError):
    pass


def packb(obj: Any) -> bytes:
    out = bytearray()
    _pack(obj, out, 0)
    return bytes(out)


def _pack(obj: Any, out: bytearray, depth: int) -> None:
    if depth > 64:
        raise MsgpackError("object nested too deeply")
    if obj is None:
        out.append(0xC0)
    elif obj is True:
        out.append(0xC3)
    elif obj is False:
        out.append(0xC2)
    elif isinstance(obj, int):
        if 0 <= obj < 0x80:
            out.append(obj)
        elif -32 <= obj < 0:
            out.append(obj & 0xFF)
        elif 0 <= obj < 2**64:
            for fmt, code, limit in (("B", 0xCC, 2**8), (">H", 0xCD, 2**16), (">I", 0xCE, 2**32), (">Q", 0xCF, 2**64)):
                if obj < limit:
                    out.append(code)
                    out += struct.pack(fmt, obj)
                    break
        elif -(2**63) <= obj < 0:
            for fmt, code, limit in (("b", 0xD0, 2**7), (">h", 0xD1, 2**15), (">i", 0xD2, 2**31), (">q", 0xD3, 2**63)):
                if obj >= -limit:
                    out.append(code)
                    out += struct.pack(fmt, obj)
                    break
        else:
            raise MsgpackError("integer out of msgpack range")
    elif isinstance(obj, float):
        out.append(0xCB)
        out += struct.pack(">d", obj)
    elif isinstance(obj, str):
        data = obj.encode("utf-8")
        n = len(data)
        if n < 32:
            out.append(0xA0 | n)
        elif n < 2**8:
            out += bytes((0xD9, n))
        elif n < 2**16:
            out.append(0xDA)
            out += struct.pack(">H", n)
        else:
            out.append(0xDB)
            out += struct.pack(">I", n)
        out += data
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        data = bytes(obj)
        n = len(data)
        if n < 2**8:
            out += bytes((0xC4, n))
        elif n < 2**16:
            out.append(0xC5)
            out += struct.pack(">H", n)
        else:
            out.append(0xC6)
            out += struct.pack(">I", n)
        out += data
    elif isinstance(obj, (list, tuple)):
        _header(out, len(obj), 0x90, 0xDC, 0xDD)
        for item in obj:
            _pack(item, out, depth + 1)
    elif isinstance(obj, dict):
        _header(out, len(obj), 0x80, 0xDE, 0xDF)
        for k, v in obj.items():
            _pack(k, out, depth + 1)
            _pack(v, out, depth + 1)
    else:
        raise MsgpackError(f"cannot pack {type(obj).__name__}")


def _header(out: bytearray, n: int, fix: int, c16: int, c32: int) -> None:
    if n < 16:
        out.append(fix | n)
    elif n < 2**16:
        out.append(c16)
        out += struct.pack(">H", n)
    else:
        out.append(c32)
        out += struct.pack(">I", n)


def unpackb(data: bytes) -> Any:
    buf = memoryview(bytes(data))
    obj, pos = _unpack(buf, 0, 0)
    if pos != len(buf):
        raise MsgpackError("extra bytes after the msgpack object")
    return obj


_FIXED = {
    0xCC: ("B", 1),
    0xCD: (">H", 2),
    0xCE: (">I", 4),
    0xCF: (">Q", 8),
    0xD0: ("b", 1),
    0xD1: (">h", 2),
    0xD2: (">i", 4),
    0xD3: (">q", 8),
    0xCA: (">f", 4),
    0xCB: (">d", 8),
}


def _take(buf: memoryview, pos: int, n: int) -> tuple[memoryview, int]:
    if pos + n > len(buf):
        raise MsgpackError("truncated msgpack data")
    return buf[pos : pos + n], pos + n


def _unpack(buf: memoryview, pos: int, depth: int) -> tuple[Any, int]:
    if depth > 64:
        raise MsgpackError("msgpack nested too deeply")
    b, pos = _take(buf, pos, 1)
    t = b[0]
    if t < 0x80:
        return t, pos
    if t >= 0xE0:
        return t - 0x100, pos
    if 0x80 <= t <= 0x8F:
        return _map(buf, pos, t & 0x0F, depth)
    if 0x90 <= t <= 0x9F:
        return _array(buf, pos, t & 0x0F, depth)
    if 0xA0 <= t <= 0xBF:
        raw, pos = _take(buf, pos, t & 0x1F)
        return _str(raw), pos
    if t == 0xC0:
        return None, pos
    if t in (0xC2, 0xC3):
        return t == 0xC3, pos
    if t in _FIXED:
        fmt, n = _FIXED[t]
        raw, pos = _take(buf, pos, n)
        return struct.unpack(fmt, raw)[0], pos
    if t in (0xD9, 0xDA, 0xDB, 0xC4, 0xC5, 0xC6):
        width = {0xD9: 1, 0xDA: 2, 0xDB: 4, 0xC4: 1, 0xC5: 2, 0xC6: 4}[t]
        raw, pos = _take(buf, pos, width)
        n = int.from_bytes(raw, "big")
        raw, pos = _take(buf, pos, n)
        return (_str(raw) if t in (0xD9, 0xDA, 0xDB) else bytes(raw)), pos
    if t in (0xDC, 0xDD, 0xDE, 0xDF):
        width = 2 if t in (0xDC, 0xDE) else 4
        raw, pos = _take(buf, pos, width)
        n = int.from_bytes(raw, "big")
        return (_array if t in (0xDC, 0xDD) else _map)(buf, pos, n, depth)
    raise MsgpackError(f"unsupported msgpack type 0x{t:02x}")


def _str(raw: memoryview) -> str:
    try:
        return bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise MsgpackError("invalid UTF-8 in msgpack string") from None


def _array(buf: memoryview, pos: int, n: int, depth: int) -> tuple[list, int]:
    if n > len(buf) - pos:
        raise MsgpackError("truncated msgpack array")
    out = []
    for _ in range(n):
        item, pos = _unpack(buf, pos, depth + 1)
        out.append(item)
    return out, pos


def _map(buf: memoryview, pos: int, n: int, depth: int) -> tuple[dict, int]:
    if 2 * n > len(buf) - pos:
        raise MsgpackError("truncated msgpack map")
    out = {}
    for _ in range(n):
        k, pos = _unpack(buf, pos, depth + 1)
        v, pos = _unpack(buf, pos, depth + 1)
        try:
            out[k] = v
        except TypeError:
            raise MsgpackError("unhashable msgpack map key") from None
    return out, pos
