"""The inpainter alone, handed the true text mask, beside OpenCV Telea, Navier-Stokes and PatchMatch, per background.

    python bench/inpainting.py --quick                       # 3 tiles per background: tables on stdout
    python bench/inpainting.py --report docs/BENCHMARKS.md   # 12 per background, strips, section in the report
    python bench/inpainting.py --inpainter runs/inp/best.pt  # judge candidate weights (ONNX copy not needed)

Pages: 384×384 tiles of one background kind each, made with the training
generator's own drawing code (``textclean_train.pages``) from fixed seeds
(6,000,000 + 10,000 × kind + i) that training (0..1999), validation
(1,000,000+, 2,000,000+) and ``bench/run.py`` (5,000,000+) do not use; text
from held-out fonts only, then the generator's print-and-scan degradation:

- flat: paper of one grey level with panel borders and bubble lines running near the text;
- screentone: halftone dots (period 3-12 px, any angle, half of them over a tone gradient) or line tone;
- hatching: hatching patches, speed lines and line art on paper;
- photo: crops of scikit-image's photographs (colour);
- gradient: a smooth tone gradient.

Every method gets the same mask: the text and its antialiased rim grown
by 2 px, what a user selects by hand. Scores, against the clean tile:
PSNR and SSIM in the text zone (text grown by 12 px, as ``bench/run.py``)
and PSNR inside the hole alone; text left = share of text pixels still
more than 32/255 from the clean tile.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from textclean.backend import ModelRunner  # noqa: E402
from textclean.pipeline import Pipeline  # noqa: E402
from textclean.structure import continue_structure  # noqa: E402

KINDS = ("flat", "screentone", "hatching", "photo", "gradient")
SEED = 6_000_000
SIZE = 384
ZONE_PX = 12
VISIBLE = 32 / 255
START, END = "<!-- inpainting:start -->", "<!-- inpainting:end -->"


def background(kind: str, rng: np.random.Generator) -> np.ndarray:
    """An H×W×3 float32 text-free tile of one background kind."""
    from textclean_train import pages

    h = w = SIZE
    if kind == "flat":
        g = np.full((h, w), rng.uniform(0.85, 1.0), np.float32)
        for _ in range(int(rng.integers(1, 4))):  # borders and bubble lines that pass near the text
            if rng.random() < 0.5:
                x = int(rng.integers(20, w - 20))
                g[:, x : x + int(rng.integers(1, 4))] = 0.0
            else:
                cv2.ellipse(
                    g,
                    (int(rng.integers(0, w)), int(rng.integers(0, h))),
                    (int(rng.integers(60, 200)), int(rng.integers(60, 200))),
                    0,
                    0,
                    360,
                    0.0,
                    int(rng.integers(1, 4)),
                    cv2.LINE_AA,
                )
    elif kind == "screentone":
        g = (
            pages.line_tone(h, w, rng)
            if rng.random() < 0.25
            else pages.screentone(h, w, rng, gradient=bool(rng.random() < 0.5))
        )
    elif kind == "hatching":
        g = np.ones((h, w), np.float32)
        for _ in range(int(rng.integers(3, 7))):
            pages.draw_hatching(g, rng, (0, 0, w, h))
        if rng.random() < 0.5:
            pages.draw_speed_lines(g, rng, (0, 0, w, h))
        pages.draw_line_art(g, rng, (0, 0, w, h), int(rng.integers(1, 4)))
    elif kind == "gradient":
        g = pages.gradient(h, w, rng)
    elif kind == "photo":
        photos = pages._photos()
        p = photos[int(rng.integers(len(photos)))]
        s = max(h / p.shape[0], w / p.shape[1]) * rng.uniform(1.0, 1.6)
        p = cv2.resize(p, (int(p.shape[1] * s) + 1, int(p.shape[0] * s) + 1), interpolation=cv2.INTER_AREA)
        y, x = int(rng.integers(0, p.shape[0] - h + 1)), int(rng.integers(0, p.shape[1] - w + 1))
        return np.ascontiguousarray(p[y : y + h, x : x + w, :3], dtype=np.float32)
    else:
        raise ValueError(kind)
    return np.repeat(g[..., None], 3, axis=2).astype(np.float32)


def tile(kind: str, i: int) -> dict:
    """(raw, clean, label, hole) for tile ``i`` of ``kind``."""
    from textclean_train import synth, text

    seed = SEED + 10_000 * KINDS.index(kind) + i
    rng = np.random.default_rng(seed)
    page = background(kind, rng)
    clean = page.copy()
    alpha = np.zeros(page.shape[:2], np.float32)
    for _ in range(int(rng.integers(1, 3))):
        script = str(rng.choice(["en", "ja"]))
        size = int(rng.integers(18, 64))
        vertical = script == "ja" and rng.random() < 0.6
        lines = text.random_lines(rng, script, size, SIZE * 0.7, SIZE * 0.5, vertical)
        stroke = int(rng.choice([0, 0, 1, max(1, size // 10)]))
        block = text.render_block(lines, text.pick_font(rng, script, "heldout"), size, vertical, stroke, 0, rng)
        bh, bw = block.fill.shape
        x = int(rng.integers(0, max(1, SIZE - bw)))
        y = int(rng.integers(0, max(1, SIZE - bh)))
        under = float(page[y : y + bh, x : x + bw].mean()) if bh and bw else 1.0
        fill = (0.0,) * 3 if under > 0.5 else (1.0,) * 3
        if kind == "photo" and rng.random() < 0.5:
            fill = tuple(rng.uniform(0, 1, 3))
        outline = tuple(1.0 - round(float(np.mean(fill))) for _ in range(3))
        np.maximum(alpha, text.composite(page, block, x, y, fill, outline, (0.0, 0.0, 0.0)), out=alpha)
    raw8, clean8, alpha = synth.degrade(page, clean, alpha, rng)
    if raw8.ndim == 2:
        raw8, clean8 = np.repeat(raw8[..., None], 3, 2), np.repeat(clean8[..., None], 3, 2)
    label = synth.labels_from_alpha(alpha)
    hole = cv2.dilate((label > 0).astype(np.uint8), np.ones((5, 5), np.uint8)) * 255
    return {"kind": kind, "seed": seed, "raw": raw8, "clean": clean8, "label": label, "hole": hole}


# -------------------------------------------------------------------- methods


def telea(t: dict) -> np.ndarray:
    return cv2.inpaint(t["raw"], t["hole"], 3, cv2.INPAINT_TELEA)


def navier_stokes(t: dict) -> np.ndarray:
    return cv2.inpaint(t["raw"], t["hole"], 3, cv2.INPAINT_NS)


def patchmatch(t: dict) -> np.ndarray:
    from patchmatch_cython import inpaint_pyramid

    return inpaint_pyramid(t["raw"], t["hole"] > 0, patch_size=5, seed=0).astype(np.uint8)


def guide_only(t: dict) -> np.ndarray:
    """The coarse stage alone (textclean.structure), to show what the network adds."""
    fill, _ = continue_structure(t["raw"].astype(np.float32) / 255, t["hole"] > 0)
    out = t["raw"].copy()
    out[t["hole"] > 0] = (fill[t["hole"] > 0] * 255 + 0.5).astype(np.uint8)
    return out


# -------------------------------------------------------------------- metrics


def psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    d = (a.astype(np.float64) - b.astype(np.float64))[where] / 255
    return float(10 * np.log10(1 / max(float(np.mean(d * d)), 1e-10)))


def score(t: dict, out: np.ndarray) -> dict:
    from skimage.metrics import structural_similarity

    text = t["label"] == 1
    zone = (
        cv2.dilate(
            (t["label"] > 0).astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ZONE_PX + 1,) * 2)
        )
        > 0
    )
    grey = [cv2.cvtColor(a, cv2.COLOR_RGB2GRAY) for a in (out, t["clean"])]
    _, ssim_map = structural_similarity(*grey, data_range=255, full=True)
    diff = np.abs(out.astype(np.int16) - t["clean"].astype(np.int16)).max(axis=2)
    return {
        "psnr_zone": psnr(out, t["clean"], zone),
        "psnr_hole": psnr(out, t["clean"], t["hole"] > 0),
        "ssim_zone": float(ssim_map[zone].mean()),
        "text_left": float(np.mean(diff[text] > VISIBLE * 255)),
        # pooled over tiles below: squared error sums so a big hole counts for more
        "sq_zone": float((((out.astype(np.float64) - t["clean"]) / 255) ** 2)[zone].sum()),
        "n_zone": int(zone.sum() * 3),
    }


def summarise(rows: list[dict]) -> dict:
    out = {k: float(np.mean([r[k] for r in rows])) for k in ("psnr_zone", "psnr_hole", "ssim_zone", "text_left")}
    out["psnr_zone_pooled"] = float(
        10 * np.log10(sum(r["n_zone"] for r in rows) / max(sum(r["sq_zone"] for r in rows), 1e-10))
    )
    out["seconds"] = float(np.mean([r["seconds"] for r in rows]))
    return out


def run(args: argparse.Namespace) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    runner = ModelRunner(args.device, inpainter_path=args.inpainter, backend="torch" if args.inpainter else "auto")
    pipeline = Pipeline(runner)
    methods = {
        "textclean (shipped path)": lambda t: pipeline.inpaint(t["raw"], t["hole"]),
        "textclean guide alone": guide_only,
        "OpenCV Telea": telea,
        "OpenCV Navier-Stokes": navier_stokes,
        "PatchMatch": patchmatch,
    }
    results: dict[str, dict[str, list[dict]]] = {m: {k: [] for k in KINDS} for m in methods}
    examples = {}
    for kind in KINDS:
        for i in range(args.tiles):
            t = tile(kind, i)
            outs = {}
            for name, fn in methods.items():
                t0 = time.perf_counter()
                out = fn(t)
                results[name][kind].append({**score(t, out), "seconds": time.perf_counter() - t0})
                outs[name] = out
            if i == 0:
                examples[kind] = (t, outs)
        print(f"{kind}: {args.tiles} tiles", file=sys.stderr, flush=True)
    summary = {m: {k: summarise(rows) for k, rows in per.items()} for m, per in results.items()}
    for m, per in results.items():
        summary[m]["all"] = summarise([r for rows in per.values() for r in rows])
    return {
        "summary": summary,
        "examples": examples,
        "tiles": args.tiles,
        "backend": runner.backend,
        "inpainter": runner.versions.get("inpainter"),
        "threads": args.threads,
    }


def tables(r: dict) -> str:
    s = r["summary"]
    lines = [f"{r['tiles']} tiles of 384×384 per background; inpainter {r['inpainter']} on {r['backend']}.", ""]
    for kind in (*KINDS, "all"):
        lines += [
            f"#### {kind}",
            "",
            "| method | PSNR text zone | pooled | PSNR hole | SSIM text zone | text left | s/tile |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for m, per in s.items():
            v = per[kind]
            lines.append(
                f"| {m} | {v['psnr_zone']:.2f} dB | {v['psnr_zone_pooled']:.2f} dB | {v['psnr_hole']:.2f} dB"
                f" | {v['ssim_zone']:.3f} | {100 * v['text_left']:.2f}% | {v['seconds']:.2f} |"
            )
        lines.append("")
    ship, tel = s["textclean (shipped path)"], s["OpenCV Telea"]
    lines += [
        "#### Shipped path minus Telea (PSNR in the text zone, mean of tiles)",
        "",
        "| " + " | ".join((*KINDS, "all")) + " |",
        "|" + " --- |" * (len(KINDS) + 1),
        "| " + " | ".join(f"{ship[k]['psnr_zone'] - tel[k]['psnr_zone']:+.2f} dB" for k in (*KINDS, "all")) + " |",
        "",
    ]
    return "\n".join(lines)


def strip(t: dict, outs: dict, path: Path) -> None:
    """raw | hole | each method | clean, on a 192×192 window around the text."""
    ys, xs = np.nonzero(t["label"] == 1)
    cy, cx = int(np.median(ys)), int(np.median(xs))
    y0, x0 = int(np.clip(cy - 96, 0, SIZE - 192)), int(np.clip(cx - 96, 0, SIZE - 192))
    win = np.s_[y0 : y0 + 192, x0 : x0 + 192]
    shown = np.where(t["hole"][..., None] > 0, np.array([255, 0, 255], np.uint8), t["raw"])
    tiles = (
        [("raw", t["raw"]), ("hole", shown)]
        + [(n.split(" (")[0], o) for n, o in outs.items()]
        + [("clean", t["clean"])]
    )
    row = []
    for name, img in tiles:
        c = cv2.resize(img[win], (288, 288), interpolation=cv2.INTER_NEAREST)
        cv2.rectangle(c, (0, 0), (287, 18), (255, 255, 255), -1)
        cv2.putText(c, name[:30], (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
        row.append(c)
    cv2.imwrite(str(path), np.concatenate(row, axis=1)[..., ::-1])


def write_report(r: dict, report: Path) -> None:
    figs = report.parent / "bench"
    figs.mkdir(parents=True, exist_ok=True)
    for kind, (t, outs) in r["examples"].items():
        strip(t, outs, figs / f"inpainting_{kind}.png")
    (figs / "inpainting.json").write_text(json.dumps({k: v for k, v in r.items() if k != "examples"}, indent=1))
    section = "\n".join(
        [
            START,
            "## Inpainting alone, per background (true mask)",
            "",
            "Regenerate with `python bench/inpainting.py --report docs/BENCHMARKS.md`; the pages, the mask and the "
            "scores are described in that script's docstring. *Shipped path* is `Pipeline.inpaint`: flat fill, the "
            "structure-continuing guide and the network. *Guide alone* is the coarse stage without the network.",
            "",
            tables(r),
            "Example strips (raw, hole in magenta, each method, clean; 1.5× zoom):",
            "",
            *[f"![{k}](bench/inpainting_{k}.png)\n" for k in r["examples"]],
            END,
        ]
    )
    old = report.read_text() if report.exists() else "# Benchmarks\n"
    if START in old and END in old:
        new = old[: old.index(START)] + section + old[old.index(END) + len(END) :]
    else:
        new = old.rstrip() + "\n\n" + section + "\n"
    report.write_text(new)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="3 tiles per background")
    ap.add_argument("--tiles", type=int, default=None, help="tiles per background (default 12; --quick: 3)")
    ap.add_argument("--report", type=Path, default=None, help="write the section and strips into this report")
    ap.add_argument("--inpainter", default=None, help="inpainter weights to judge (default: the shipped ones)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--json", type=Path, default=None, help="also write the summary here")
    args = ap.parse_args()
    args.tiles = args.tiles or (3 if args.quick else 12)
    r = run(args)
    print(tables(r))
    if args.json:
        args.json.write_text(json.dumps(r["summary"], indent=1))
    if args.report:
        write_report(r, args.report)


if __name__ == "__main__":
    main()
