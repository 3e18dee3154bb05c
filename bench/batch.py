"""Pages per minute: ``textclean clean FOLDER -o OUT`` on a folder of generated pages, model load included.

    python bench/batch.py                        # this checkout, 20 pages of 1700×1200
    python bench/batch.py --pages 20 --tree ../other-checkout --rounds 2

``--tree`` adds another checkout (its ``daemon`` and ``plugins/common`` go first on PYTHONPATH), so a
change is measured against the code before it in one run, on the same pages, in alternating order.
Prints, per tree and round: wall time, pages per minute over the whole command, and the rate the
CLI's own progress line gives for its pages (model load excluded).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SEED = 5_200_000  # the "heldout" split, seeds apart from bench/run.py's pages


def make_pages(folder: Path, n: int, size: tuple[int, int]) -> None:
    from PIL import Image
    from textclean_train.synth import make_sample

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        s = make_sample(SEED + i, "manga", "heldout", size=size)
        Image.fromarray(s.raw).save(folder / f"{i:03d}.png")


def run_tree(tree: Path, pages: Path, out: Path) -> tuple[float, float | None]:
    """(wall seconds, the CLI's last pages/min) for one run of ``textclean clean``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tree / "daemon"), str(tree / "plugins" / "common")])
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "textclean.cli", "clean", str(pages), "-o", str(out), "--overwrite"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{tree}: textclean exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    rates = re.findall(r"([\d.]+) pages/min", proc.stderr)
    return wall, float(rates[-1]) if rates else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=20)
    ap.add_argument("--size", type=int, nargs=2, default=(1700, 1200), metavar=("H", "W"))
    ap.add_argument("--tree", action="append", default=[], help="another checkout to measure alongside this one")
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    trees = [REPO] + [Path(t).resolve() for t in args.tree]
    with tempfile.TemporaryDirectory(prefix="textclean-batch-") as tmp:
        pages = Path(tmp) / "pages"
        make_pages(pages, args.pages, tuple(args.size))
        print(f"{args.pages} generated pages of {args.size[1]}×{args.size[0]}, {os.cpu_count()} CPU(s)")
        for r in range(args.rounds):
            for tree in trees if r % 2 == 0 else trees[::-1]:  # ABBA: a change in the machine's load evens out
                wall, rate = run_tree(tree, pages, Path(tmp) / "out")
                cli = f"{rate:.1f} pages/min after load" if rate is not None else "no progress line"
                print(f"round {r + 1}  {tree}: {wall:.1f} s, {args.pages / wall * 60:.1f} pages/min overall, {cli}")


if __name__ == "__main__":
    main()
