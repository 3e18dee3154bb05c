"""One command for a whole segmenter campaign: data, training stages, hard-negative mining, validation.

    python -m textclean_train.campaign --minutes 120 --device auto --work runs/campaign
    python -m textclean_train.campaign --minutes 25 --device cuda --work /tmp/c --pages 6000   # on a lent GPU

What it does, in order, each step skipped when its output already exists (so a
rerun with the same ``--work`` resumes; ``--minutes`` is then the rerun's own budget, and a stage cut
off mid-way goes on from its checkpoint with its learning rate where it was, annealing within its new
share of that budget):

1. generates the crops (``WORK/data/{train,val,val_heldout}``) in one worker per core;
2. stage 1: trains from ``--init-from`` (the shipped weights by default) for ``--stage1-share`` of the time
   left, with the learning rate annealed over that time;
3. mines hard negatives: runs stage 1's model over text-free pages and keeps crops of what it marks;
4. stage 2: trains on to the end of the budget with those crops oversampled (``--negative-weight`` of each
   batch) and pages of dense body text mixed in (``--dense-weight``);
5. with ``--keep PREFIX``, writes each finished stage to ``PREFIX-stage1.pt`` / ``PREFIX-stage2.pt`` at once
   (``keep``'s small fp16 file, e.g. ``--keep training/candidates/c15``), since a session can be cut off
   and the machine wiped before anyone keeps it by hand: c14's stage 1 (76 CPU-minutes) was lost that way;
6. prints the validation figures of the result and the commands that export it and refit the blob
   check (``train_blobcheck``) to it.

Every stage's command, steps and wall time are in its checkpoint, which ``export`` copies to the model card.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import torch

from .dataset import CROP, stored_crop
from .keep import keep
from .mining import MINING_SEED, mine


def _run(argv: list[str]) -> None:
    print("+ " + " ".join(argv), flush=True)
    subprocess.run(argv, check=True)


def _py(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", f"textclean_train.{module}", *args]


def make_data(work: str, pages: int, workers: int, seed: int = 0, crop: int = 512) -> dict[str, str]:
    data = {name: os.path.join(work, "data", name) for name in ("train", "val", "val_heldout", "dense")}
    side = stored_crop(crop)

    def stored(per_page: int) -> list[str]:
        # Two 640-px crops a page already hold twice the pixels of four 320-px ones (four would make
        # 1800 pages about 20 GB).
        return ["--crop-size", str(side), "--crops-per-page", str(per_page if side == CROP else 2)]

    # Validation stays on 320-px crops, so its figures compare across campaigns.
    jobs = {
        "val": ["--pages", "150", "--seed", "1000000", "--crops-per-page", "2"],
        "val_heldout": ["--pages", "150", "--seed", "2000000", "--split", "heldout", "--crops-per-page", "2"],
        "train": ["--pages", str(pages), "--seed", str(seed), *stored(4)],
        # Pages with columns of body text, which stage 2 mixes in (old comics set captions and prose this way).
        "dense": [
            "--pages",
            str(max(100, pages // 8)),
            "--seed",
            "4000000",
            "--negative-share",
            "0",
            "--dense-share",
            "1.0",
            *stored(3),
        ],
    }
    for name, args in jobs.items():
        if not os.path.exists(os.path.join(data[name], "meta.json")):
            _run(_py("dataset", "synth", data[name], *args, "--workers", str(workers)))
    return data


def train_stage(
    out: str,
    data: list[str],
    data_dirs: dict[str, str],
    minutes: float,
    init_from: str | None,
    device: str,
    threads: int,
    lr: float,
    batch: int,
    crop: int,
) -> str:
    last, done = os.path.join(out, "last.pt"), os.path.join(out, "DONE")
    if os.path.exists(done):
        return last
    argv = _py(
        "train_segmenter",
        "--data",
        *data,
        "--val",
        data_dirs["val"],
        "--val-heldout",
        data_dirs["val_heldout"],
        "--out",
        out,
        "--loss",
        "bce_dice",
        "--steps",
        "100000",
        "--batch",
        str(batch),
        "--crop",
        str(crop),
        "--lr",
        str(lr),
        "--warmup",
        "50",
        "--refine-channels",
        "8",
        "--val-every",
        "400",
        "--ckpt-every",
        "100",
        "--threads",
        str(threads),
        "--device",
        device,
        "--max-minutes",
        f"{minutes:.1f}",
        "--time-schedule",
    )
    if init_from:
        argv += ["--init-from", init_from]
    _run(argv)
    open(done, "w").close()  # a rerun of the campaign goes straight to the next step
    return last


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, required=True, help="the whole campaign's budget, data included")
    ap.add_argument("--work", default="runs/campaign", help="folder for data, stages and logs")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--pages", type=int, default=1800, help="synthetic training pages")
    ap.add_argument(
        "--seed",
        type=int,
        default=0,
        help="first training page; a campaign resumed from trained weights gets fresh pages with a new seed "
        "(e.g. 10000000: clear of validation, mining and the benchmarks' seeds), and mines from MINING_SEED + seed",
    )
    ap.add_argument("--init-from", default=None, help="weights to start from (default: the shipped segmenter)")
    ap.add_argument("--stage1-share", type=float, default=0.6)
    ap.add_argument(
        "--mine-pages",
        type=int,
        default=70,
        help="text-free pages to mine (about 4 s a page on one busy CPU core; use more on a GPU)",
    )
    ap.add_argument("--negative-weight", type=float, default=0.2, help="share of stage-2 batches from mining")
    ap.add_argument("--dense-weight", type=float, default=0.15, help="share of stage-2 batches of dense text")
    ap.add_argument(
        "--mix",
        action="append",
        default=[],
        metavar="DIR:SHARE",
        help="crops mixed into both stages, e.g. an earlier campaign's mined negatives: a campaign resumed from "
        "trained weights keeps seeing the negatives and dense text it learnt from, so stage 1 does not unlearn them",
    )
    ap.add_argument("--lr", type=float, default=0.02)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument(
        "--crop",
        type=int,
        default=512,
        help="training crop side. The ASPP's widest branch (rate 18 at 1/16 scale) reaches 288 px: on "
        "256-px crops its off-centre taps only ever saw padding, and on full pages they added noise",
    )
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch threads for training (0: all cores). Give 1 on a CPU shared with other work: "
        "OpenMP threads that wait on a busy core slowed a 2-thread run tenfold here",
    )
    ap.add_argument(
        "--keep",
        default=None,
        metavar="PREFIX",
        help="write each finished stage to PREFIX-stageN.pt as a candidate (see textclean_train.keep)",
    )
    a = ap.parse_args(argv)
    t0 = time.time()

    def kept(stage: str, n: int) -> None:
        if not a.keep:
            return
        out = f"{a.keep}-stage{n}.pt"
        if os.path.exists(out):  # a resumed campaign already kept this stage
            return
        meta = keep(stage, out, f"stage {n} of campaign {a.work}, kept as it finished; not yet measured")
        print(f"kept {out}: {meta['step']} steps", flush=True)

    def left() -> float:
        return a.minutes - (time.time() - t0) / 60

    init = a.init_from
    if init is None:
        from textclean.weights import weights_path

        init = str(weights_path("segmenter"))
    data = make_data(a.work, a.pages, a.workers, a.seed, a.crop)
    threads = a.threads or max(1, torch.get_num_threads())
    # Mining and the final validation need a few minutes at the end; the stages share the rest.
    reserve = 6.0
    stage1 = train_stage(
        os.path.join(a.work, "stage1"),
        [data["train"], *a.mix],
        data,
        (left() - reserve) * a.stage1_share,
        init,
        a.device,
        threads,
        a.lr,
        a.batch,
        a.crop,
    )
    kept(stage1, 1)
    negatives = os.path.join(a.work, "data", "negatives1")
    if not os.path.exists(os.path.join(negatives, "meta.json")):
        report = mine(stage1, negatives, a.mine_pages, MINING_SEED + a.seed, workers=1, crop=stored_crop(a.crop))
        print(json.dumps(report), flush=True)
    stage2_data = [data["train"], f"{data['dense']}:{a.dense_weight}", f"{negatives}:{a.negative_weight}", *a.mix]
    stage2 = train_stage(
        os.path.join(a.work, "stage2"),
        stage2_data,
        data,
        left() - 2.0,
        stage1,
        a.device,
        threads,
        a.lr * 0.5,
        a.batch,
        a.crop,
    )
    kept(stage2, 2)
    _run(
        _py(
            "evaluate",
            "--val",
            data["val"],
            "--val-heldout",
            data["val_heldout"],
            "--segmenter",
            stage2,
            "--only",
            "segmenter",
        )
    )
    print(
        f"campaign done in {(time.time() - t0) / 60:.1f} min. Export with:\n  python -m textclean_train.export "
        f"--segmenter {stage2} --val {data['val']} --val-heldout {data['val_heldout']}\n"
        "then fit the blob check to the new segmenter:\n  python -m textclean_train.train_blobcheck "
        "&& python -m textclean_train.export --card-only",
        flush=True,
    )


if __name__ == "__main__":
    main()
