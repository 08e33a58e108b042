"""What the torch runtime looks like here: threads, version, GPU (for benchmarks)."""

from __future__ import annotations

from typing import Any

import torch


def get_threads() -> int:
    return int(torch.get_num_threads())


def set_threads(n: int) -> None:
    torch.set_num_threads(n)


def describe() -> dict[str, Any]:
    """torch version, its CPU threads and the GPU name (None without CUDA)."""
    return {
        "torch": torch.__version__,
        "torch_threads": get_threads(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
