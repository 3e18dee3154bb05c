"""``textclean``: remove text from image files, in-process (no daemon needed).

    textclean clean INPUT... -o OUT [--mask-out PATH] [--threshold T] [--dilate N] [--device auto]
    textclean mask INPUT -o MASK.png
    textclean info

``-o`` is a file for one input and a folder for several (or for a folder
input). A file that cannot be read is reported in one line and skipped;
the exit status is then 1. Usage errors exit with 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .imagefiles import DEFAULT_MAX_PIXELS, ImageFileError, list_inputs, read_image, write_image
from .masks import MaskParams
from .pixels import UnsupportedImage


def _add_model_options(ap: argparse.ArgumentParser) -> None:
    d = MaskParams()
    ap.add_argument("--threshold", type=float, default=None,
                    help="text probability threshold, 0..1 (default: the value the shipped model was validated at)")
    ap.add_argument("--dilate", type=int, default=d.grow, help=f"grow the mask by N px (default {d.grow})")
    ap.add_argument("--min-area", type=int, default=d.min_area,
                    help=f"drop mask specks smaller than this many px (default {d.min_area})")
    ap.add_argument("--no-fill-holes", action="store_true", help="do not fill the enclosed holes inside glyphs")
    ap.add_argument("--region", default=None, help="a mask image: look for text only where it is non-black")
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    ap.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                    help=f"refuse images larger than this (default {DEFAULT_MAX_PIXELS:,})")
    ap.add_argument("--allow-untrained", action="store_true", help=argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="textclean", description="Remove text from manga, comics and illustrations.")
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("clean", help="remove text and write the cleaned images")
    c.add_argument("inputs", nargs="+", help="image files or folders (PNG, JPEG, WebP, TIFF)")
    c.add_argument("-o", "--output", required=True, help="output file (one input) or folder (several)")
    c.add_argument("--mask-out", default=None, help="also write the text mask: a file, or a folder for several")
    c.add_argument("--no-flat-fill", action="store_true", help="inpaint flat areas with the network too")
    _add_model_options(c)
    m = sub.add_parser("mask", help="write the text mask only")
    m.add_argument("inputs", nargs="+")
    m.add_argument("-o", "--output", required=True)
    _add_model_options(m)
    sub.add_parser("info", help="show the device and the installed model weights")
    _add_plugin_installer(sub)
    return ap


def _add_plugin_installer(sub: argparse._SubParsersAction) -> None:
    try:
        from .plugin_install import add_parser
    except ImportError:
        return
    add_parser(sub)


class _Bar:
    """A one-line progress bar on stderr (only drawn for several images)."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.t0 = total, 0, time.time()
        self.enabled = total > 1

    def update(self, name: str) -> None:
        self.done += 1
        if not self.enabled:
            return
        frac = self.done / self.total
        fill = int(30 * frac)
        rate = (time.time() - self.t0) / self.done
        sys.stderr.write(f"\r[{'#' * fill}{'.' * (30 - fill)}] {self.done}/{self.total} "
                         f"{rate:.1f}s/img {name[:40]:40s}")
        if self.done == self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _outputs(inputs: list[Path], output: str, several: bool, suffix: str | None) -> list[Path]:
    out = Path(output)
    if not several:
        return [out]
    if out.exists() and not out.is_dir():
        raise SystemExit(f"textclean: error: -o {out} must be a folder when there are several inputs")
    out.mkdir(parents=True, exist_ok=True)
    return [out / (p.stem + (suffix or p.suffix)) for p in inputs]


def _fail(message: str) -> int:
    print(f"textclean: error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "info":
        return _info()
    if args.command == "install-plugin":
        from .plugin_install import run
        return run(args)
    try:
        params = MaskParams(threshold=args.threshold, grow=args.dilate, min_area=args.min_area,
                            fill_holes=not args.no_fill_holes).validated()
    except ValueError as exc:
        return _fail(str(exc))
    inputs = list_inputs(args.inputs)
    if not inputs:
        return _fail("no input images found")
    several = len(inputs) > 1 or any(Path(p).is_dir() for p in args.inputs)
    outputs = _outputs(inputs, args.output, several, ".png" if args.command == "mask" else None)
    mask_outs = None
    if args.command == "clean" and args.mask_out:
        mask_outs = _outputs(inputs, args.mask_out, several, ".png")
    region = None
    if args.region:
        try:
            region = read_image(args.region, args.max_pixels)
        except ImageFileError as exc:
            return _fail(str(exc))
        region = region if region.ndim == 2 else region[..., 0]
    pipeline = _make_pipeline(args)
    if pipeline is None:
        return 2
    failed = 0
    bar = _Bar(len(inputs))
    for i, path in enumerate(inputs):
        try:
            image = read_image(path, args.max_pixels)
            if region is not None and region.shape[:2] != image.shape[:2]:
                raise ImageFileError(f"{args.region}: region is {region.shape[1]}×{region.shape[0]}, "
                                     f"but {path} is {image.shape[1]}×{image.shape[0]}")
            if args.command == "mask":
                write_image(outputs[i], pipeline.segment(image, region, params))
            else:
                mask, cleaned = pipeline.remove_text(image, region, params, flat_fill=not args.no_flat_fill)
                write_image(outputs[i], cleaned)
                if mask_outs:
                    write_image(mask_outs[i], mask)
        except (ImageFileError, UnsupportedImage) as exc:
            failed += 1
            sys.stderr.write(("\n" if bar.enabled else "") + f"textclean: skipped {path}: {exc}\n")
        except MemoryError:
            failed += 1
            sys.stderr.write(f"textclean: skipped {path}: out of memory (try a smaller image)\n")
        bar.update(path.name)
    if failed:
        print(f"textclean: {failed} of {len(inputs)} image(s) failed", file=sys.stderr)
        return 1
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
        print(f"{banner}\n!! WARNING: no trained weights are installed; the models are RANDOM.\n"
              f"!! The output is meaningless. See training/README.md.\n{banner}", file=sys.stderr)
    return Pipeline(runner)


def _info() -> int:
    from .backend import ModelRunner
    from .weights import WeightsError, weights_dir

    try:
        runner = ModelRunner("auto")
    except WeightsError as exc:
        return _fail(str(exc))
    info = runner.info()
    print(f"device:   {info['device']} ({info['backend']})")
    print(f"weights:  {weights_dir()}")
    for kind, version in info["models"].items():
        print(f"{kind + ':':10s}{version}  {runner.meta.get(kind, {}).get('summary', '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

