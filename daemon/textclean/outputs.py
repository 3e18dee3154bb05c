"""Which files the CLI reads and which it writes, decided before any work starts.

The rules protect the user's files: an input is never written over (not
even with ``--overwrite``), two inputs never write to the same place, a
file-like ``-o`` is refused for several inputs, and an existing output is
replaced only with ``--overwrite`` (or kept with ``--skip-existing``). Every
refusal is a :class:`PlanError`, which the CLI prints as one line and exits 2
with, before a single page is touched.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .imagefiles import EXTENSIONS

ARCHIVES = (".cbz", ".zip")
UNSUPPORTED_ARCHIVES = (".cbr", ".rar", ".cb7", ".7z")


class PlanError(ValueError):
    """The command would lose or mix up the user's files; the message says which flag to change."""


@dataclass(frozen=True)
class Source:
    path: Path
    rel: Path  # where it goes under a folder -o: its path below the folder given, or its name

    @property
    def archive(self) -> bool:
        return self.path.suffix.lower() in ARCHIVES


@dataclass
class Job:
    source: Source
    out: Path
    mask_out: Path | None = None
    skip: bool = False  # --skip-existing and every output of this job is there already
    keep: tuple[Path, ...] = ()  # --skip-existing: outputs that exist and are not written again

    def writes(self, target: Path | None) -> bool:
        return target is not None and target not in self.keep

    @property
    def targets(self) -> list[Path]:
        return [p for p in (self.out, self.mask_out) if p is not None]


@dataclass
class Inputs:
    sources: list[Source]
    folders: list[Path]  # the folders given: a folder input always means a folder -o
    notes: list[str]  # subfolders left out without -r, said out loud


def _readable(p: Path) -> bool:
    ext = p.suffix.lower()
    return ext in EXTENSIONS or ext in ARCHIVES or ext in UNSUPPORTED_ARCHIVES


def find_inputs(args: list[str], recursive: bool, exclude: list[Path] = ()) -> Inputs:
    """The files to process: files as given, and what the folders given hold (their trees with ``-r``).

    ``exclude``: output folders, never read back as input when they lie inside an input tree.
    """
    excluded = {_resolved(p) for p in exclude}
    sources: list[Source] = []
    folders: list[Path] = []
    notes: list[str] = []
    for arg in args:
        p = Path(arg)
        if not p.is_dir():
            sources.append(Source(p, Path(p.name)))
            continue
        folders.append(p)
        skipped: list[str] = []
        for root, dirs, files in os.walk(p):
            root_path = Path(root)
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and _resolved(root_path / d) not in excluded)
            for name in sorted(files):
                f = root_path / name
                if not name.startswith(".") and _readable(f):
                    sources.append(Source(f, f.relative_to(p)))
            if not recursive:
                skipped = [
                    d for d in dirs if any(_readable(Path(r) / n) for r, _, fs in os.walk(root_path / d) for n in fs)
                ]
                break
        if skipped:
            notes.append(
                f"{p}: {len(skipped)} subfolder(s) with images left out ({', '.join(skipped[:5])}"
                f"{', …' if len(skipped) > 5 else ''}); add -r to include them"
            )
    return Inputs(sources, folders, notes)


def _resolved(p: Path) -> Path:
    return Path(os.path.realpath(p))


def _looks_like_file(p: Path) -> bool:
    ext = p.suffix.lower()
    return (p.exists() and not p.is_dir()) or ext in EXTENSIONS or ext in ARCHIVES


def targets(sources: list[Source], output: str, flag: str, several: bool, image_ext: str | None) -> list[Path]:
    """Where each source goes for the ``flag`` (-o or --mask-out) given as ``output``.

    ``image_ext``: the extension images are written with (".png" for masks), None to keep the input's.
    Archives always become ``.cbz``.
    """
    out = Path(output)

    def renamed(rel: Path, archive: bool) -> Path:
        ext = ".cbz" if archive else (image_ext or rel.suffix)
        return rel.with_suffix(ext)

    if several:
        if _looks_like_file(out):
            raise PlanError(
                f"{flag} {output} names a file, but there are {len(sources)} inputs: give a folder for {flag}"
            )
        return [out / renamed(s.rel, s.archive) for s in sources]
    (s,) = sources
    if out.is_dir() or (not out.suffix and not out.exists()):
        return [out / renamed(s.rel, s.archive)]
    ext = out.suffix.lower()
    wanted = ARCHIVES if s.archive else EXTENSIONS
    if ext not in wanted:
        kind = "an archive (.cbz, .zip)" if s.archive else f"an image ({', '.join(EXTENSIONS)})"
        raise PlanError(
            f"{flag} {output}: {s.path.name} is written as {kind}; use one of those extensions or give a folder"
        )
    return [out]


def plan(
    sources: list[Source],
    outs: list[Path],
    mask_outs: list[Path] | None,
    inputs_protected: list[Path],
    overwrite: bool,
    skip_existing: bool,
) -> list[Job]:
    """Jobs for the sources, or ``PlanError`` if any write would lose or mix up a file."""
    jobs = [Job(s, o, m) for s, o, m in zip(sources, outs, mask_outs or [None] * len(sources))]
    protected = {_resolved(p): p for p in inputs_protected}
    seen: dict[Path, Job] = {}
    for job in jobs:
        for t in job.targets:
            r = _resolved(t)
            if r in protected:
                raise PlanError(
                    f"{t} is an input: textclean never writes over its inputs; give -o another file or folder"
                )
            if r in seen:
                other = seen[r]
                raise PlanError(
                    f"{other.source.path} and {job.source.path} would both be written to {t}; "
                    f"rename one of them or clean them in separate runs"
                )
            seen[r] = job
            if t.is_dir():
                raise PlanError(f"{t} is a folder; textclean will not replace it with a file")
    existing = [t for job in jobs for t in job.targets if t.exists()]
    if existing and not (overwrite or skip_existing):
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        raise PlanError(
            f"{existing[0]}{more} exist(s) already: add --overwrite to replace, "
            f"or --skip-existing to keep and go on with the rest"
        )
    if skip_existing:
        for job in jobs:
            job.keep = tuple(t for t in job.targets if t.exists())
            job.skip = len(job.keep) == len(job.targets)
    return jobs


def all_input_files(sources: list[Source], extra: list[str | os.PathLike | None]) -> list[Path]:
    """Every file the run reads: the sources and the masks given (--region, --protect, --mask)."""
    return [s.path for s in sources] + [Path(p) for p in extra if p]
