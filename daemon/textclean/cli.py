"""``textclean``: remove text from image files and comic archives, in-process (no daemon needed).

    textclean clean INPUT... -o OUT [-r] [--mask-out PATH] [--overwrite | --skip-existing]
                   [--region MASK] [--protect MASK] [--bubbles-only] [--threshold T] [--grow N] ...
    textclean mask INPUT... -o OUT [same options]
    textclean inpaint PAGE --mask MASK -o OUT
    textclean info

``-o`` is a file for one input and a folder for several (or for a folder
input, whose tree ``-r`` mirrors). Inputs are never written over; existing
outputs only with ``--overwrite``. A file that cannot be read is reported in
one line and skipped (exit 1); usage errors and refusals exit 2, Ctrl-C 130.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from textclean_client import params as schema

from . import __version__
from .archives import count_pages, process_archive
from .batch import Step, Stream
from .imagefiles import DEFAULT_MAX_PIXELS, ImageFileError, read_image, read_image_meta, write_image
from .imagemeta import ImageMeta
from .masks import MaskParams
from .outputs import UNSUPPORTED_ARCHIVES, Job, PlanError, Source, all_input_files, find_inputs, plan, targets
from .pixels import UnsupportedImage, has_alpha, max_value
from .plugin_install import add_parser as _add_plugin_installer

EXIT_INTERRUPTED = 130


# ------------------------------------------------------------------ parser


def _param_type(p: schema.Param) -> Callable[[str], object]:
    """argparse ``type`` for one schema parameter; argparse names the flag typed, the message the range."""

    def convert(text: str) -> object:
        rng = f" ({p.range_text()})" if p.range_text() else ""
        try:
            value = p.kind(text) if p.kind is float else int(text, 10)
        except ValueError:
            kind = "a number" if p.kind is float else "a whole number"
            raise argparse.ArgumentTypeError(f"must be {kind}{rng}, got {text!r}") from None
        try:
            return schema.check(p, value)
        except schema.ParamError:  # argparse puts the flag in front: "argument --dilate: must be 0..64, got -1"
            raise argparse.ArgumentTypeError(f"must be {p.range_text()}, got {text}") from None

    convert.__name__ = p.kind.__name__
    return convert


def _positive() -> Callable[[str], int]:
    def convert(text: str) -> int:
        try:
            value = int(text.replace("_", ""), 10)
        except ValueError:
            value = 0
        if value < 1:
            raise argparse.ArgumentTypeError(f"must be a whole number of pixels, 1 or more, got {text!r}")
        return value

    return convert


def _threshold_default_text() -> str:
    threshold = installed_threshold()
    where = f"{threshold:g}, " if threshold is not None else ""
    return f"default: {where}the value the installed segmenter was validated at"


def installed_threshold() -> float | None:
    """The threshold stored with the installed segmenter weights, or None if they cannot be read."""
    try:
        from .weights import WeightsError, load

        return float(load("segmenter").meta.get("threshold", 0.5))
    except (ImportError, OSError, WeightsError, KeyError, ValueError):
        return None


def _add_mask_params(ap: argparse.ArgumentParser, with_flat_fill: bool, threshold_text: str) -> None:
    g = ap.add_argument_group("mask parameters")
    for p in schema.PARAMS:
        if p.name == "flat_fill" and not with_flat_fill:
            continue
        if p.kind is bool:  # on by default; the flag turns it off
            g.add_argument(p.flag, dest=p.name, action="store_false", help=f"do not {p.help}")
            continue
        default = threshold_text if p.default is None else f"default: {p.default}"
        g.add_argument(
            p.flag,
            dest=p.name,
            type=_param_type(p),
            default=p.default,
            metavar="N",
            help=f"{p.help} ({p.range_text()}; {default})",
        )
    # The flag's old name, kept working for scripts; one name (--grow) is shown.
    g.add_argument(
        "--dilate",
        dest="grow",
        type=_param_type(schema.BY_NAME["grow"]),
        default=argparse.SUPPRESS,
        help=argparse.SUPPRESS,
    )


def _add_run_options(ap: argparse.ArgumentParser) -> None:
    g = ap.add_argument_group("running")
    g.add_argument(
        "--device", default="auto", choices=["auto", "cpu", "cuda"], help="where the networks run (default: auto)"
    )
    g.add_argument(
        "--max-pixels",
        type=_positive(),
        default=DEFAULT_MAX_PIXELS,
        metavar="N",
        help=f"refuse images with more pixels than this, before decoding them (default: {DEFAULT_MAX_PIXELS:,})",
    )
    g.add_argument("--allow-untrained", action="store_true", help=argparse.SUPPRESS)


def _add_output_options(ap: argparse.ArgumentParser, what: str) -> None:
    ap.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help=f"where {what} go: a file for one input, a folder for several; never one of the inputs",
    )
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--overwrite", action="store_true", help="replace outputs that exist already")
    g.add_argument(
        "--skip-existing",
        action="store_true",
        help="keep outputs that exist already and do only the rest (resume a half-done chapter)",
    )


def _add_page_options(ap: argparse.ArgumentParser, threshold_text: str, what: str) -> None:
    ap.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="image files (PNG, JPEG, WebP, TIFF), comic archives (.cbz, .zip) or folders",
    )
    _add_output_options(ap, what)
    ap.add_argument(
        "-r",
        "--recursive",
        action="store_true",
        help="go into the subfolders of folder inputs, and mirror the tree under -o",
    )
    ap.add_argument(
        "--region",
        default=None,
        metavar="MASK",
        help="a mask image the size of the pages: look for text only where it is white",
    )
    ap.add_argument(
        "--protect",
        default=None,
        metavar="MASK",
        help="a mask image the size of the pages: never touch where it is white (faces, logos)",
    )
    ap.add_argument(
        "--bubbles-only",
        action="store_true",
        help="remove text only inside speech bubbles and caption boxes, never on the art",
    )


def build_parser(
    threshold_text: str = "default: the value the installed segmenter was validated at",
) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="textclean",
        description="Remove text from manga, comics and illustrations.",
        epilog="Exit status: 0 done, 1 some inputs skipped, 2 usage error or refusal, 130 interrupted.",
    )
    ap.add_argument("--version", action="version", version=f"%(prog)s {__version__}", help="show the version and exit")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    c = sub.add_parser(
        "clean",
        help="remove text and write the cleaned images",
        description="Remove text and write the cleaned images.",
    )
    _add_page_options(c, threshold_text, "the cleaned images")
    c.add_argument(
        "--mask-out",
        default=None,
        metavar="PATH",
        help="also write the text masks (PNG): a file for one input, a folder for several",
    )
    _add_mask_params(c, True, threshold_text)
    _add_run_options(c)
    m = sub.add_parser("mask", help="write the text masks only (PNG)", description="Write the text masks (PNG).")
    _add_page_options(m, threshold_text, "the masks")
    _add_mask_params(m, False, threshold_text)
    _add_run_options(m)
    i = sub.add_parser(
        "inpaint",
        help="repaint the area of a mask you made or got from another tool",
        description="Repaint where MASK is white, as IOPaint and GIMP users do by hand.",
    )
    i.add_argument("page", metavar="PAGE", help="the image to repaint")
    i.add_argument(
        "--mask", required=True, metavar="MASK", help="a mask image the size of PAGE: white is repainted, black is kept"
    )
    _add_output_options(i, "the repainted image")
    i.add_argument(
        schema.BY_NAME["flat_fill"].flag,
        dest="flat_fill",
        action="store_false",
        help=f"do not {schema.BY_NAME['flat_fill'].help}",
    )
    _add_run_options(i)
    sub.add_parser(
        "info",
        help="show the version, the device, the installed weights and the default threshold",
        description="Show the version, the device, the installed weights and the default threshold.",
    )
    _add_plugin_installer(sub)
    return ap


# ---------------------------------------------------------------- progress


class Progress:
    """Pages done, pages per minute and time left, on stderr (only for more than one page)."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.t0 = total, 0, time.monotonic()
        self.enabled = total > 1
        self.tty = sys.stderr.isatty()
        self._drawn = False

    def page(self, name: str) -> None:
        self.done += 1
        if not self.enabled:
            return
        minutes = (time.monotonic() - self.t0) / 60
        rate = self.done / minutes if minutes > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 else 0.0
        left_text = f"{left:.0f} min left" if left >= 1 else f"{left * 60:.0f} s left"
        line = f"{self.done}/{self.total} pages  {rate:.1f} pages/min  {left_text}  {name[-40:]}"
        if self.tty:
            sys.stderr.write(f"\r{line:<100.100}" + ("\n" if self.done == self.total else ""))
            self._drawn = self.done != self.total
        else:
            sys.stderr.write(f"textclean: {line}\n")
        sys.stderr.flush()

    def say(self, message: str) -> None:
        """A line of its own, not glued to the progress line."""
        if self._drawn:
            sys.stderr.write("\n")
            self._drawn = False
        sys.stderr.write(message + "\n")
        sys.stderr.flush()


# -------------------------------------------------------------------- main


def _fail(message: str) -> int:
    print(f"textclean: error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    wants_help = any(a in ("-h", "--help") for a in argv)
    parser = build_parser(
        _threshold_default_text() if wants_help else "default: the value the installed segmenter was validated at"
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "info":
            return _info()
        if args.command == "install-plugin":
            from .plugin_install import run

            return run(args)
        if args.command == "inpaint":
            return _inpaint(args)
        return _pages(args)
    except KeyboardInterrupt:
        # Writes are atomic: the page in progress left no file behind.
        sys.stderr.write("\ntextclean: interrupted; the page in progress was not written\n")
        return EXIT_INTERRUPTED


def read_marks(path: str, flag: str, max_pixels: int) -> np.ndarray:
    """A user's mask file as H×W uint8 (255 = marked): light pixels, and opaque ones where it has alpha.

    Raises ``PlanError`` (a usage error) if it cannot be read.
    """
    try:
        a = read_image(path, max_pixels)
    except (ImageFileError, UnsupportedImage) as exc:
        raise PlanError(f"{flag} {exc.reason if isinstance(exc, ImageFileError) else exc}") from None
    half = max_value(a.dtype) / 2
    colour = a if a.ndim == 2 else a[..., : (1 if a.shape[2] <= 2 else 3)].max(axis=2)
    marked = colour >= half
    if has_alpha(a):
        marked &= a[..., -1] >= half
    return marked.astype(np.uint8) * 255


class _Page:
    """What ``clean`` or ``mask`` does to one page: (main output, mask or None)."""

    def __init__(
        self,
        args: argparse.Namespace,
        pipeline,
        params: MaskParams,
        region: np.ndarray | None,
        protect: np.ndarray | None,
    ) -> None:
        self.args, self.pipeline, self.params = args, pipeline, params
        self.region, self.protect = region, protect

    def __call__(self, image: np.ndarray, meta: ImageMeta, name: str) -> tuple[np.ndarray, np.ndarray | None]:
        for flag, marks in (("--region", self.region), ("--protect", self.protect)):
            if marks is not None and marks.shape != image.shape[:2]:
                raise ImageFileError(
                    name,
                    f"the {flag} mask is {marks.shape[1]}×{marks.shape[0]}, "
                    f"the page is {image.shape[1]}×{image.shape[0]}",
                )
        # --bubbles-only keeps the one-pass mask its rules were made on: with the second look, more of a
        # white outlined sound effect over a white disc was found, and the disc passed for its balloon
        # (2044 px of art changed on a test page of tests/test_bubbles.py).
        one_pass = self.args.bubbles_only
        mask = self.pipeline.segment(image, self.region, self.params, protect=self.protect, one_pass=one_pass)
        if self.args.bubbles_only:
            from .bubbles import inside_bubbles

            mask = inside_bubbles(image, mask)
        if self.args.command == "mask":
            return mask, None
        return self.pipeline.inpaint(image, mask, self.args.flat_fill), mask


def _pages(args: argparse.Namespace) -> int:
    """``clean`` and ``mask``: plan every output, refuse what would lose a file, then work page by page."""
    params = MaskParams(**{p.name: getattr(args, p.name) for p in schema.PARAMS if p.name != "flat_fill"})
    mask_out = getattr(args, "mask_out", None)
    image_ext = ".png" if args.command == "mask" else None
    try:
        found = find_inputs(args.inputs, args.recursive, [Path(args.output)] + ([Path(mask_out)] if mask_out else []))
        for note in found.notes:
            print(f"textclean: note: {note}", file=sys.stderr)
        sources = found.sources
        if not sources:
            return _fail(f"no images or archives found in {', '.join(args.inputs)}")
        several = len(sources) > 1 or bool(found.folders)
        outs = targets(sources, args.output, "-o", several, image_ext)
        mask_outs = targets(sources, mask_out, "--mask-out", several, ".png") if mask_out else None
        jobs = plan(
            sources,
            outs,
            mask_outs,
            all_input_files(sources, [args.region, args.protect]),
            args.overwrite,
            args.skip_existing,
        )
        region = read_marks(args.region, "--region", args.max_pixels) if args.region else None
        protect = read_marks(args.protect, "--protect", args.max_pixels) if args.protect else None
    except PlanError as exc:
        return _fail(str(exc))
    todo = [j for j in jobs if not j.skip]
    if len(todo) < len(jobs):
        print(
            f"textclean: {len(jobs) - len(todo)} input(s) skipped: their outputs exist (--skip-existing)",
            file=sys.stderr,
        )
    if not todo:
        return 0
    pipeline = _make_pipeline(args)
    if pipeline is None:
        return 2
    page = _Page(args, pipeline, params, region, protect)
    progress = Progress(sum(count_pages(j.source.path) if j.source.archive else 1 for j in todo))
    stream = Stream(FILE_ERRORS)
    failed = 0

    def report(step: Step, failure: str | None) -> None:
        nonlocal failed
        if failure is not None:
            failed += 1
            progress.say(failure)
        if step.page or failure is not None:  # an archive counts its own pages, or 1 if it could not be read
            progress.page(step.name)

    def archive_page(src: Path, name: str, failure: str | None) -> None:
        nonlocal failed
        if failure is not None:
            failed += 1
            progress.say(f"textclean: {src}: {failure}")
        progress.page(f"{src.name}/{name}")

    try:
        # Files are read ahead and written behind the networks on one background thread; an archive
        # is one step here and overlaps its own pages the same way inside process_archive.
        stream.run((_job_step(j, page, args, image_ext, stream, archive_page) for j in todo), report)
    except KeyboardInterrupt:
        progress.say(
            f"textclean: interrupted after {progress.done} of {progress.total} pages; "
            f"the page in progress was not written"
        )
        return EXIT_INTERRUPTED
    if failed:
        print(f"textclean: {failed} of {progress.total} page(s) failed", file=sys.stderr)
        return 1
    return 0


# What a bad page raises: it is reported in one line and the run goes on.
FILE_ERRORS = (ImageFileError, UnsupportedImage, MemoryError)


def _reason(exc: BaseException, src: Path) -> str:
    if isinstance(exc, MemoryError):
        return "out of memory (try a smaller image)"
    if isinstance(exc, ImageFileError):
        return exc.reason if exc.path == src else str(exc)  # the input, or an output that failed
    return str(exc)


def _job_step(
    job: Job,
    page: _Page,
    args: argparse.Namespace,
    image_ext: str | None,
    stream: Stream,
    archive_page: Callable[[Path, str, str | None], None],
) -> Step:
    """The step for one input file or archive: read on the I/O thread, networks here, written behind."""
    src = job.source.path
    out = job.out if job.writes(job.out) else None
    mask_out = job.mask_out if job.writes(job.mask_out) else None

    def failed(exc: BaseException) -> str:
        return f"textclean: skipped {src}: {_reason(exc, src)}"

    if src.suffix.lower() in UNSUPPORTED_ARCHIVES:

        def refuse() -> None:
            raise ImageFileError(src, f"{src.suffix} archives are not supported; repack it as .cbz")

        return Step(src.name, read=refuse, failed=failed)
    if job.source.archive:

        def clean_archive(_: None) -> None:
            process_archive(
                src, out, mask_out, page, image_ext, args.max_pixels, lambda name, f: archive_page(src, name, f)
            )

        return Step(src.name, work=clean_archive, failed=failed, page=False)

    def work(value: tuple[np.ndarray, ImageMeta]) -> tuple[np.ndarray, np.ndarray | None, ImageMeta]:
        image, meta = value
        return (*page(image, meta, src.name), meta)

    def write(value: tuple[np.ndarray, np.ndarray | None, ImageMeta]) -> None:
        main, mask, meta = value
        if out is not None:
            write_image(out, main, meta if image_ext is None else meta.for_mask(), keep=stream.keep)
        if mask_out is not None and mask is not None:
            write_image(mask_out, mask, meta.for_mask(), keep=stream.keep)

    return Step(src.name, read=lambda: read_image_meta(src, args.max_pixels), work=work, write=write, failed=failed)


def _inpaint(args: argparse.Namespace) -> int:
    source = Source(Path(args.page), Path(Path(args.page).name))
    try:
        (out,) = targets([source], args.output, "-o", False, None)
        (job,) = plan([source], [out], None, all_input_files([source], [args.mask]), args.overwrite, args.skip_existing)
        if job.skip:
            print(f"textclean: {out} exists (--skip-existing)", file=sys.stderr)
            return 0
        marks = read_marks(args.mask, "--mask", args.max_pixels)
        try:
            image, meta = read_image_meta(source.path, args.max_pixels)
        except ImageFileError as exc:
            raise PlanError(f"{source.path}: {exc.reason}") from None
        if marks.shape != image.shape[:2]:
            raise PlanError(
                f"--mask {args.mask} is {marks.shape[1]}×{marks.shape[0]}, "
                f"but {source.path} is {image.shape[1]}×{image.shape[0]}"
            )
    except PlanError as exc:
        return _fail(str(exc))
    pipeline = _make_pipeline(args)
    if pipeline is None:
        return 2
    try:
        write_image(out, pipeline.inpaint(image, marks, args.flat_fill), meta)
    except ImageFileError as exc:
        return _fail(str(exc))
    return 0


def _make_pipeline(args: argparse.Namespace):
    from .backend import DeviceError, ModelRunner
    from .pipeline import Pipeline
    from .weights import WeightsError

    try:
        runner = ModelRunner(args.device, allow_untrained=args.allow_untrained)
    except (WeightsError, DeviceError) as exc:
        _fail(str(exc))
        return None
    if not runner.trained:
        banner = "!" * 72
        print(
            f"{banner}\n!! WARNING: no trained weights are installed; the models are RANDOM.\n"
            f"!! The output is meaningless. See training/README.md.\n{banner}",
            file=sys.stderr,
        )
    return Pipeline(runner)


def _info() -> int:
    from .backend import ModelRunner
    from .weights import WeightsError, weights_dir

    try:
        runner = ModelRunner("auto")
    except WeightsError as exc:
        return _fail(str(exc))
    info = runner.info()
    print(f"textclean {__version__}")
    print(f"device:    {info['device']} ({info['backend']})")
    print(f"weights:   {weights_dir()}")
    for kind, version in info["models"].items():
        print(f"{kind + ':':11s}{version}  {runner.meta.get(kind, {}).get('summary', '')}")
    print(f"threshold: {runner.default_threshold:g} (the default for --threshold)")
    from .blobcheck import shipped_for

    check = shipped_for(runner)
    if check is None:
        print("blob check: off (none fitted to this segmenter)")
    else:
        print(f"blob check: on, {len(check.trees)} trees, cut {check.cut:g} (--no-check-blobs turns it off)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
