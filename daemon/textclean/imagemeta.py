"""Resolution, colour profile and orientation: read from any input, written into the encoded output.

OpenCV encodes the pixels (it keeps 16-bit and float data that Pillow cannot
write) but drops all metadata, so this module puts it back into the encoded
bytes, format by format: PNG chunks, JPEG APP segments, WebP RIFF chunks and
TIFF tags. Only what a reader needs to show the page as before is carried:
DPI, the ICC profile and a small EXIF block (orientation and the authorship
tags). The EXIF thumbnail is never copied: it would still show the text.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

from PIL import Image

ORIENTATION = 0x0112
_RESOLUTION_TAGS = (0x011A, 0x011B, 0x0128)  # XResolution, YResolution, ResolutionUnit
# Descriptive IFD0 tags worth keeping: who made the scan, and how it is turned.
_KEPT_TAGS = (0x010E, 0x010F, 0x0110, 0x0131, 0x0132, 0x013B, 0x8298, ORIENTATION)


@dataclass(frozen=True)
class ImageMeta:
    dpi: tuple[float, float] | None = None
    icc: bytes | None = None
    tags: dict[int, object] = field(default_factory=dict)  # kept EXIF IFD0 tags, orientation among them

    @property
    def orientation(self) -> int:
        return int(self.tags.get(ORIENTATION, 1))

    def upright(self) -> "ImageMeta":
        """The same without orientation, for pixels that were already turned upright."""
        return ImageMeta(self.dpi, self.icc, {k: v for k, v in self.tags.items() if k != ORIENTATION})

    def for_mask(self) -> "ImageMeta":
        """A mask lines up with its page (same DPI and orientation) but is not colour-managed."""
        return ImageMeta(self.dpi, None, {k: v for k, v in self.tags.items() if k == ORIENTATION})

    def exif_bytes(self, with_resolution: bool = False) -> bytes | None:
        """TIFF-structured EXIF (no ``Exif\\0\\0`` prefix), or None when there is nothing to say."""
        exif = Image.Exif()
        for tag, value in self.tags.items():
            exif[tag] = value
        if with_resolution and self.dpi:
            exif[0x011A], exif[0x011B], exif[0x0128] = float(self.dpi[0]), float(self.dpi[1]), 2
        if not len(exif):
            return None
        data = exif.tobytes()
        return data[6:] if data.startswith(b"Exif\x00\x00") else data


def read_meta(im: Image.Image) -> ImageMeta:
    """The metadata of an opened (not necessarily decoded) Pillow image."""
    icc = im.info.get("icc_profile") or None
    try:
        exif = _exif(im)
    except Exception:  # noqa: BLE001 - a damaged EXIF block must not lose the page
        exif = Image.Exif()
    dpi = im.info.get("dpi")
    if not dpi and exif.get(0x011A) and exif.get(0x011B) and exif.get(0x0128, 2) in (2, 3):
        # WebP has no resolution field of its own: it travels in EXIF.
        per_cm = exif.get(0x0128) == 3
        dpi = tuple(float(exif[t]) * (2.54 if per_cm else 1.0) for t in (0x011A, 0x011B))
    dpi = tuple(float(v) for v in dpi) if dpi and all(float(v) > 0 for v in dpi) else None
    tags: dict[int, object] = {}
    if im.format != "TIFF":  # a TIFF's "EXIF" is its own structure: only orientation carries over
        tags = {t: exif[t] for t in _KEPT_TAGS if t in exif}
    elif ORIENTATION in exif:
        tags = {ORIENTATION: exif[ORIENTATION]}
    if tags.get(ORIENTATION) == 1:
        del tags[ORIENTATION]
    return ImageMeta(dpi, bytes(icc) if icc else None, tags)


_PNG_TEXT_CHUNKS = (b"eXIf", b"tEXt", b"zTXt", b"iTXt")  # where a PNG's EXIF or XMP orientation can be


def _exif(im: Image.Image) -> Image.Exif:
    if im.format == "PNG" and "exif" not in im.info and not _png_text_after_pixels(im):
        # Pillow decodes the whole PNG to look for EXIF after the pixel data (a third of the time of
        # reading a 1700×1200 page, decoded again by OpenCV right after). With no chunk there that
        # could hold it, the chunks read before the pixels are all there is.
        return Image.Image.getexif(im)
    return im.getexif()


def _png_text_after_pixels(im: Image.Image) -> bool:
    """Whether a chunk after the first IDAT could hold EXIF or XMP; True when that cannot be told."""
    path = getattr(im, "filename", None)
    if not path:
        return True
    try:
        with open(path, "rb") as f:
            if f.read(8) != b"\x89PNG\r\n\x1a\n":
                return True
            pixels = False
            while True:
                head = f.read(8)
                if len(head) < 8:
                    return True  # truncated: leave it to Pillow, as before
                length, kind = struct.unpack(">I4s", head)
                if kind == b"IEND":
                    return False
                if kind == b"IDAT":
                    pixels = True
                elif pixels and kind in _PNG_TEXT_CHUNKS:
                    return True
                f.seek(length + 4, 1)  # the chunk's data and CRC: only headers are read
    except OSError:
        return True


def embed(data: bytes, ext: str, meta: ImageMeta) -> bytes:
    """``data`` (a file OpenCV encoded as ``ext``) with ``meta`` written into it."""
    if not (meta.dpi or meta.icc or meta.tags):
        return data
    ext = ext.lower()
    if ext == ".png":
        return _png(data, meta)
    if ext in (".jpg", ".jpeg"):
        return _jpeg(data, meta)
    if ext == ".webp":
        return _webp(data, meta)
    if ext in (".tif", ".tiff"):
        return _tiff(data, meta)
    return data


# ----------------------------------------------------------------------- PNG


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _png(data: bytes, meta: ImageMeta) -> bytes:
    sig, pos = data[:8], 8
    chunks = []
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        chunks.append((data[pos + 4 : pos + 8], data[pos : pos + 12 + n]))
        pos += 12 + n
    extra = []
    if meta.dpi:
        ppm = [max(1, round(v / 0.0254)) for v in meta.dpi]
        extra.append(_png_chunk(b"pHYs", struct.pack(">IIB", ppm[0], ppm[1], 1)))
    if meta.icc:
        extra.append(_png_chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(meta.icc)))
    exif = meta.exif_bytes()
    if exif:
        extra.append(_png_chunk(b"eXIf", exif))
    replaced = {b"pHYs", b"iCCP", b"eXIf"} | ({b"sRGB", b"gAMA", b"cHRM"} if meta.icc else set())
    out = [sig]
    for kind, raw in chunks:
        if kind in replaced:
            continue
        out.append(raw)
        if kind == b"IHDR":  # iCCP must come before PLTE and IDAT
            out += extra
    return b"".join(out)


# ---------------------------------------------------------------------- JPEG


def _jpeg(data: bytes, meta: ImageMeta) -> bytes:
    if data[:2] != b"\xff\xd8":
        return data
    pos = 2
    head = b""
    if data[2:4] == b"\xff\xe0" and data[6:11] == b"JFIF\x00":
        (n,) = struct.unpack(">H", data[4:6])
        app0 = bytearray(data[2 : 4 + n])
        if meta.dpi:  # units 1 = dots per inch
            app0[11:16] = struct.pack(">BHH", 1, *(min(65535, max(1, round(v))) for v in meta.dpi))
        head, pos = bytes(app0), 4 + n
    segments = []
    exif = meta.exif_bytes()
    if exif and len(exif) < 65000:
        segments.append(_jpeg_segment(0xE1, b"Exif\x00\x00" + exif))
    if meta.icc:
        size = 65519
        parts = [meta.icc[i : i + size] for i in range(0, len(meta.icc), size)]
        for i, part in enumerate(parts[:255]):
            segments.append(_jpeg_segment(0xE2, b"ICC_PROFILE\x00" + bytes([i + 1, len(parts)]) + part))
    return data[:2] + head + b"".join(segments) + data[pos:]


def _jpeg_segment(marker: int, body: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


# ---------------------------------------------------------------------- WebP


def _riff_chunk(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("<I", len(body)) + body + (b"\x00" if len(body) % 2 else b"")


def _webp(data: bytes, meta: ImageMeta) -> bytes:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return data
    chunks: dict[bytes, bytes] = {}
    order: list[bytes] = []
    pos = 12
    while pos + 8 <= len(data):
        kind, (n,) = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])
        chunks[kind] = data[pos + 8 : pos + 8 + n]
        order.append(kind)
        pos += 8 + n + (n % 2)
    if b"VP8X" in chunks:
        flags = chunks[b"VP8X"][0]
        w1, h1 = chunks[b"VP8X"][4:7], chunks[b"VP8X"][7:10]
    else:
        flags = 0
        if b"VP8L" in chunks:
            bits = int.from_bytes(chunks[b"VP8L"][1:5], "little")
            w, h = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
            flags |= 0x10 if (bits >> 28) & 1 else 0  # the alpha-is-used hint
        else:  # VP8 (lossy): the frame header holds the size
            body = chunks[b"VP8 "]
            w, h = (int.from_bytes(body[6:8], "little") & 0x3FFF), (int.from_bytes(body[8:10], "little") & 0x3FFF)
        w1, h1 = (w - 1).to_bytes(3, "little"), (h - 1).to_bytes(3, "little")
    exif = meta.exif_bytes(with_resolution=True)
    if meta.icc:
        flags |= 0x20
    if exif:
        flags |= 0x08
    out = [_riff_chunk(b"VP8X", bytes([flags, 0, 0, 0]) + w1 + h1)]
    if meta.icc:
        out.append(_riff_chunk(b"ICCP", meta.icc))
    out += [_riff_chunk(k, chunks[k]) for k in order if k not in (b"VP8X", b"ICCP", b"EXIF")]
    if exif:
        out.append(_riff_chunk(b"EXIF", exif))
    body = b"WEBP" + b"".join(out)
    return b"RIFF" + struct.pack("<I", len(body)) + body


# ---------------------------------------------------------------------- TIFF


def _tiff(data: bytes, meta: ImageMeta) -> bytes:
    """Add the ICC profile and orientation to IFD0 (DPI is written by OpenCV's own TIFF options).

    The new IFD is appended with every old entry plus ours and the header
    pointed at it; the old IFD's out-of-line values stay where they were.
    """
    bo = {b"II": "<", b"MM": ">"}.get(data[:2])
    if bo is None or struct.unpack(bo + "H", data[2:4])[0] != 42:  # BigTIFF or not TIFF: leave it
        return data
    (ifd,) = struct.unpack(bo + "I", data[4:8])
    (n,) = struct.unpack(bo + "H", data[ifd : ifd + 2])
    entries = {}
    for i in range(n):
        e = data[ifd + 2 + 12 * i : ifd + 14 + 12 * i]
        entries[struct.unpack(bo + "H", e[:2])[0]] = e
    (next_ifd,) = struct.unpack(bo + "I", data[ifd + 2 + 12 * n : ifd + 6 + 12 * n])
    out = bytearray(data)
    if meta.icc:
        if len(out) % 2:
            out += b"\x00"
        offset = len(out)
        out += meta.icc
        entries[34675] = struct.pack(bo + "HHII", 34675, 7, len(meta.icc), offset)
    if meta.orientation != 1:
        entries[ORIENTATION] = struct.pack(bo + "HHIHH", ORIENTATION, 3, 1, meta.orientation, 0)
    if len(out) % 2:
        out += b"\x00"
    new_ifd = len(out)
    out += struct.pack(bo + "H", len(entries))
    for tag in sorted(entries):
        out += entries[tag]
    out += struct.pack(bo + "I", next_ifd)
    out[4:8] = struct.pack(bo + "I", new_ifd)
    return bytes(out)
