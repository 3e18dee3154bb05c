"""Keep a segmenter training checkpoint as a small fp16 weight file that a later session can resume from.

    python -m textclean_train.keep runs/c13/stage1/last.pt training/candidates/c13-stage1.pt \
        --summary "real pages at 0.8, no check: ..."

Run folders live outside the repository, and this machine can be wiped between sessions: three
campaigns' checkpoints (c8, c11, c12; about 190 CPU-minutes) were lost that way before they could be
resumed. A candidate that is measured but not shipped is kept in ``training/candidates/`` instead, as
``export`` would write it (fp16, about 1.4 MB for the segmenter) but without the ONNX copies and the
validation pass. Its metadata keeps every stage's command, steps and wall time, so a run initialised
from it (``--init-from``) and exported later lists the whole history on the model card.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from textclean.weights import save

from .export import checkpoint_facts, stage_commands


def keep(checkpoint: str, out: str, summary: str = "", overwrite: bool = False) -> dict:
    """Write ``checkpoint`` (a segmenter training checkpoint) to ``out`` as a weight file; returns its metadata."""
    if Path(out).exists() and not overwrite:
        # A kept candidate may be the only copy of hours of training.
        raise SystemExit(f"{out} exists; give another name, or --overwrite to replace it")
    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=True)
    if "model" not in ckpt:
        raise SystemExit(f"{checkpoint} is not a training checkpoint (no 'model' in it)")
    facts = checkpoint_facts(checkpoint, "train_segmenter")
    meta = {
        "step": facts["step"],
        "wall_s": facts["wall_s"],
        "commands": stage_commands(facts["stages"]),
        "loss": facts["loss"],
        "train_args": facts["args"],
        "summary": summary or "candidate, not shipped",
        "best": ckpt.get("best"),
    }
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    save(out, "segmenter", facts["config"], ckpt["model"], meta)
    return meta


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("out")
    ap.add_argument("--summary", default="", help="what it scored, in a line (kept in its metadata)")
    ap.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    a = ap.parse_args(argv)
    meta = keep(a.checkpoint, a.out, a.summary, a.overwrite)
    print(f"{a.out}: {meta['step']} steps, {meta['wall_s'] / 60:.0f} min over {len(meta['commands'])} stages")


if __name__ == "__main__":
    main()
