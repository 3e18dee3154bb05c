"""Issue 13's speed figures, in one run on the same pages, beside rapidocr's text detector.

    python bench/speed.py                       # 20 pages, prints the table
    python bench/speed.py --report docs/BENCHMARKS.md   # and rewrites its speed section

Needs the bench extra (rapidocr). The pages are generated manga pages of
1200×1700 with held-out fonts (seeds 5,000,000+, as ``bench/run.py``),
written as PNG files to a temporary folder. What it measures:

- the whole job: ``textclean clean FOLDER -o OUT`` as a user runs it, in a
  subprocess, model load included; seconds per page and pages per minute;
- the time from the command to the first cleaned page: of the folder run (the
  first output file to appear), and of ``textclean clean PAGE`` on one page;
- rapidocr's DB text detector alone on the same pages, warm, in process (the
  CLI's figure includes its start-up; this one does not);
- the segmenter on full pages, in process, warm, with the backend the CLI
  picks: megapixels of page per second.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import RapidOcrTelea, _cpu_name, eval_pages  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
START, END = "<!-- speed:start -->", "<!-- speed:end -->"


def _textclean() -> list[str]:
    exe = Path(sys.executable).with_name("textclean")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "textclean.cli"]


def timed_folder_run(src: Path, dst: Path, n: int) -> dict:
    """Wall time of ``textclean clean src -o dst``, and when its first output appeared."""
    first: list[float] = []
    t0 = time.perf_counter()
    proc = subprocess.Popen([*_textclean(), "clean", str(src), "-o", str(dst)], stdout=subprocess.PIPE, text=True)

    def watch() -> None:
        while proc.poll() is None and not first:
            if dst.exists() and any(p.suffix == ".png" for p in dst.iterdir()):
                first.append(time.perf_counter() - t0)
                return
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out, _ = proc.communicate()
    wall = time.perf_counter() - t0
    watcher.join()
    if proc.returncode != 0:
        raise SystemExit(f"textclean clean failed with status {proc.returncode}:\n{out}")
    done = sum(1 for p in dst.iterdir() if p.suffix == ".png")
    if done != n:
        raise SystemExit(f"textclean clean wrote {done} pages of {n}")
    return {"wall": wall, "first": first[0] if first else wall}


def single_page_run(page: Path, out: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run([*_textclean(), "clean", str(page), "-o", str(out)], check=True, capture_output=True)
    return time.perf_counter() - t0


def segmenter_speed(pages: list[np.ndarray]) -> tuple[float, str]:
    """Megapixels of page per second through ``Pipeline.probabilities``, warm, and the backend."""
    from textclean.backend import ModelRunner
    from textclean.pipeline import Pipeline

    runner = ModelRunner("auto")
    pipeline = Pipeline(runner)
    pipeline.probabilities(pages[0])  # warm-up: first-call allocations
    t = time.perf_counter()
    for p in pages:
        pipeline.probabilities(p)
    dt = time.perf_counter() - t
    return sum(p.shape[0] * p.shape[1] for p in pages) / 1e6 / dt, runner.info()["backend"]


def measure(n: int) -> dict:
    pages = eval_pages(n, 0)
    with tempfile.TemporaryDirectory(prefix="textclean-speed-") as tmp:
        src, dst = Path(tmp, "in"), Path(tmp, "out")
        src.mkdir()
        for i, p in enumerate(pages):
            cv2.imwrite(str(src / f"{i:03d}.png"), cv2.cvtColor(p.raw, cv2.COLOR_RGB2BGR))
        single = single_page_run(src / "000.png", Path(tmp, "one.png"))
        folder = timed_folder_run(src, dst, n)

    ocr = RapidOcrTelea()
    ocr.detect(pages[0])  # warm-up
    ocr.detect_seconds.clear()
    for p in pages:
        ocr.detect(p)
    mps, backend = segmenter_speed([p.raw for p in pages[: min(n, 8)]])
    return {
        "n": n,
        "size": f"{pages[0].raw.shape[1]}×{pages[0].raw.shape[0]}",
        "job_s": folder["wall"] / n,
        "pages_per_min": 60 * n / folder["wall"],
        "first_in_folder_s": folder["first"],
        "single_page_s": single,
        "rapidocr_s": float(np.mean(ocr.detect_seconds)),
        "segmenter_mps": mps,
        "backend": backend,
    }


def table(r: dict) -> str:
    ratio = r["job_s"] / r["rapidocr_s"]
    cores = os.cpu_count()
    lines = [
        f"Machine: {_cpu_name()}, {cores} cores, no GPU; backend {r['backend']}. "
        f"{r['n']} generated manga pages of {r['size']}, one run (`python bench/speed.py`).",
        "",
        "| what | figure | target (issue 13) |",
        "| --- | --- | --- |",
        f"| `textclean clean` on the folder, model load included | {r['job_s']:.3f} s/page | |",
        f"| rapidocr DB text detection alone, warm, same pages | {r['rapidocr_s']:.3f} s/page | |",
        f"| whole job ÷ rapidocr detection | {ratio:.2f}× | ≤ 0.5× |",
        f"| segmenter on full pages, warm | {r['segmenter_mps']:.2f} MP/s | ≥ 10 MP/s |",
        f"| command to first cleaned page, folder run | {r['first_in_folder_s']:.2f} s | |",
        f"| command to cleaned page, `textclean clean` on one page | {r['single_page_s']:.2f} s | |",
        f"| pages per minute, folder of {r['n']} | {r['pages_per_min']:.1f} | |",
    ]
    return "\n".join(lines)


def write_report(path: Path, text: str) -> None:
    doc = path.read_text()
    block = f"{START}\n{text}\n{END}"
    if START in doc:
        doc = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, doc, flags=re.S)
    else:
        doc = doc.rstrip("\n") + f"\n\n## Speed on a laptop-class CPU (issue 13)\n\n{block}\n"
    path.write_text(doc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=20)
    ap.add_argument("--report", type=Path, help="rewrite this Markdown file's speed section")
    args = ap.parse_args()
    text = table(measure(args.pages))
    print(text)
    if args.report:
        write_report(args.report, text)


if __name__ == "__main__":
    main()
