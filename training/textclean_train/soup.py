"""Average two segmenters' weights (a "weight soup") into one weight file.

    python -m textclean_train.soup daemon/textclean/weights/segmenter.pt training/candidates/c18-stage1.pt \
        training/candidates/soup.pt --weight 0.5

Two stages of one chain disagree about different art: on the real pages 0.4 left 006014's colour
header nearly clean and covered mit-original1's dress, and c18 stage 1 (trained on from 0.4) the other
way round. Their average keeps most of what each got right at no training cost. Both must be of one
architecture, and the second should descend from the first (or share an ancestor), since weights of
unrelated runs do not average into a working network. Batch-norm statistics are averaged as well.

The result's metadata lists the second file's stages, then this command naming the first, so
``export`` prints a history that says where the weights came from.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

import torch
from textclean.weights import save

from .export import checkpoint_facts, stage_commands
from .loop import trained_state


def average(first: str, second: str, weight: float) -> tuple[dict[str, torch.Tensor], dict]:
    """(1 − weight) × ``first`` + weight × ``second``, key by key, and their shared config."""
    if not 0.0 <= weight <= 1.0:
        raise SystemExit(f"--weight must lie in [0, 1], not {weight}")
    a, config_a = trained_state(first)
    b, config_b = trained_state(second)
    if config_a != config_b or a.keys() != b.keys():
        raise SystemExit(f"{first} and {second} are different architectures; only one network's runs average")
    out = {}
    for k, va in a.items():
        vb = b[k]
        if va.shape != vb.shape:
            raise SystemExit(f"{k}: shape {tuple(va.shape)} in {first}, {tuple(vb.shape)} in {second}")
        # Integer buffers (BN's batch counters) are counts, not weights: the second file's are kept.
        out[k] = (1 - weight) * va + weight * vb if va.is_floating_point() else vb
    return out, config_b


def soup(first: str, second: str, out: str, weight: float = 0.5, summary: str = "", overwrite: bool = False) -> dict:
    """Write the average of two segmenters to ``out`` (fp16 weight file); returns its metadata."""
    if Path(out).exists() and not overwrite:
        raise SystemExit(f"{out} exists; give another name, or --overwrite to replace it")
    state, config = average(first, second, weight)
    facts = checkpoint_facts(second, "train_segmenter")
    command = shlex.join(["python", "-m", "textclean_train.soup", first, second, out, "--weight", f"{weight:g}"])
    meta = {
        "step": facts["step"],
        "wall_s": facts["wall_s"],
        "commands": [*stage_commands(facts["stages"]), command],
        "loss": facts["loss"],
        "train_args": facts["args"],
        "summary": summary or f"{1 - weight:g} × {first} + {weight:g} × {second}",
        "soup": {"first": first, "second": second, "weight": weight},
    }
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    save(out, "segmenter", config, state, meta)
    return meta


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("first", help="weight file or training checkpoint (gets 1 − weight)")
    ap.add_argument("second", help="weight file or training checkpoint (gets weight); its history is kept")
    ap.add_argument("out")
    ap.add_argument("--weight", type=float, default=0.5, help="the second file's share (default 0.5)")
    ap.add_argument("--summary", default="", help="what it scored, in a line (kept in its metadata)")
    ap.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    a = ap.parse_args(argv)
    meta = soup(a.first, a.second, a.out, a.weight, a.summary, a.overwrite)
    print(f"{a.out}: {len(meta['commands'])} commands in its history; {meta['summary']}")


if __name__ == "__main__":
    main()
