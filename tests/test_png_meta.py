"""PNG metadata is read from the chunk headers, not by decoding the page a second time."""

import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin
from textclean.imagefiles import read_image_meta

from .helpers import page


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _with_chunk_before_iend(path: Path, kind: bytes, body: bytes) -> None:
    data = path.read_bytes()
    iend = data.rindex(b"IEND") - 4
    path.write_bytes(data[:iend] + _chunk(kind, body) + data[iend:])


def _exif_orientation(value: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = value
    data = exif.tobytes()
    return data[6:] if data.startswith(b"Exif\x00\x00") else data


def test_a_plain_png_is_not_decoded_by_pillow(tmp_path, monkeypatch):
    src = tmp_path / "p.png"
    Image.fromarray(page()).save(src, dpi=(300, 300))

    decoded, load = [], PngImagePlugin.PngImageFile.load

    def counted(self):
        decoded.append(self.filename)
        return load(self)

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", counted)
    image, meta = read_image_meta(src)
    assert decoded == []  # OpenCV decodes the pixels, once
    np.testing.assert_array_equal(image, page())
    assert meta.orientation == 1 and meta.dpi is not None and round(meta.dpi[0]) == 300


def test_exif_before_the_pixels(tmp_path):
    src = tmp_path / "p.png"
    Image.fromarray(page()).save(src, exif=b"Exif\x00\x00" + _exif_orientation(6))
    assert read_image_meta(src)[1].orientation == 6


def test_exif_after_the_pixels(tmp_path):
    src = tmp_path / "p.png"
    Image.fromarray(page()).save(src)
    _with_chunk_before_iend(src, b"eXIf", _exif_orientation(8))
    assert read_image_meta(src)[1].orientation == 8


def test_xmp_orientation_after_the_pixels(tmp_path):
    src = tmp_path / "p.png"
    Image.fromarray(page()).save(src)
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description tiff:Orientation="3"/></x:xmpmeta>'
    _with_chunk_before_iend(src, b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp)
    assert read_image_meta(src)[1].orientation == 3
