"""What both trainers share: checkpoints that resume, a log with ETA, a time budget."""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler

from . import distributed
from .distributed import Runtime


def save_checkpoint(path: str, model: nn.Module, optimizer: torch.optim.Optimizer, step: int, extra: dict) -> None:
    tmp = path + ".tmp"
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step, **extra}, tmp)
    os.replace(tmp, path)  # a kill mid-write never leaves a broken checkpoint


def load_checkpoint(path: str, model: nn.Module, optimizer: torch.optim.Optimizer | None) -> dict:
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(ckpt["model"])
    if optimizer is not None and "optimizer" in ckpt:
        optimizer.load_state_dict(ckpt["optimizer"])
    return ckpt


def trained_state(path: str) -> tuple[dict[str, torch.Tensor], dict | None]:
    """Float weights and config from a training checkpoint ("model") or a weight file (fp16 "state_dict")."""
    data = torch.load(path, map_location="cpu", weights_only=True)
    if "model" in data:
        return data["model"], data.get("config")
    if "state_dict" in data:
        return {k: v.float() if v.is_floating_point() else v for k, v in data["state_dict"].items()}, data["config"]
    raise SystemExit(f"{path} is neither a training checkpoint nor a weight file")


class RankSampler(Sampler[int]):
    """Endless random indices, disjoint between ranks, reproducible from (seed, rank, step)."""

    def __init__(self, n: int, rt: Runtime, seed: int, start_step: int, batch: int) -> None:
        self.n, self.rt, self.seed, self.offset = n, rt, seed, start_step * batch

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(self.seed * 1000 + self.rt.rank)
        epoch = 0
        skipped = 0
        while True:
            perm = torch.randperm(self.n, generator=g).tolist()
            epoch += 1
            for i in perm[self.rt.rank :: self.rt.world_size]:
                if skipped < self.offset:  # resuming: replay where we were
                    skipped += 1
                    continue
                yield i

    def __len__(self) -> int:  # pragma: no cover - endless
        return 2**62


def endless_loader(ds: Dataset, rt: Runtime, batch: int, seed: int, start_step: int, workers: int) -> Iterator:
    sampler = RankSampler(len(ds), rt, seed, start_step, batch)
    return iter(
        DataLoader(
            ds, batch_size=batch, sampler=sampler, num_workers=workers, drop_last=True, persistent_workers=workers > 0
        )
    )


def lr_at(step: int, total: int, base: float, warmup: int) -> float:
    """Linear warm-up, then cosine decay to 1% of ``base``."""
    if step < warmup:
        return base * (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * t)))


class ProgressLog:
    """Periodic line: step, loss, throughput, ETA."""

    def __init__(self, total: int, batch: int, world: int, start_step: int, every: int = 20) -> None:
        self.total, self.batch, self.world, self.every = total, batch, world, every
        self.t0, self.s0 = time.time(), start_step
        self.loss_sum, self.loss_n = 0.0, 0

    def step(self, step: int, loss: float, lr: float) -> None:
        self.loss_sum += loss
        self.loss_n += 1
        if (step + 1) % self.every and step + 1 != self.total:
            return
        elapsed = time.time() - self.t0
        done = step + 1 - self.s0
        ips = done * self.batch * self.world / max(elapsed, 1e-6)
        eta = (self.total - step - 1) * elapsed / max(done, 1)
        print(
            f"step {step + 1}/{self.total} loss {self.loss_sum / self.loss_n:.4f} lr {lr:.2e} "
            f"{ips:.1f} img/s elapsed {elapsed / 60:.1f}m eta {eta / 60:.1f}m",
            flush=True,
        )
        self.loss_sum, self.loss_n = 0.0, 0


def out_of_time(max_minutes: float, t0: float, rt: Runtime) -> bool:
    """Whether the time budget is spent; every rank gets the same answer, or DDP's collectives hang."""
    if not max_minutes:
        return False
    return distributed.all_reduce_mean(float((time.time() - t0) / 60 > max_minutes), rt) > 0


def end_of_step(done: int, total: int, ckpt_every: int, stop: bool, rt: Runtime, checkpoint) -> bool:
    """Checkpoint when due; returns True when the loop must stop (time budget spent)."""
    if done % ckpt_every == 0 or done == total or stop:
        checkpoint(done)
    if stop and rt.is_main:
        print(f"time budget reached at step {done}; rerun to resume", flush=True)
    return stop


@dataclass
class LoopState:
    """Where a run stands; restored from ``out/last.pt`` on a rerun."""

    step: int = 0
    best: float = -math.inf
    history: list[dict] = field(default_factory=list)
    wall_s: float = 0.0
    # Where the learning-rate schedule had got to. A time-scheduled run runs ahead of its step count,
    # so a run killed with its rate half-way down must resume from here, not from its step: c18's
    # stage 1 was killed at step 3720 with the rate at 7.4e-3 and would have restarted at 0.02.
    sched_step: int = 0


def resume(
    out: str, model: nn.Module, optimizer: torch.optim.Optimizer, rt: Runtime, legacy_best_key: str | None = None
) -> LoopState:
    """The state of ``out/last.pt`` loaded into ``model`` and ``optimizer``, or a fresh state."""
    last = os.path.join(out, "last.pt")
    if not os.path.exists(last):
        return LoopState()
    ckpt = load_checkpoint(last, model, optimizer)
    best = ckpt.get("best", ckpt.get(legacy_best_key, -math.inf) if legacy_best_key else -math.inf)
    state = LoopState(
        ckpt["step"],
        float(best),
        json.loads(ckpt.get("history", "[]")),
        ckpt.get("wall_s", 0.0),
        int(ckpt.get("sched_step", _legacy_sched_step(ckpt))),
    )
    if rt.is_main:
        print(f"resumed from {last} at step {state.step}", flush=True)
    return state


def _legacy_sched_step(ckpt: dict) -> int:
    """The schedule step of a checkpoint written before ``sched_step`` was saved.

    Rebuilt from its wall time and its run's budget, which is exact for a time-scheduled run that was
    never resumed (the schedule then started at 0); any other checkpoint is at its step.
    """
    args = json.loads(ckpt.get("args", "{}"))
    if not (args.get("time_schedule") and args.get("max_minutes") and args.get("steps")):
        return ckpt["step"]
    share = ckpt.get("wall_s", 0.0) / (args["max_minutes"] * 60)
    return max(ckpt["step"], min(args["steps"], int(share * args["steps"])))


def begin(args: Any) -> Runtime:
    """A trainer's first steps: threads, the (DDP) runtime, the seed every rank shares, the output folder."""
    if args.threads:
        torch.set_num_threads(args.threads)
    rt = distributed.setup(args.device)
    torch.manual_seed(args.seed)  # identical initial weights on every rank
    os.makedirs(args.out, exist_ok=True)
    return rt


def scheduled_step(args: Any, rt: Runtime, step: int, start: int, t0: float) -> int:
    """The step the learning-rate schedule is at.

    With ``args.time_schedule`` and a time budget it is whichever is further along, the steps or the
    run's share of its minutes, so a time-boxed run anneals fully instead of stopping half-way down its
    cosine. ``start`` is where the schedule stood when this process began (a resumed run's saved
    schedule step), so a resumed run anneals from there to the end within its own ``--max-minutes``.
    Rank 0's clock decides, so every DDP rank uses the same rate.
    """
    if not (getattr(args, "time_schedule", False) and args.max_minutes):
        return step
    elapsed = (time.time() - t0) / (args.max_minutes * 60)
    virtual = max(step, min(args.steps, start + int(elapsed * (args.steps - start))))
    if rt.world_size > 1:
        t = torch.tensor([virtual], dtype=torch.long, device=rt.device)
        torch.distributed.broadcast(t, 0)
        virtual = int(t.item())
    return virtual


def run(
    args: Any,
    rt: Runtime,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    state: LoopState,
    loss_at: Callable[[int], torch.Tensor],
    validate: Callable[[int], dict] | None,
    best_key: str,
    extra: dict,
) -> None:
    """The step loop both trainers share: schedule, step, log, validate, keep the best, checkpoint, time budget.

    ``loss_at(step)`` returns the batch's loss; ``validate(step)`` a dict of
    figures whose ``best_key`` picks ``best.pt`` (higher is better). ``args``
    needs ``out``, ``steps``, ``lr``, ``warmup``, ``batch``, ``val_every``,
    ``ckpt_every``, ``max_minutes``. ``extra`` goes into every checkpoint.
    """
    log = ProgressLog(args.steps, args.batch, rt.world_size, state.step)
    t0 = time.time()

    def checkpoint(step: int, name: str = "last.pt") -> None:
        if rt.is_main:
            save_checkpoint(
                os.path.join(args.out, name),
                model,
                optimizer,
                step,
                {
                    **extra,
                    "best": state.best,
                    "history": json.dumps(state.history),
                    "wall_s": state.wall_s + time.time() - t0,
                    "sched_step": state.sched_step,
                    "args": json.dumps(vars(args)),
                },
            )

    start, sched_start = state.step, max(state.step, state.sched_step)
    for step in range(start, args.steps):
        state.sched_step = scheduled_step(args, rt, step, sched_start, t0)
        lr = lr_at(state.sched_step, args.steps, args.lr, args.warmup)
        for g in optimizer.param_groups:
            g["lr"] = lr
        loss = loss_at(step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        if rt.is_main:
            log.step(step, loss.item(), lr)
        done = step + 1
        stop = out_of_time(args.max_minutes, t0, rt)
        if validate is not None and rt.is_main and (done % args.val_every == 0 or done == args.steps or stop):
            entry = {"step": done, **validate(done)}
            state.history.append(entry)
            print(
                "val " + json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in entry.items()}),
                flush=True,
            )
            if entry.get(best_key, -math.inf) > state.best:
                state.best = entry[best_key]
                checkpoint(done, "best.pt")
        if end_of_step(done, args.steps, args.ckpt_every, stop, rt, checkpoint):
            break
    distributed.sync_buffers(model, rt)
    distributed.barrier()
    distributed.teardown()
