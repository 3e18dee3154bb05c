"""textclean against the tools users would pick instead, on the same pages, in the same run.

    python bench/run.py --quick                      # a few minutes on a 2-core CPU: tables on stdout
    python bench/run.py --report docs/BENCHMARKS.md  # the full run, with plot and example strip

Needs the bench extra: pip install -e '.[bench]' (rapidocr, patchmatch-cython, matplotlib, psutil).

The evaluation pages (full run: 8 manga, 4 colour; --quick: 3 and 2) are generated from fixed seeds (5,000,000+ manga at
1200×1700, 5,100,000+ colour at 1280×850) with held-out fonts; training
(0..1999), validation (1,000,000+, 2,000,000+) and the examples use other
seeds. Each page has a raw, a clean and a true mask; the faint rim of text
(label 255) is not scored.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from textclean.backend import ModelRunner  # noqa: E402
from textclean.pipeline import Pipeline  # noqa: E402

MANGA_SEED, COLOUR_SEED = 5_000_000, 5_100_000
VISIBLE = 32 / 255  # a pixel this far from the clean page still shows text
ZONE_PX = 12
TOLERANCE_PX = 3


@dataclass
class Page:
    kind: str
    raw: np.ndarray
    clean: np.ndarray
    label: np.ndarray  # 0 background, 1 text, 255 soft rim (not scored)

    @property
    def text(self) -> np.ndarray:
        return self.label == 1

    @property
    def hand_mask(self) -> np.ndarray:
        """What a user selects by hand around the text: every text pixel and its rim, grown by 2 px."""
        return cv2.dilate((self.label > 0).astype(np.uint8), np.ones((5, 5), np.uint8)) * 255


def eval_pages(n_manga: int, n_colour: int) -> list[Page]:
    from textclean_train.synth import make_sample

    pages = []
    for i in range(n_manga):
        s = make_sample(MANGA_SEED + i, "manga", "heldout", size=(1700, 1200), scenery=False)
        pages.append(Page("manga", s.raw, s.clean, s.label))
    for i in range(n_colour):
        s = make_sample(COLOUR_SEED + i, "colour", "heldout", size=(850, 1280), scenery=False)
        pages.append(Page("colour", s.raw, s.clean, s.label))
    return pages


# --------------------------------------------------------------------- methods


@dataclass
class Method:
    name: str
    finds_text: bool  # False: given the true mask
    run: object  # Page -> (mask or None, output image)
    seconds: list[float] = field(default_factory=list)


def telea(page: Page) -> tuple[None, np.ndarray]:
    return None, cv2.inpaint(page.raw, page.hand_mask, 3, cv2.INPAINT_TELEA)


def navier_stokes(page: Page) -> tuple[None, np.ndarray]:
    return None, cv2.inpaint(page.raw, page.hand_mask, 3, cv2.INPAINT_NS)


def patchmatch(page: Page) -> tuple[None, np.ndarray]:
    from patchmatch_cython import inpaint_pyramid

    return None, inpaint_pyramid(page.raw, page.hand_mask > 0, patch_size=5, seed=0).astype(np.uint8)


class RapidOcrTelea:
    """PP-OCR's DB text detector (bundled with rapidocr), its boxes filled, then Telea."""

    def __init__(self) -> None:
        import logging

        from rapidocr import RapidOCR

        logging.getLogger("RapidOCR").setLevel(logging.WARNING)
        self.engine = RapidOCR()
        self.detect_seconds: list[float] = []

    def detect(self, page: Page) -> np.ndarray:
        t = time.perf_counter()
        result = self.engine(page.raw[..., ::-1], use_det=True, use_cls=False, use_rec=False)
        self.detect_seconds.append(time.perf_counter() - t)
        mask = np.zeros(page.raw.shape[:2], np.uint8)
        if result.boxes is not None:
            cv2.fillPoly(mask, [np.round(b).astype(np.int32) for b in result.boxes], 255)
        return mask

    def __call__(self, page: Page) -> tuple[np.ndarray, np.ndarray]:
        mask = self.detect(page)
        return mask, cv2.inpaint(page.raw, mask, 3, cv2.INPAINT_TELEA)


class DaemonClient:
    """textclean end to end through a real daemon server on 127.0.0.1, warm."""

    def __init__(self, pipeline: Pipeline) -> None:
        import textclean_client as tc
        from textclean.server import Server

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.endpoint = f"tcp://127.0.0.1:{s.getsockname()[1]}"
        self.server = Server(pipeline, self.endpoint)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.server.wait_ready(30)
        self.client = tc.connect(self.endpoint, timeout=600)
        self.tc = tc

    def __call__(self, page: Page) -> tuple[np.ndarray, np.ndarray]:
        h, w = page.raw.shape[:2]
        mask, out = self.client.remove_text(self.tc.Image(w, h, "RGB", "u8", page.raw.tobytes()))
        return (np.frombuffer(mask.data, np.uint8).reshape(h, w), np.frombuffer(out.data, np.uint8).reshape(h, w, 3))

    def close(self) -> None:
        self.client.close()
        self.server.stop()
        self.thread.join(30)


# --------------------------------------------------------------------- metrics


def psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    d = (a.astype(np.float64) - b.astype(np.float64))[where] / 255
    return float(10 * np.log10(1 / max(float(np.mean(d * d)), 1e-10)))


def score(page: Page, mask: np.ndarray | None, out: np.ndarray) -> dict:
    scored = page.label != 255
    zone = (
        cv2.dilate(
            (page.label > 0).astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ZONE_PX + 1,) * 2)
        )
        > 0
    )
    diff_clean = np.abs(out.astype(np.int16) - page.clean.astype(np.int16)).max(axis=2)
    changed = np.abs(out.astype(np.int16) - page.raw.astype(np.int16)).max(axis=2) > 2
    m = {
        "text_left": float(np.mean(diff_clean[page.text] > VISIBLE * 255)),
        "psnr_zone": psnr(out, page.clean, zone),
        "psnr_page": psnr(out, page.clean, np.ones_like(zone)),
        "collateral": float(np.mean(changed[~zone])),
    }
    if mask is not None:
        pred = (mask > 0) & scored
        near = (
            cv2.dilate(
                (page.label > 0).astype(np.uint8),
                cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * TOLERANCE_PX + 1,) * 2),
            )
            > 0
        )
        tp = np.count_nonzero(pred & page.text)
        fp = np.count_nonzero(pred & ~near)
        fn = np.count_nonzero(~pred & page.text)
        m.update(tp=tp, fp=fp, fn=fn)
    return m


def aggregate(rows: list[dict]) -> dict:
    out = {k: float(np.mean([r[k] for r in rows])) for k in ("text_left", "psnr_zone", "psnr_page", "collateral")}
    if "tp" in rows[0]:
        tp, fp, fn = (sum(r[k] for r in rows) for k in ("tp", "fp", "fn"))
        p, r = tp / max(1, tp + fp), tp / max(1, tp + fn)
        out.update(precision=p, recall=r, f1=2 * p * r / max(1e-9, p + r))
    return out


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------- scaling

SCALING_CHILD = """
import sys, time, resource, numpy as np, torch
torch.set_num_threads(int(sys.argv[2]))
from textclean.backend import ModelRunner
from textclean.pipeline import Pipeline
from textclean_train.synth import make_sample
mp = float(sys.argv[1])
s = make_sample(5_000_000, "manga", "heldout", size=(1700, 1200))
side = int((mp * 1e6) ** 0.5)
reps = (side // 1700 + 1, side // 1200 + 1, 1)
page = np.ascontiguousarray(np.tile(s.raw, reps)[:side, :side])
del s
p = Pipeline(ModelRunner("auto"))
def hwm():  # VmHWM, not ru_maxrss, which Linux carries over from the parent across fork and exec
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024
base = hwm()
t = time.perf_counter()
p.remove_text(page)
dt = time.perf_counter() - t
print(dt, hwm(), base, page.nbytes / 1e6)
"""


def scaling(sizes: list[float], threads: int) -> list[dict]:
    rows = []
    for mp in sizes:
        r = subprocess.run(
            [sys.executable, "-c", SCALING_CHILD, str(mp), str(threads)], capture_output=True, text=True, timeout=3600
        )
        if r.returncode != 0:
            rows.append({"mp": mp, "error": r.stderr.strip().splitlines()[-1]})
            continue
        dt, peak, base, page_mb = map(float, r.stdout.split()[-4:])
        rows.append({"mp": mp, "seconds": dt, "peak_mb": peak, "before_mb": base, "page_mb": page_mb})
    return rows


# ---------------------------------------------------------------------- report


def _cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run(args: argparse.Namespace) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    pages = eval_pages(*(args.pages or ((3, 2) if args.quick else (8, 4))))
    runner = ModelRunner(args.device)
    pipeline = Pipeline(runner)
    daemon = DaemonClient(pipeline)
    ocr = RapidOcrTelea()
    methods = [
        Method("textclean (end to end, daemon)", True, daemon),
        Method("textclean inpainter, true mask", False, lambda p: (None, pipeline.inpaint(p.raw, p.hand_mask))),
        Method("OpenCV Telea, true mask", False, telea),
        Method("OpenCV Navier-Stokes, true mask", False, navier_stokes),
        Method("PatchMatch, true mask", False, patchmatch),
        Method("rapidocr DB boxes + Telea", True, ocr),
    ]
    daemon(pages[0])  # warm
    ocr.detect(pages[0])
    ocr.detect_seconds.clear()
    scores: dict[str, dict[str, list]] = {m.name: {"manga": [], "colour": []} for m in methods}
    examples = []
    for i, page in enumerate(pages):
        outs = {}
        for m in methods:
            t = time.perf_counter()
            mask, out = m.run(page)
            m.seconds.append(time.perf_counter() - t)
            scores[m.name][page.kind].append(score(page, mask, out))
            outs[m.name] = out
        if i in (0, len(pages) - 1):
            examples.append((page, outs))
        print(f"page {i + 1}/{len(pages)} ({page.kind}) done", file=sys.stderr, flush=True)
    daemon.close()
    # Speed of the parts, in the same run.
    rng = np.random.default_rng(0)
    tile = rng.integers(0, 256, (1, 512, 512, 3), dtype=np.uint8)
    runner.segment(tile)
    t = time.perf_counter()
    for _ in range(5):
        runner.segment(tile)
    seg_512 = (time.perf_counter() - t) / 5
    manga = [p for p in pages if p.kind == "manga"][0]
    t = time.perf_counter()
    pipeline.segment(manga.raw)
    seg_page = time.perf_counter() - t
    t = time.perf_counter()
    pipeline.inpaint(manga.raw, manga.hand_mask)
    inp_page = time.perf_counter() - t
    results = {
        "machine": f"{_cpu_name()}, {os.cpu_count()} cores, "
        f"{args.threads} threads, {runner.info()['device']} ({runner.backend})",
        "pages": {"manga": sum(p.kind == "manga" for p in pages), "colour": sum(p.kind == "colour" for p in pages)},
        "quality": {
            name: {kind: aggregate(rows) for kind, rows in by_kind.items() if rows} for name, by_kind in scores.items()
        },
        "seconds_per_page": {m.name: float(np.mean(m.seconds)) for m in methods},
        "rapidocr_detect_s": float(np.mean(ocr.detect_seconds)),
        "segmenter_mp_s_512": 512 * 512 / 1e6 / seg_512,
        "segmenter_mp_s_page": manga.raw.shape[0] * manga.raw.shape[1] / 1e6 / seg_page,
        "inpainter_ms_page": 1000 * inp_page,
        "peak_rss_mb": peak_rss_mb(),
        "scaling": scaling(
            args.scaling if args.scaling is not None else [1, 4, 16] if args.quick else [1, 4, 16, 64], args.threads
        ),
    }
    results["examples"] = examples
    return results


def tables(r: dict) -> str:
    lines = [
        f"Machine: {r['machine']}. Pages: {r['pages']['manga']} manga (1200×1700), "
        f"{r['pages']['colour']} colour (1280×850).",
        "",
    ]
    for kind in ("manga", "colour"):
        lines += [
            f"### Quality, {kind} pages",
            "",
            "| method | finds text | mask P | mask R | mask F1 | text left | PSNR text zone | PSNR page | collateral |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for name, by_kind in r["quality"].items():
            q = by_kind.get(kind)
            if not q:
                continue
            finds = "yes" if "f1" in q else "no (true mask)"
            mask = f"{q['precision']:.3f} | {q['recall']:.3f} | {q['f1']:.3f}" if "f1" in q else "– | – | –"
            lines.append(
                f"| {name} | {finds} | {mask} | {q['text_left']:.1%} | {q['psnr_zone']:.2f} dB | "
                f"{q['psnr_page']:.2f} dB | {q['collateral']:.3%} |"
            )
        lines.append("")
    base = r["rapidocr_detect_s"]
    telea_s = r["seconds_per_page"]["OpenCV Telea, true mask"]
    lines += [
        "### Speed (seconds per page, mean over all pages, same run)",
        "",
        "| method | s/page | × rapidocr detection | × Telea |",
        "| --- | --- | --- | --- |",
    ]
    for name, s in r["seconds_per_page"].items():
        lines.append(f"| {name} | {s:.3f} | {s / base:.2f} | {s / telea_s:.1f} |")
    lines += [
        f"| rapidocr DB detection alone | {base:.3f} | 1.00 | {base / telea_s:.1f} |",
        "",
        f"- textclean segmenter: {r['segmenter_mp_s_512']:.2f} MP/s on 512×512 tiles, "
        f"{r['segmenter_mp_s_page']:.2f} MP/s on a full 1200×1700 page",
        f"- textclean inpainter, full manga page, true mask: {r['inpainter_ms_page']:.0f} ms",
        f"- peak memory of the benchmark process: {r['peak_rss_mb']:.0f} MB",
        "",
        "### Scaling (remove_text in a fresh process per size)",
        "",
        "| page | seconds | s/MP | peak RSS MB (VmHWM) | of which before the page was processed | page MB |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in r["scaling"]:
        if "error" in row:
            lines.append(f"| {row['mp']:g} MP | failed: {row['error']} | | | | |")
        else:
            lines.append(
                f"| {row['mp']:g} MP | {row['seconds']:.2f} | {row['seconds'] / row['mp']:.2f} | "
                f"{row['peak_mb']:.0f} | {row['before_mb']:.0f} | {row['page_mb']:.0f} |"
            )
    return "\n".join(lines)


def plot(r: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, by_kind in r["quality"].items():
        if "manga" in by_kind:
            s = r["seconds_per_page"][name]
            ax.scatter(s, by_kind["manga"]["psnr_zone"], s=60)
            ax.annotate(name, (s, by_kind["manga"]["psnr_zone"]), fontsize=7, xytext=(4, 4), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("seconds per page (log)")
    ax.set_ylabel("PSNR in the text zone, manga pages (dB)")
    ax.set_title("Quality against time per page")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def strip(r: dict, path: Path) -> None:
    rows = []
    for page, outs in r["examples"]:
        ys, xs = np.nonzero(page.text)
        cy, cx = int(np.median(ys)), int(np.median(xs))
        h, w = page.raw.shape[:2]
        y0, x0 = int(np.clip(cy - 150, 0, h - 300)), int(np.clip(cx - 150, 0, w - 300))
        window = np.s_[y0 : y0 + 300, x0 : x0 + 300]
        tiles = [page.raw[window]] + [o[window] for o in outs.values()] + [page.clean[window]]
        labels = ["raw"] + [n.split(",")[0].split(" (")[0] for n in outs] + ["clean"]
        row = []
        for t, lab in zip(tiles, labels):
            t = t.copy()
            cv2.rectangle(t, (0, 0), (299, 18), (255, 255, 255), -1)
            cv2.putText(t, lab[:34], (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 0, 0), 1, cv2.LINE_AA)
            row.append(t)
        rows.append(np.concatenate(row, axis=1))
    cv2.imwrite(str(path), np.concatenate(rows, axis=0)[..., ::-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="5 pages and scaling to 16 MP: a few minutes")
    ap.add_argument("--report", type=Path, default=None, help="write this Markdown report (plus a plot and a strip)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--pages", type=int, nargs=2, metavar=("MANGA", "COLOUR"), help="override the page counts")
    ap.add_argument("--scaling", type=float, nargs="*", help="page sizes in MP for the scaling table")
    args = ap.parse_args()
    r = run(args)
    text = tables(r)
    print(text)
    if args.report:
        figs = args.report.parent / "bench"
        figs.mkdir(parents=True, exist_ok=True)
        plot(r, figs / "quality_vs_time.png")
        strip(r, figs / "examples.png")
        (figs / "results.json").write_text(json.dumps({k: v for k, v in r.items() if k != "examples"}, indent=1))
        # bench/inpainting.py owns a marked section of the same report: keep it.
        old = args.report.read_text() if args.report.exists() else ""
        keep = old[old.index("<!-- inpainting:start -->") :] if "<!-- inpainting:start -->" in old else ""
        args.report.write_text(
            "# Benchmarks\n\nRegenerate with `python bench/run.py --report docs/BENCHMARKS.md` "
            "(the quick version: `python bench/run.py --quick`).\n\n"
            "Methods given the true mask get what a user selects by hand: every text pixel and its "
            "antialiased rim, grown by 2 px. textclean end to end finds the text itself. Scores: mask "
            "precision/recall/F1 against the true text pixels (a predicted pixel within 3 px of text is not a "
            "false positive; the faint rim is not scored); text left = share of text pixels still more than "
            "32/255 from the clean page; PSNR against the clean page inside the text zone (true mask grown by "
            "12 px) and over the page; collateral = share of pixels outside the text zone that changed.\n\n"
            + text
            + "\n\n![quality against time](bench/quality_vs_time.png)\n\n"
            "Example crops (raw, each method, clean):\n\n![examples](bench/examples.png)\n"
            + ("\n" + keep if keep else "")
        )


if __name__ == "__main__":
    main()
