"""Comic book archives (.cbz, .zip): pages in, cleaned pages out, same order and names.

Every member is copied to the new archive in its original order. Pages
(image members) are replaced by their cleaned version in the same format and
under the same name; anything else (ComicInfo.xml, a cover note) is copied
as it is. A page that cannot be read is copied unchanged and reported, so
the archive never loses a page. Members are never extracted under their own
names, so a crafted name ("../x") cannot write outside a temporary folder,
and a member's declared size is checked before it is read.

CBR (RAR) is not read: Python's well-kept RAR readers call the non-free
``unrar`` program, which cannot be assumed on a user's machine.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from .batch import Step, Stream
from .imagefiles import EXTENSIONS, ImageFileError, atomic_file, encode_image, read_image_meta
from .imagemeta import ImageMeta
from .pixels import UnsupportedImage

MAX_MEMBER_BYTES = 1 << 30  # a single page file over 1 GiB is not a comic page

# (pixels, metadata, member name) -> (main output, mask or None); the main output is written in the
# page's own format unless ``main_ext`` says otherwise (masks are PNG).
PageFn = Callable[[np.ndarray, ImageMeta, str], tuple[np.ndarray, np.ndarray | None]]


@dataclass
class ArchiveResult:
    pages: int = 0
    failed: list[str] | None = None  # "member: reason" for each page copied unchanged


def is_page(info: zipfile.ZipInfo) -> bool:
    name = PurePosixPath(info.filename)
    return (
        not info.is_dir()
        and name.suffix.lower() in EXTENSIONS
        and not name.name.startswith(".")
        and "__MACOSX" not in name.parts
    )


def count_pages(path: Path) -> int:
    """Pages in the archive, or 1 for one that cannot be opened (its failure is reported later)."""
    try:
        with zipfile.ZipFile(path) as z:
            return sum(1 for info in z.infolist() if is_page(info))
    except (OSError, zipfile.BadZipFile):
        return 1


def _mask_name(name: str, used: set[str]) -> str:
    p = PurePosixPath(name)
    out = str(p.with_suffix(".png"))
    if out in used:  # a.jpg and a.png in one archive: keep both masks apart
        out = f"{name}.png"
    used.add(out)
    return out


PAGE_ERRORS = (ImageFileError, UnsupportedImage, zipfile.BadZipFile, ValueError, MemoryError)


def process_archive(
    src: Path,
    out: Path | None,
    mask_out: Path | None,
    page_fn: PageFn,
    main_ext: str | None,
    max_pixels: int,
    on_page: Callable[[str, str | None], None],
) -> ArchiveResult:
    """Write ``out`` (pages through ``page_fn``) and ``mask_out`` (the masks) as new archives.

    Either may be None (not asked for, or kept by --skip-existing). Both are written atomically.
    ``on_page(member name, failure line or None)`` is called for each page, in order, once it is
    written. Pages are decoded and encoded on a background thread while ``page_fn`` runs on this
    one (``batch.Stream``). Raises ``ImageFileError`` if ``src`` is not a readable zip archive.
    """
    try:
        zin = zipfile.ZipFile(src)
    except (OSError, zipfile.BadZipFile) as exc:
        reason = "not a zip archive (CBZ)" if isinstance(exc, zipfile.BadZipFile) else (exc.strerror or str(exc))
        raise ImageFileError(src, reason) from None
    result = ArchiveResult(failed=[])

    def report(step: Step, failure: str | None) -> None:
        if failure is not None:
            result.failed.append(failure)
        if step.page:
            result.pages += 1
            on_page(step.name, failure)

    with (
        zin,
        tempfile.TemporaryDirectory(prefix="textclean-") as tmp,
        _maybe_zip(out) as zout,
        _maybe_zip(mask_out) as zmask,
    ):
        members = _Members(zin, zout, zmask, Path(tmp), page_fn, main_ext, max_pixels)
        Stream(PAGE_ERRORS).run((members.step(info) for info in zin.infolist()), report)
    return result


class _Members:
    """The steps for an archive's members: pages are cleaned, anything else is copied as it is."""

    def __init__(
        self,
        zin: zipfile.ZipFile,
        zout: zipfile.ZipFile | None,
        zmask: zipfile.ZipFile | None,
        tmp: Path,
        page_fn: PageFn,
        main_ext: str | None,
        max_pixels: int,
    ) -> None:
        self.zin, self.zout, self.zmask, self.tmp = zin, zout, zmask, tmp
        self.page_fn, self.main_ext, self.max_pixels = page_fn, main_ext, max_pixels
        self.used: set[str] = set()  # mask names given out so far

    def step(self, info: zipfile.ZipInfo) -> Step:
        if not is_page(info):
            copies = self.zout is not None and self.main_ext is None  # a mask archive holds masks only
            return Step(info.filename, write=(lambda _: self._copy(info)) if copies else None, page=False)
        return Step(
            info.filename,
            read=lambda: self._read(info),
            work=lambda value: (self.page_fn(value[0], value[1], info.filename), value[1]),
            write=lambda value: self._write(info, *value),
            failed=lambda exc: self._failed(info, exc),
        )

    def _copy(self, info: zipfile.ZipInfo) -> None:
        with self.zin.open(info) as fin, self.zout.open(_copy_info(info), "w") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)  # streamed: any size, little memory

    def _read(self, info: zipfile.ZipInfo) -> tuple[np.ndarray, ImageMeta]:
        if info.file_size > MAX_MEMBER_BYTES:
            raise ImageFileError(info.filename, f"{info.file_size:,} bytes is too large for a page")
        page = self.tmp / f"page{PurePosixPath(info.filename).suffix.lower()}"
        page.write_bytes(self.zin.read(info))
        return read_image_meta(page, self.max_pixels)

    def _write(self, info: zipfile.ZipInfo, outputs: tuple[np.ndarray, np.ndarray | None], meta: ImageMeta) -> None:
        main, mask = outputs
        # Both are encoded before either is stored, so a page that fails leaves no member half done.
        main_data = mask_data = None
        if self.zout is not None:
            ext = self.main_ext or PurePosixPath(info.filename).suffix
            main_data = encode_image(main, ext, meta if self.main_ext is None else meta.for_mask())
        if self.zmask is not None and mask is not None:
            mask_data = encode_image(mask, ".png", meta.for_mask())
        if main_data is not None:
            name = info.filename if self.main_ext is None else _mask_name(info.filename, set())
            _put(self.zout, info, name, main_data)
        if mask_data is not None:
            _put(self.zmask, info, _mask_name(info.filename, self.used), mask_data)

    def _failed(self, info: zipfile.ZipInfo, exc: BaseException) -> str:
        if isinstance(exc, MemoryError):
            reason = "out of memory (try a smaller image)"
        else:
            reason = exc.reason if isinstance(exc, ImageFileError) else str(exc)
        if self.zout is not None and self.main_ext is None:
            self.zout.writestr(info, _safe_read(self.zin, info))
            return f"{info.filename}: {reason}; copied unchanged"
        return f"{info.filename}: {reason}; left out"


def _safe_read(zin: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    try:
        return zin.read(info) if info.file_size <= MAX_MEMBER_BYTES else b""
    except (zipfile.BadZipFile, OSError, ValueError):
        return b""


def _copy_info(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    copy.compress_type, copy.comment, copy.external_attr = info.compress_type, info.comment, info.external_attr
    return copy


def _put(z: zipfile.ZipFile, like: zipfile.ZipInfo, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=like.date_time)
    # Image formats are compressed already; TIFF often is not.
    info.compress_type = zipfile.ZIP_DEFLATED if name.lower().endswith((".tif", ".tiff")) else zipfile.ZIP_STORED
    z.writestr(info, data)


class _maybe_zip:
    """A new zip archive written atomically at ``path``, or nothing when ``path`` is None."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._file = None
        self._zip: zipfile.ZipFile | None = None

    def __enter__(self) -> zipfile.ZipFile | None:
        if self.path is None:
            return None
        self._file = atomic_file(self.path)
        f = self._file.__enter__()
        self._zip = zipfile.ZipFile(f, "w")
        return self._zip

    def __exit__(self, exc_type, exc, tb) -> bool:
        if self.path is None:
            return False
        try:
            if exc_type is None:
                self._zip.close()  # the central directory, before the rename
            else:
                self._zip.fp = None  # drop it unfinished: the temporary file is deleted, nothing to close
        finally:
            self._file.__exit__(exc_type, exc, tb)
        return False
