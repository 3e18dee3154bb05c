"""Write inference weights (fp16 state dicts) and the model card into the package.

    python -m textclean_train.export --segmenter runs/seg/best.pt --inpainter runs/inp/best.pt \
        --val DATA/val --val-heldout DATA/val_heldout [--out daemon/textclean/weights]
    python -m textclean_train.export --inpainter runs/inp/best.pt --val DATA/val   # one network only
    python -m textclean_train.export --onnx-only   # rewrite only the ONNX copies from the shipped .pt files
    python -m textclean_train.export --card-only   # rewrite only MODEL_CARD.md (after train_blobcheck, say)

The exported files are evaluated again after the fp16 rounding, and those
figures, not the training log's, go into the weight files' metadata and
into ``MODEL_CARD.md``. A network not given keeps its shipped files, and its
section of the card is rebuilt from the metadata stored in its weight file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

import torch
from textclean import onnx_export
from textclean.backend import int8_path
from textclean.weights import FORMAT, WEIGHTS_DIR, file_version, save
from textclean.weights import load as load_weights

from . import quantize
from .evaluate import evaluate_inpainter, evaluate_segmenter, load_model


def _checkout() -> Path | None:
    """The textclean checkout this command runs in, if any: scripts/setup installs the package as a
    copy, and weights exported into that copy would vanish with the next install."""
    for d in (Path.cwd(), *Path.cwd().parents):
        if (d / "daemon" / "textclean" / "weights").is_dir() and (d / "training").is_dir():
            return d
    return None


CHECKOUT = _checkout()


def _hardware() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} × {cpu}, no GPU, torch {torch.__version__}"


def _weight_file_stages(meta: dict) -> list[dict]:
    """Stages of an exported or kept weight file, from its metadata: the last one carries all its steps."""
    commands = meta.get("commands") or ["(unknown)"]
    steps = int(meta.get("step", 0))
    return [{"command": c, "steps": 0, "wall_s": 0.0, "planned": 0, "args": {}} for c in commands[:-1]] + [
        {
            "command": commands[-1],
            "steps": steps,
            "wall_s": float(meta.get("wall_s", 0.0)),
            "planned": steps,
            "args": {},
        }
    ]


def checkpoint_facts(path: str, module: str) -> dict:
    """Steps, wall time and commands of a checkpoint and of any run it was initialised from.

    ``path`` may also be a weight file (a candidate kept by ``textclean_train.keep``): its run folder
    may be gone with the machine, and its metadata already lists every stage.
    """
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if ckpt.get("format") == FORMAT:
        w = load_weights(ckpt["kind"], path)
        return {
            "stages": _weight_file_stages(w.meta),
            "step": int(w.meta.get("step", 0)),
            "args": w.meta.get("train_args", {}),
            "wall_s": float(w.meta.get("wall_s", 0.0)),
            "config": w.config,
            "loss": w.meta.get("loss"),
        }
    args = json.loads(ckpt.get("args", "{}"))
    stages = [
        {
            "command": _command(module, args),
            "steps": int(ckpt["step"]),
            "wall_s": float(ckpt.get("wall_s", 0)),
            "planned": int(args.get("steps", ckpt["step"])),
            "args": args,
        }
    ]
    parent = args.get("init_from")
    if parent and os.path.exists(parent):
        stages = checkpoint_facts(parent, module)["stages"] + stages
    return {
        "stages": stages,
        "step": sum(st["steps"] for st in stages),
        "args": args,
        "wall_s": sum(st["wall_s"] for st in stages),
        "config": ckpt["config"],
        "loss": ckpt.get("loss"),
    }


def stage_commands(stages: list[dict]) -> list[str]:
    """Each stage's command, noting where its time budget stopped it short of its planned steps."""
    return [
        st["command"] + (f"  (stopped at step {st['steps']} of {st['planned']})" if st["steps"] < st["planned"] else "")
        for st in stages
    ]


def _command(module: str, args: dict) -> str:
    def flag(k: str, v: object) -> str:
        name = f"--{k.replace('_', '-')}"
        if v is True:  # a store_true switch
            return name
        return f"{name} {' '.join(map(str, v))}" if isinstance(v, list) else f"{name} {v}"

    flags = " ".join(flag(k, v) for k, v in args.items() if v not in (None, False, 0) or k == "seed")
    return f"python -m textclean_train.{module} {flags}"


def _shipped_card_entry(kind: str, out: str) -> dict:
    """The card entry of a network that is not re-exported, from its weight file's metadata."""
    path = Path(out) / f"{kind}.pt"
    w = load_weights(kind, path)
    meta = dict(w.meta)
    commands = " ".join(meta.get("commands", []))
    loss = meta.get("loss") or (commands.split("--loss ")[1].split()[0] if "--loss " in commands else None)
    args = meta.get("train_args") or (
        {"pixel_loss": commands.split("--pixel-loss ")[1].split()[0]} if "--pixel-loss " in commands else {}
    )
    return {
        **meta,
        "config": w.config,
        "bytes": path.stat().st_size,
        "loss": loss,
        "train_args": args,
        "onnx_bytes": path.with_suffix(".onnx").stat().st_size,
    }


def export(
    segmenter_ckpt: str | None,
    inpainter_ckpt: str | None,
    val: str,
    heldout: str | None,
    out: str,
    data_recipe: str,
    notes: str = "",
    int8: bool = True,
    threshold: float | None = None,
) -> dict:
    """``threshold``: the segmenter's shipped threshold (its figures are taken there); None: validation's best."""
    os.makedirs(out, exist_ok=True)
    card: dict = {"hardware": _hardware(), "data": data_recipe, "notes": notes}
    for kind, ckpt_path in (("segmenter", segmenter_ckpt), ("inpainter", inpainter_ckpt)):
        if ckpt_path is None:
            card[kind] = _shipped_card_entry(kind, out)
            continue
        facts = checkpoint_facts(ckpt_path, f"train_{kind}")
        model, _ = load_model(kind, ckpt_path)
        if kind == "segmenter":
            figures = evaluate_segmenter(model, val, heldout, threshold)
        else:
            figures = evaluate_inpainter(model, val)
        params = sum(p.numel() for p in model.parameters())
        meta = {
            "figures": figures,
            "step": facts["step"],
            "wall_s": facts["wall_s"],
            "params": params,
            "commands": stage_commands(facts["stages"]),
            "hardware": card["hardware"],
            "loss": facts["loss"],
            "train_args": facts["args"],
        }
        if kind == "segmenter":
            meta["threshold"] = figures["threshold"]
            held = figures.get("heldout_f1", float("nan"))
            meta["summary"] = f"F1 {figures['val_f1']:.3f} (held-out fonts {held:.3f})"
        else:
            meta["summary"] = (
                f"manga hole PSNR {figures.get('manga_pipeline_psnr', float('nan')):.2f} dB "
                f"(Telea {figures.get('manga_telea_psnr', float('nan')):.2f})"
            )
        path = Path(out) / f"{kind}.pt"
        save(path, kind, facts["config"], model.state_dict(), meta)
        # The CPU backend's copy; `model` already holds the fp16-rounded weights.
        onnx_export.export(model, kind, path.with_suffix(".onnx"), file_version(path), meta)
        int8_path(path.with_suffix(".onnx")).unlink(missing_ok=True)  # made from the previous weights
        if int8 and kind in quantize.SHIPPED_KINDS:
            make_int8(out, kind, val, heldout)
        card[kind] = {
            **meta,
            "config": facts["config"],
            "bytes": path.stat().st_size,
            "loss": facts["loss"],
            "train_args": facts["args"],
            "onnx_bytes": path.with_suffix(".onnx").stat().st_size,
        }
    return _write_card(card, out)


def card_only(out: str, data_recipe: str, notes: str = "") -> dict:
    """Rewrite ``MODEL_CARD.md`` from the shipped files' own metadata; no network is touched."""
    card: dict = {"hardware": _hardware(), "data": data_recipe, "notes": notes}
    for kind in ("segmenter", "inpainter"):
        card[kind] = _shipped_card_entry(kind, out)
    return _write_card(card, out)


def _write_card(card: dict, out: str) -> dict:
    """Add what the files beside the weights say (int8 copies, the blob check) and write ``MODEL_CARD.md``."""
    for kind in ("segmenter", "inpainter"):
        card[kind]["int8"] = _int8_entry(Path(out) / f"{kind}.onnx")
    card["blobcheck"] = _blobcheck_entry(out)
    (Path(out) / "MODEL_CARD.md").write_text(model_card(card))
    return card


def _blobcheck_entry(out: str) -> dict | None:
    """The blob check beside the weights (its trees' metadata and size), or None if there is none."""
    from textclean.blobcheck import FILE

    path = Path(out) / FILE
    if not path.exists():
        return None
    d = json.loads(path.read_text())
    seg = Path(out) / "segmenter.pt"
    meta = d.get("meta", {})
    return {
        **meta,
        "trees": len(d.get("trees", [])),
        "cut": d.get("cut"),
        "bytes": path.stat().st_size,
        "matches": seg.exists() and meta.get("segmenter_version") == file_version(seg),
    }


def blobcheck_section(b: dict | None) -> list[str]:
    """The model card's section on the blob check."""
    if not b:
        return []
    p, r = b.get("val_precision", [float("nan")] * 2), b.get("val_recall", [float("nan")] * 2)
    lines = [
        "",
        "## Blob check: gradient-boosted trees over each mask blob",
        "",
        "After thresholding, every 8-connected blob of the mask is measured (`textclean/blobcheck.py`: its",
        "size and shape, the segmenter's confidence in it, how flat and how busy its surroundings are, its",
        "ink's polarity and stroke width, how many glyph-like parts it holds and of what heights, and how",
        "many blobs of its size lie near it) and blobs that the trees take for art are dropped.",
        f"- Trees: {b['trees']} of depth ≤ 4, cut {b['cut']:.2f} (the lowest within the fit's F1 slack of"
        f" the best pixel F1 on the held-out pages); file {b['bytes'] / 1e6:.2f} MB.",
        f"- Fitted to segmenter `{b.get('segmenter_version')}`"
        + ("" if b["matches"] else " — **not the shipped segmenter: the check is off until it is refitted**")
        + f", on {b.get('fit_pages')} generated pages ({b.get('fit_blobs')} blobs, training fonts,"
        f" seeds {b.get('fit_seed', 6_000_000):,}+); cut chosen on {b.get('val_pages')} pages with the held-out"
        f" fonts (seeds {b.get('val_seed', 6_500_000):,}+).",
        f"- Command: `{b.get('command')}` ({b.get('minutes')} min).",
        f"- Held-out pages, pixels of the mask's blobs within 3 px of text: precision {p[0]:.3f} → {p[1]:.3f},"
        f" recall {r[0]:.3f} → {r[1]:.3f}.",
    ]
    return lines


def write_onnx(
    out: str, kinds: tuple[str, ...] = ("segmenter", "inpainter"), val: str | None = None, heldout: str | None = None
) -> None:
    """(Re)write the ONNX copies of the weight files in ``out`` from the ``.pt`` files alone.

    For weights exported before the ONNX copies carried the ``.pt``'s metadata,
    and after an onnxruntime or exporter upgrade. With ``val``, the int8
    copies are made and checked too (``make_int8``).
    """
    from textclean.backend import load_model as load_weight_file

    for kind in kinds:
        path = Path(out) / f"{kind}.pt"
        w = load_weights(kind, path)
        onnx_export.export(load_weight_file(w), kind, path.with_suffix(".onnx"), file_version(path), w.meta)
        print(f"wrote {path.with_suffix('.onnx')}")
        int8_path(path.with_suffix(".onnx")).unlink(missing_ok=True)  # made from the previous copy
        if val and kind in quantize.SHIPPED_KINDS:
            make_int8(out, kind, val, heldout)


def make_int8(out: str, kind: str, val: str, heldout: str | None) -> None:
    """The int8 copy of ``kind``'s ONNX file (``textclean_train.quantize``), kept only if it passes its checks.

    The segmenter is checked on ``val`` and ``heldout`` (mask F1), the
    inpainter on ``val`` (hole PSNR), and both must be faster than fp32 on
    this CPU; a copy that fails is not written, and an older one is removed.
    """
    sets = {"val": val, **({"val_heldout": heldout} if heldout and kind == "segmenter" else {})}
    quantize.quantize_weights(out, kinds=(kind,), checks={kind: sets})


def _int8_entry(fp32: Path) -> dict | None:
    """How the int8 copy beside ``fp32`` was made and checked (its metadata), or None if there is none."""
    import onnx

    path = int8_path(fp32)
    if not path.exists():
        return None
    _, meta = onnx_export.read_metadata({e.key: e.value for e in onnx.load(str(path)).metadata_props})
    return {**(meta or {}).get("quantization", {}), "bytes": path.stat().st_size}


def model_card(card: dict) -> str:
    s, i = card["segmenter"], card["inpainter"]
    sf, inf = s["figures"], i["figures"]

    def mb(n: int) -> str:
        return f"{n / 1e6:.2f} MB"

    lines = [
        "# textclean model card",
        "",
        "Both networks were trained from scratch on synthetic pages made by `training/textclean_train`;",
        "no pretrained weights and no external data sets were used.",
        "",
        f"Hardware: {card['hardware']}.",
        "",
        f"Training data: {card['data']}",
        "",
        "## Segmenter: DeepLabV3+ on MobileNetV2",
        "",
        f"- Configuration: `{json.dumps(s['config'])}`; output stride 16 (last stride replaced by dilation 2),",
        "  ASPP rates 6/12/18 with image pooling, decoder fusing 1/4-scale features, SELU in the head.",
        f"- Parameters: {s['params']:,}; file {mb(s['bytes'])} (fp16).",
        f"- Loss: {s['loss']}; optimiser SGD with Nesterov momentum.",
        f"- Steps: {s['step']}; wall time {s['wall_s'] / 60:.0f} min.",
        "- Commands, in order (a later one starts from the earlier one's weights):",
        *[f"  - `{c}`" for c in s["commands"]],
        "",
        "Validation (fixed synthetic set never trained on; label 255 rims ignored):",
        "",
        "| set | threshold | precision | recall | F1 | IoU | F1, 3 px tolerance |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, key in (("training fonts", "val"), ("held-out fonts", "heldout")):
        if f"{key}_f1" in sf:
            lines.append(
                f"| {name} | {sf['threshold']} | {sf[f'{key}_precision']:.3f} | {sf[f'{key}_recall']:.3f} | "
                f"{sf[f'{key}_f1']:.3f} | {sf[f'{key}_iou']:.3f} | {sf[f'{key}_tolerant_f1']:.3f} |"
            )
    lines += [
        "",
        "## Inpainter: UNet of gated convolutions",
        "",
        f"- Configuration: `{json.dumps(i['config'])}`; every convolution gated (Yu et al. 2019), dilated",
        "  gated convolutions in the 1/8-scale bottleneck.",
        f"- Parameters: {i['params']:,}; file {mb(i['bytes'])} (fp16).",
        f"- Loss: hole-weighted {i['train_args'].get('pixel_loss', 'l1').upper()}"
        + (
            f" plus {i['train_args']['grad_weight']} × an L1 on image gradients"
            if i["train_args"].get("grad_weight")
            else ""
        )
        + "; Adam."
        + (
            " The network gets a coarse fill of the hole as a guide and learns a correction (guided): the ring's"
            " screentone, hatching and lines continued into the hole (`textclean/structure.py`), Telea's fill"
            " where nothing repeats; hole pixels whose fill is flat are filled flat and not handed to the"
            " network. Trained and validated through the same preprocessing (`structure.prepare`)."
            if i["config"].get("guided")
            else ""
        ),
        f"- Steps: {i['step']}; wall time {i['wall_s'] / 60:.0f} min.",
        *[f"- Command: `{c}`" for c in i["commands"]],
        "",
        "Validation: text holes (the true text mask grown by 2 px) on the same fixed set. *Shipped* is what",
        "`textclean` does (`Pipeline.inpaint`): flat fill where the ring around a hole is one colour, the",
        "guide and the network elsewhere.",
        "*Network* is the network alone on every hole. PSNR is given as the mean of the crops' PSNR and",
        "pooled over all hole pixels (a large hole counts for more; near-perfect flat holes cannot",
        "dominate).",
        "",
        "| pages | method | PSNR, mean of crops | PSNR, pooled | SSIM |",
        "| --- | --- | --- | --- | --- |",
    ]
    for kind in ("manga", "colour"):
        for key, name in (
            ("pipeline", "shipped (flat fill + guide + network)"),
            ("model", "network alone"),
            ("telea", "OpenCV Telea"),
        ):
            if f"{kind}_{key}_psnr" in inf:
                lines.append(
                    f"| {kind} | {name} | {inf[f'{kind}_{key}_psnr']:.2f} dB | "
                    f"{inf.get(f'{kind}_{key}_pooled_psnr', float('nan')):.2f} dB | "
                    f"{inf[f'{kind}_{key}_ssim']:.3f} |"
                )
    int8_bytes = sum((e.get("int8") or {}).get("bytes", 0) for e in (s, i))
    blob_bytes = (card.get("blobcheck") or {}).get("bytes", 0)
    total = s["bytes"] + i["bytes"] + s["onnx_bytes"] + i["onnx_bytes"] + int8_bytes + blob_bytes
    lines += blobcheck_section(card.get("blobcheck"))
    lines += int8_section(s.get("int8"), i.get("int8"))
    if card.get("notes"):
        lines += ["", "## How these choices were made", "", card["notes"].strip()]
    lines += [
        "",
        f"Shipped files: fp16 state dicts {mb(s['bytes'] + i['bytes'])}, ONNX copies for the CPU "
        f"backend (fp32) {mb(s['onnx_bytes'] + i['onnx_bytes'])}"
        + (f", int8 {mb(int8_bytes)}" if int8_bytes else "")
        + (f", blob check {mb(blob_bytes)}" if blob_bytes else "")
        + f"; total {mb(total)}.",
        "",
    ]
    return "\n".join(lines)


def int8_section(seg: dict | None, inp: dict | None) -> list[str]:
    """The model card's section on the CPU's int8 copies, from their metadata (how made, how checked)."""
    lines = [
        "",
        "## CPU copies: ONNX fp32 and int8",
        "",
        "On the CPU, ONNX Runtime runs the networks from ONNX copies of the weights, which carry the",
        "weights' version and metadata, so a CPU run never imports PyTorch. A network whose int8 copy",
        "(`*.int8.onnx`) passed its checks runs in int8; `TEXTCLEAN_BACKEND=onnx-fp32` runs the fp32 copies.",
        "The int8 copies are made by `python -m textclean_train.quantize` (the export runs it): ONNX Runtime's",
        "static quantisation, calibrated on tiles and text-hole crops of generated pages, and kept only if",
        "the mask F1 stays within 0.005 of fp32 (validation sets), the hole PSNR within 0.2 dB, and the copy",
        "is faster on this CPU (CPU time per 1024×1024 tile and per 512×512 crop, 1 thread). F1 is taken at",
        "the shipped threshold, PSNR pooled over the pixels of 2-px-grown text holes of the inpainter's",
        "validation set. `python bench/quantized.py` measures the recipes side by side: on this AVX2 CPU",
        "without VNNI, dynamic quantisation was slower than fp32, and so were int8 convolutions with 8",
        "channels or fewer on a side (the segmenter's full-resolution head, the inpainter's first and",
        "last layers), which therefore stay fp32 (`narrow`).",
        "",
    ]
    for kind, e in (("segmenter", seg), ("inpainter", inp)):
        if not e:
            why = quantize.NOT_SHIPPED.get(kind, "no int8 copy passed its checks")
            lines.append(f"- {kind}: fp32 only; {why}.")
            continue
        r, c, ch = e.get("recipe", {}), e.get("calibration", {}), e.get("checks", {})
        how = (
            f"{r.get('fmt', '?').upper()}, activations {r.get('activations')}, weights {r.get('weights')}"
            + (", per channel" if r.get("per_channel") else ", per tensor")
            + (", 7-bit weights" if r.get("reduce_range") else "")
            + (f", fp32 kept for: {', '.join(r['exclude'])} convolutions" if r.get("exclude") else "")
            + f", {r.get('calibration', 'minmax')} calibration on {c.get('pages', '?')} pages (seeds {c.get('seed')}+)"
        )
        if kind == "segmenter":
            figures = ", ".join(
                f"{n} F1 {ch[f'{n}_f1_fp32']:.4f} → {ch[f'{n}_f1_int8']:.4f}"
                for n in ("val", "val_heldout")
                if f"{n}_f1_fp32" in ch
            )
        else:
            figures = ", ".join(
                f"{'network alone' if k == 'model' else 'shipped'} {ch[f'val_{k}_psnr_fp32']:.2f} → "
                f"{ch[f'val_{k}_psnr_int8']:.2f} dB"
                for k in ("model", "pipeline")
                if f"val_{k}_psnr_fp32" in ch
            )
        speed = (
            f"; {ch['cpu_ms_fp32']:.0f} → {ch['cpu_ms_int8']:.0f} ms CPU per "
            + ("1024×1024 tile" if kind == "segmenter" else "512×512 crop")
            if "cpu_ms_fp32" in ch
            else ""
        )
        lines.append(f"- {kind} (`{e.get('recipe_name', '')}`, {e['bytes'] / 1e6:.2f} MB): {how}. {figures}{speed}.")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--segmenter", default=None, help="checkpoint to export (default: keep the shipped one)")
    ap.add_argument("--inpainter", default=None, help="checkpoint to export (default: keep the shipped one)")
    ap.add_argument("--val", default=None, help="validation crops (required unless --onnx-only)")
    ap.add_argument("--val-heldout", default=None)
    ap.add_argument(
        "--out",
        default=str(CHECKOUT / "daemon" / "textclean" / "weights" if CHECKOUT else WEIGHTS_DIR),
        help="where the weights go (default: the checkout's daemon/textclean/weights when run inside one, "
        "not the installed copy's)",
    )
    # Kept in the repository, so that the next export (by anyone) writes the same card plus what is new.
    ap.add_argument(
        "--data-recipe",
        default=str((CHECKOUT or Path.cwd()) / "training" / "data_recipe.md"),
        help="a file with the training data's description (default: training/data_recipe.md)",
    )
    ap.add_argument(
        "--notes",
        default=str((CHECKOUT or Path.cwd()) / "training" / "model_card_notes.md"),
        help="a Markdown file appended to the model card (default: training/model_card_notes.md)",
    )
    ap.add_argument(
        "--onnx-only",
        action="store_true",
        help="only rewrite the ONNX copies of the weight files in --out from the .pt files; "
        "with --val, the int8 copies too",
    )
    ap.add_argument("--no-int8", action="store_true", help="make no int8 copies")
    ap.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="the segmenter's shipped threshold, one of the validation's (0.2-0.8); default: its best F1. "
        "Validation F1 is flat near its best; real pages can ask for a higher one (model card)",
    )
    ap.add_argument(
        "--card-only", action="store_true", help="only rewrite MODEL_CARD.md from the files in --out and their metadata"
    )
    args = ap.parse_args()
    torch.set_num_threads(2)
    if args.onnx_only:
        write_onnx(args.out, val=None if args.no_int8 else args.val, heldout=args.val_heldout)
        return
    if args.card_only:
        notes = Path(args.notes).read_text() if args.notes else ""
        print(model_card(card_only(args.out, Path(args.data_recipe).read_text().strip(), notes)))
        return
    if not args.val:
        ap.error("--val is required")
    if not args.segmenter and not args.inpainter:
        ap.error("give --segmenter, --inpainter or both")
    from .metrics import MaskCounts

    thresholds = MaskCounts().thresholds
    if args.threshold is not None and args.threshold not in thresholds:
        ap.error(f"--threshold must be one of the validation's: {', '.join(map(str, thresholds))}")
    notes = Path(args.notes).read_text() if args.notes else ""
    recipe = Path(args.data_recipe).read_text().strip()
    card = export(
        args.segmenter,
        args.inpainter,
        args.val,
        args.val_heldout,
        args.out,
        recipe,
        notes,
        not args.no_int8,
        args.threshold,
    )
    print(model_card(card))


if __name__ == "__main__":
    main()
