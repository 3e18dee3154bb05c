"""Reading and writing image files for the CLI, with untrusted input in mind.

The header is read first (Pillow opens lazily) and the pixel count checked
against a limit before anything is decoded, so a decompression bomb or a
header claiming 100000×100000 is refused with a clear message instead of
exhausting memory. Pixels are then decoded by OpenCV, which keeps 16-bit
and float data that Pillow would reduce to 8 bits. DPI, the colour profile
and EXIF orientation are read along (``imagemeta``) and written back.

Writes are atomic: the file is written under a temporary name in the same
folder and renamed over the target, so a crash or Ctrl-C never leaves a
half-written image where a finished one is expected.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

# OpenCV's own decoder limit, read at its first decode: the last line of
# defence for the formats Pillow cannot parse the header of (float TIFF).
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(250_000_000))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from .imagemeta import ImageMeta, embed, read_meta
from .pixels import UnsupportedImage, check_image

EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff")
DEFAULT_MAX_PIXELS = 250_000_000  # a 600-dpi A3 scan is ~70 MP; 10000×14000 is 140 MP

# zlib level 1 with libpng's choice of filter per row. Measured on generated 1700×1200 pages and the
# examples (6 pages, best of 5, loaded 2-core machine): OpenCV's default (level 1, SUB filter, RLE
# strategy) 230 ms and 2.04 MB a page; this 314 ms and 1.43 MB; level 3 490 ms and 1.35 MB; level 6
# 1139 ms and 1.34 MB; level 9 several seconds, more than the networks. A third smaller for a little
# time, which a batch run spends on its I/O thread while the networks work.
# (An OpenCV without IMWRITE_PNG_FILTER leaves the filters to libpng, which tries all five: not measured.)
PNG_PARAMS = (cv2.IMWRITE_PNG_COMPRESSION, 1) + (
    (cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FAST_FILTERS) if hasattr(cv2, "IMWRITE_PNG_FAST_FILTERS") else ()
)

SUPPORTED_MODES = {"1", "L", "LA", "P", "PA", "RGB", "RGBA", "I;16", "I;16B", "I;16L", "I", "F", "La", "RGBa"}


class ImageFileError(ValueError):
    """A file could not be read or written as an image.

    ``str()`` is "path: reason", one line; ``reason`` alone is for callers that name the file themselves.
    """

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


def _pixels_text(n: int) -> str:
    return f"{n / 1e6:.0f} MP" if n >= 10_000_000 else f"{n:,} pixels"


def read_image(path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """H×W, H×W×2, H×W×3 (RGB) or H×W×4 (RGBA) array of uint8, uint16 or float32."""
    return read_image_meta(path, max_pixels)[0]


def read_image_meta(path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, ImageMeta]:
    """The pixels as ``read_image`` gives them, and the file's DPI, ICC profile and orientation."""
    p = Path(path)
    if not p.is_file():
        raise ImageFileError(p, "no such file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(p) as im:
                width, height, mode = im.width, im.height, im.mode
                meta = read_meta(im)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageFileError(p, "image is too large to open safely") from None
    except Exception:  # noqa: BLE001 - Pillow raises several types for non-images
        if p.suffix.lower() in (".tif", ".tiff"):  # float TIFFs: Pillow cannot, OpenCV can
            return _read_tiff_with_opencv(p, max_pixels), ImageMeta()
        raise ImageFileError(p, f"not a readable image (textclean reads {', '.join(EXTENSIONS)})") from None
    if width == 0 or height == 0:
        raise ImageFileError(p, f"image has zero size ({width}×{height})")
    if width * height > max_pixels:
        raise ImageFileError(
            p,
            f"{width}×{height} is {_pixels_text(width * height)}, over the limit of "
            f"{_pixels_text(max_pixels)} (raise it with --max-pixels)",
        )
    if mode not in SUPPORTED_MODES:
        raise ImageFileError(p, f"unsupported colour mode {mode}; convert the image to RGB or grayscale first")
    _check_complete(p)
    if mode in ("P", "PA", "1", "I", "La", "RGBa"):
        array = _read_with_pillow(p, mode)
    else:
        data = np.fromfile(p, dtype=np.uint8)
        array = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
        if array is None:  # OpenCV lacks the codec or the data is truncated
            array = _read_with_pillow(p, mode)
        else:
            array = _rgb_order(array)
            if meta.orientation != 1 and p.suffix.lower() in (".tif", ".tiff"):
                meta = meta.upright()  # OpenCV's TIFF reader applies the orientation itself
    if array.dtype not in (np.uint8, np.uint16, np.float32):
        array = array.astype(np.float32) / (np.iinfo(array.dtype).max if array.dtype.kind in "iu" else 1.0)
    if mode == "LA" and array.ndim == 3 and array.shape[2] == 4:  # OpenCV expands gray+alpha
        array = np.ascontiguousarray(array[..., [0, 3]])
    return _checked(p, array), meta


def _rgb_order(array: np.ndarray) -> np.ndarray:
    """OpenCV decodes colour as BGR(A); the pipeline takes RGB(A)."""
    if array.ndim == 3 and array.shape[2] in (3, 4):
        return cv2.cvtColor(array, cv2.COLOR_BGR2RGB if array.shape[2] == 3 else cv2.COLOR_BGRA2RGBA)
    return array


def _checked(p: Path, array: np.ndarray) -> np.ndarray:
    try:
        check_image(array)
    except UnsupportedImage as exc:
        raise ImageFileError(p, str(exc)) from None
    return array


def _check_complete(p: Path) -> None:
    """Refuse truncated files, which OpenCV would decode into a page with a black bottom."""
    try:
        with Image.open(p) as im:
            im.verify()  # PNG: every chunk and CRC; others: the structure
    except Exception:  # noqa: BLE001 - Pillow raises many types
        raise ImageFileError(p, "image data is truncated or damaged") from None
    if p.suffix.lower() in (".jpg", ".jpeg"):
        with open(p, "rb") as f:
            f.seek(max(0, p.stat().st_size - 65536))
            if b"\xff\xd9" not in f.read():  # no end-of-image marker
                raise ImageFileError(p, "JPEG data is truncated")


def _read_tiff_with_opencv(p: Path, max_pixels: int) -> np.ndarray:
    array = cv2.imdecode(np.fromfile(p, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if array is None:
        raise ImageFileError(p, "not a readable image")
    if array.shape[0] * array.shape[1] > max_pixels:
        raise ImageFileError(
            p,
            f"{array.shape[1]}×{array.shape[0]} is over the limit of "
            f"{_pixels_text(max_pixels)} (raise it with --max-pixels)",
        )
    array = _rgb_order(array)
    if array.dtype not in (np.uint8, np.uint16, np.float32):
        array = array.astype(np.float32)
    return _checked(p, array)


def _read_with_pillow(p: Path, mode: str) -> np.ndarray:
    try:
        with Image.open(p) as im:
            if mode in ("P", "PA", "La", "RGBa"):
                im = im.convert("RGBA" if "transparency" in im.info or mode in ("PA", "La", "RGBa") else "RGB")
            elif mode == "1":
                im = im.convert("L")
            elif mode == "I":
                return np.clip(np.asarray(im, np.int64), 0, 65535).astype(np.uint16)
            im.load()
            return np.asarray(im)
    except OSError:
        raise ImageFileError(p, "image data is truncated or damaged") from None


def encode_image(image: np.ndarray, ext: str, meta: ImageMeta | None = None) -> bytes:
    """The file bytes of ``image`` in the format ``ext`` names, keeping depth where the format can."""
    ext = ext.lower()
    if ext not in EXTENSIONS:
        raise ValueError(f"unknown output format {ext or '(none)'}; use one of {', '.join(EXTENSIONS)}")
    a = image
    if ext in (".jpg", ".jpeg", ".webp") and a.dtype != np.uint8:
        a = _to_u8(a)
    elif a.dtype.kind == "f" and ext == ".png":  # PNG has no float: keep 16 bits
        a = (np.clip(a.astype(np.float32), 0, 1) * 65535 + 0.5).astype(np.uint16)
    elif a.dtype == np.float16:
        a = a.astype(np.float32)
    if ext in (".jpg", ".jpeg") and a.ndim == 3 and a.shape[2] in (2, 4):
        a = a[..., :-1]  # JPEG has no alpha
    if a.ndim == 3 and a.shape[2] == 2:  # OpenCV cannot write gray+alpha
        a = np.concatenate([np.repeat(a[..., :1], 3, axis=2), a[..., 1:]], axis=2)
    if a.ndim == 3 and a.shape[2] == 3:
        a = cv2.cvtColor(a, cv2.COLOR_RGB2BGR)
    elif a.ndim == 3 and a.shape[2] == 4:
        a = cv2.cvtColor(a, cv2.COLOR_RGBA2BGRA)
    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if ext in (".jpg", ".jpeg") else []
    if ext == ".png":
        params = list(PNG_PARAMS)
    if meta and meta.dpi and ext in (".tif", ".tiff"):
        params += [
            cv2.IMWRITE_TIFF_RESUNIT,
            2,
            cv2.IMWRITE_TIFF_XDPI,
            round(meta.dpi[0]),
            cv2.IMWRITE_TIFF_YDPI,
            round(meta.dpi[1]),
        ]
    ok, buf = cv2.imencode(ext, a, params)
    if not ok:
        raise ValueError(f"could not encode the image as {ext}")
    return embed(buf.tobytes(), ext, meta) if meta else buf.tobytes()


class WriteDiscarded(Exception):
    """``keep`` said no just before the rename: the file was not written (a second Ctrl-C)."""


def write_image(
    path: str | os.PathLike,
    image: np.ndarray,
    meta: ImageMeta | None = None,
    keep: Callable[[], bool] | None = None,
) -> None:
    """Write ``image`` (with ``meta``) atomically in the format the extension names.

    ``keep``: asked just before the rename; False drops the file (``WriteDiscarded``).
    """
    p = Path(path)
    try:
        data = encode_image(image, p.suffix, meta)
    except ValueError as exc:
        raise ImageFileError(p, str(exc)) from None
    with atomic_file(p, keep) as f:
        f.write(data)


@contextmanager
def atomic_file(path: str | os.PathLike, keep: Callable[[], bool] | None = None) -> Iterator:
    """A binary file to write ``path`` through: renamed into place only when the block ends normally.

    On any exception, Ctrl-C included, the temporary file is removed and ``path`` is left as it was;
    likewise when ``keep`` (asked just before the rename) returns False, which raises ``WriteDiscarded``.
    """
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".part")
    except OSError as exc:
        raise ImageFileError(p, f"cannot write ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if keep is not None and not keep():
            raise WriteDiscarded(str(p))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 is not what a plain write would give
        os.replace(tmp, p)
    except OSError as exc:
        _unlink(tmp)
        raise ImageFileError(p, f"cannot write ({exc.strerror or exc})") from None
    except BaseException:
        _unlink(tmp)
        raise


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _to_u8(a: np.ndarray) -> np.ndarray:
    if a.dtype == np.uint16:
        return ((a.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    return (np.clip(a.astype(np.float32), 0, 1) * 255 + 0.5).astype(np.uint8)
