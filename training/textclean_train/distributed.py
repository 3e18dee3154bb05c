"""One process or many: the same training script runs alone or under ``torchrun``.

Under ``torchrun`` the usual environment variables (RANK, WORLD_SIZE,
LOCAL_RANK, MASTER_ADDR/PORT) are set; we then join a process group with
gloo on CPU and NCCL on GPU, and wrap the model in DistributedDataParallel.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class Runtime:
    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup(device: str = "auto") -> Runtime:
    """Join the process group if launched by torchrun; pick the device."""
    use_cuda = torch.cuda.is_available() if device == "auto" else device == "cuda"
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if use_cuda:
        torch.cuda.set_device(local)
        dev = torch.device("cuda", local)
    else:
        dev = torch.device("cpu")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return Runtime(rank, world, dev)


def wrap(model: nn.Module, rt: Runtime) -> nn.Module:
    if rt.world_size == 1:
        return model
    # BatchNorm statistics must agree across ranks, or the ranks' weights drift.
    model = nn.SyncBatchNorm.convert_sync_batchnorm(model) if rt.device.type == "cuda" else model
    # DDP broadcasts rank 0's buffers (BatchNorm statistics) at every forward.
    return nn.parallel.DistributedDataParallel(
        model, device_ids=[rt.device.index] if rt.device.type == "cuda" else None
    )


def unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def sync_buffers(model: nn.Module, rt: Runtime) -> None:
    """Give every rank rank 0's buffers (BatchNorm running statistics).

    DDP broadcasts them at the start of each forward, but the last forward
    still updates them from each rank's own batch, so ranks would end apart.
    """
    if rt.world_size == 1:
        return
    for buf in unwrap(model).buffers():
        dist.broadcast(buf.data, src=0)


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def all_reduce_mean(value: float, rt: Runtime) -> float:
    if rt.world_size == 1:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=rt.device if rt.device.type == "cuda" else "cpu")
    dist.all_reduce(t)
    return float(t.item()) / rt.world_size


def teardown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
