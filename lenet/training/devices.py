"""Where training runs: the device a name means on this machine, the cores it may use, bf16 support."""

import os
from pathlib import Path

import torch

from lenet.training.settings import Precision

# Channels-last convolutions are faster on the CPU (oneDNN); a 1-channel input needs no copy for it.
CHANNELS_LAST_DEVICES = ("cpu",)


def device_choices() -> list[str]:
    """The names `resolve_device` accepts here: auto, cpu, and the machine's accelerator if it has one."""
    accelerator = [torch.accelerator.current_accelerator().type] if torch.accelerator.is_available() else []
    return ["auto", "cpu", *accelerator]


def resolve_device(name: str = "auto") -> torch.device:
    """`auto` is the machine's accelerator (CUDA, MPS, XPU...) when it has one, else the CPU."""
    if name == "auto":
        if torch.accelerator.is_available():
            return torch.accelerator.current_accelerator()
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"{name!r} is not a device name; use one of {', '.join(device_choices())}") from None
    if device.type not in device_choices():
        raise ValueError(f"device {name!r} is not available on this machine")
    return device


def cpu_has_native_bf16() -> bool:
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # private, so looked up defensively
    return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)


def autocast_dtype(precision: Precision, device: torch.device) -> torch.dtype | None:
    """bf16 where it is faster at the same accuracy: CPUs with bf16 units; CUDA graphs stay fp32."""
    if precision == Precision.BF16 or (precision == Precision.AUTO and device.type == "cpu" and cpu_has_native_bf16()):
        return torch.bfloat16
    return None


def available_cores() -> int:
    """Cores this process may use: its CPU affinity, capped by a cgroup v2 CPU quota (containers, clouds)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            cores = min(cores, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return cores
