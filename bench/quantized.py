"""int8 against fp32 ONNX: speed on this CPU and the accuracy checks of issue 13, side by side in one process.

    python bench/quantized.py --val DATA/val --val-heldout DATA/val_heldout --inp-val DATA-INP/val \
        [--recipes qdq-u8s8-pc qop-u8s8-pc ...] [--threads 1] [--rounds 7] [--speed-only]

For each recipe of ``textclean_train.quantize`` (calibrated on generated
pages), it quantises the shipped ``segmenter.onnx`` and ``inpainter.onnx``
into a temporary folder, then prints:

- milliseconds per 1024×1024 segmenter tile and per 512×512 inpainter crop,
  fp32 and each int8 copy run in turn, round after round (so that other load
  on the machine hits all alike), minimum and median over the rounds;
- the mask F1 at the shipped threshold on the validation crops (and held-out
  fonts), fp32 against int8; the check is |ΔF1| ≤ 0.005;
- the inpainting PSNR inside 2-px-grown text holes (network alone, and the
  shipped flat fill + guide + network), pooled over hole pixels; the check
  is |ΔPSNR| ≤ 0.2 dB.

With ``--int8 DIR...`` it measures the int8 files already in those folders
instead (the shipped ones: ``--int8 daemon/textclean/weights``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from textclean.backend import _OrtSession, int8_path
from textclean.weights import weights_dir
from textclean_train import quantize as q
from textclean_train.quantize import F1_TOLERANCE, PSNR_TOLERANCE_DB, inpaint_psnr, mask_f1, speed_input


def time_sessions(
    sessions: dict[str, _OrtSession], inputs: list, rounds: int
) -> dict[str, tuple[list[float], list[float]]]:
    """(wall, CPU) milliseconds per run of each session, run in turn round after round after a warm-up run each.

    The process's CPU time is what one thread costs whatever else loads the machine; the wall time is what
    a user waits, and only means something on an otherwise idle machine.
    """
    for s in sessions.values():
        s(*inputs[: len(s.inputs)])
    times: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in sessions}
    for _ in range(rounds):
        for name, s in sessions.items():
            t, c = time.perf_counter(), time.process_time()
            s(*inputs[: len(s.inputs)])
            times[name][0].append(1000 * (time.perf_counter() - t))
            times[name][1].append(1000 * (time.process_time() - c))
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--val", default=None, help="segmenter validation crops (textclean_train.dataset synth)")
    ap.add_argument("--val-heldout", default=None)
    ap.add_argument("--inp-val", default=None, help="crops for the inpainting PSNR")
    ap.add_argument("--recipes", nargs="+", default=[q.DEFAULT_RECIPE], choices=sorted(q.RECIPES))
    ap.add_argument(
        "--int8", nargs="+", default=None, help="measure the *.int8.onnx in these folders instead of quantising"
    )
    ap.add_argument("--weights", default=str(weights_dir()))
    ap.add_argument("--pages", type=int, default=8, help="generated pages to calibrate on")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--speed-only", action="store_true")
    args = ap.parse_args()
    if not args.speed_only and not (args.val and args.inp_val):
        ap.error("the accuracy checks need --val and --inp-val (validation crops); or give --speed-only")
    with tempfile.TemporaryDirectory() as tmp:
        candidates: dict[str, Path] = {}
        if args.int8:
            candidates = {Path(d).name: Path(d) for d in args.int8}
        else:
            feeds = {k: q.calibration_feeds(k, args.pages) for k in ("segmenter", "inpainter")}
            for name in args.recipes:
                d = Path(tmp) / name
                d.mkdir()
                for kind in ("segmenter", "inpainter"):
                    q.quantize(
                        Path(args.weights) / f"{kind}.onnx",
                        int8_path(d / f"{kind}.onnx"),
                        feeds[kind],
                        q.RECIPES[name],
                    )
                candidates[name] = d
        print(
            f"speed, {args.threads} thread(s), ms of CPU time and of wall time "
            f"(min / median of {args.rounds} interleaved rounds; speed-up from the CPU minimum):"
        )
        for kind, what in (("segmenter", "1024×1024 tile"), ("inpainter", "512×512 crop")):
            sessions = {"fp32": _OrtSession(Path(args.weights) / f"{kind}.onnx", args.threads)}
            for name, d in candidates.items():
                sessions[name] = _OrtSession(int8_path(d / f"{kind}.onnx"), args.threads)
            times = time_sessions(sessions, speed_input(kind), args.rounds)
            base = min(times["fp32"][1])
            for name, (wall, cpu) in times.items():
                size = sessions[name].path.stat().st_size / 1e6
                print(
                    f"  {kind} {what}  {name:24s} CPU {min(cpu):6.0f} / {statistics.median(cpu):6.0f}"
                    f"  wall {min(wall):6.0f} / {statistics.median(wall):6.0f}  ×{base / min(cpu):.2f}  {size:5.2f} MB"
                )
        if args.speed_only:
            return
        print("accuracy (|ΔF1| ≤ 0.005, |ΔPSNR| ≤ 0.2 dB):")
        fp32 = {k: _OrtSession(Path(args.weights) / f"{k}.onnx", args.threads) for k in ("segmenter", "inpainter")}
        threshold = float(fp32["segmenter"].meta.get("threshold", 0.5)) if fp32["segmenter"].meta else 0.5
        sets = [("val", args.val)] + ([("val_heldout", args.val_heldout)] if args.val_heldout else [])
        ref_f1 = {s: mask_f1(fp32["segmenter"], root, threshold) for s, root in sets}
        ref_psnr = inpaint_psnr(fp32["inpainter"], args.inp_val)
        print(
            f"  fp32: F1@{threshold:g} "
            + ", ".join(f"{s} {v:.4f}" for s, v in ref_f1.items())
            + f"; PSNR network {ref_psnr['model']:.2f} dB, shipped {ref_psnr['pipeline']:.2f} dB"
        )
        for name, d in candidates.items():
            seg = _OrtSession(int8_path(d / "segmenter.onnx"), args.threads)
            inp = _OrtSession(int8_path(d / "inpainter.onnx"), args.threads)
            f1 = {s: mask_f1(seg, root, threshold) for s, root in sets}
            psnr = inpaint_psnr(inp, args.inp_val)
            ok_f1 = all(abs(f1[s] - ref_f1[s]) <= F1_TOLERANCE for s in f1)
            ok_psnr = all(abs(psnr[k] - ref_psnr[k]) <= PSNR_TOLERANCE_DB for k in psnr)
            print(
                f"  {name}: F1 "
                + ", ".join(f"{s} {v:.4f} ({v - ref_f1[s]:+.4f})" for s, v in f1.items())
                + f" {'PASS' if ok_f1 else 'FAIL'}; PSNR network {psnr['model']:.2f} dB "
                f"({psnr['model'] - ref_psnr['model']:+.2f}), shipped {psnr['pipeline']:.2f} dB "
                f"({psnr['pipeline'] - ref_psnr['pipeline']:+.2f}) {'PASS' if ok_psnr else 'FAIL'}",
                flush=True,
            )


if __name__ == "__main__":
    main()
