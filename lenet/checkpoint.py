"""Checkpoints as a plain dict {"model": state_dict, "config": ..., "history": ...}.

Loading never runs code (`weights_only=True`) and checks everything before it touches the model,
so a bad file leaves the model as it was.
"""

import functools
import io
from pathlib import Path
from typing import IO

import torch
from torch import nn

from lenet.events import EpochRecord
from lenet.model import Net

MAX_CHECKPOINT_BYTES = 5 * 1024 * 1024  # LeNet's weights take about 330 KB
PRETRAINED = Path(__file__).parent / "assets" / "lenet_mnist.pt"


class CheckpointError(ValueError):
    """The file is not a usable LeNet checkpoint; the message says why."""


def save_checkpoint(
    path: Path | IO[bytes], model: nn.Module, config: dict | None = None, history: list | None = None
) -> None:
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    torch.save({"model": state, "config": config or {}, "history": history or []}, path)


def checkpoint_bytes(model: nn.Module, config: dict | None = None, history: list | None = None) -> bytes:
    buffer = io.BytesIO()
    save_checkpoint(buffer, model, config, history)
    return buffer.getvalue()


def read_checkpoint(source: Path | bytes, model: nn.Module) -> dict:
    """Read and validate a checkpoint for `model` without changing it; return the checkpoint."""
    raw = Path(source).read_bytes() if isinstance(source, Path) else source
    if len(raw) > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(
            f"the file is {len(raw) / 1e6:.1f} MB; a LeNet checkpoint is under {MAX_CHECKPOINT_BYTES / 1e6:.0f} MB"
        )
    try:
        checkpoint = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for non-checkpoints and refused pickles
        raise CheckpointError(
            f"not a PyTorch checkpoint that is safe to load ({type(error).__name__}: {str(error).splitlines()[0]})"
        ) from error
    state = checkpoint.get("model") if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise CheckpointError('not a LeNet checkpoint: expected a dict with a "model" state_dict')
    expected = model.state_dict()
    if missing := sorted(set(expected) - set(state)):
        raise CheckpointError(f"weights missing: {', '.join(missing)}")
    if unexpected := sorted(set(state) - set(expected)):
        raise CheckpointError(f"unexpected weights: {', '.join(unexpected)}")
    for name, tensor in state.items():
        if not isinstance(tensor, torch.Tensor) or tensor.shape != expected[name].shape:
            shape = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor).__name__
            raise CheckpointError(f"{name} has shape {shape}, LeNet needs {tuple(expected[name].shape)}")
        if not tensor.is_floating_point() or not torch.isfinite(tensor).all():
            raise CheckpointError(f"{name} holds values that are not finite numbers")
    try:
        records = history_records(checkpoint.get("history") or [])
    except ValueError as error:
        raise CheckpointError(f"its training history is not valid: {error}") from error
    return {**checkpoint, "history": [record.to_dict() for record in records]}


def history_records(history: object) -> list[EpochRecord]:
    """A checkpoint's "history", checked record by record (ValueError says what is wrong)."""
    if not isinstance(history, list):
        raise ValueError("it is not a list")
    return [EpochRecord.from_dict(record) for record in history]


@functools.cache
def pretrained() -> dict:
    """The committed weights, read and validated once per process; sessions copy them."""
    return read_checkpoint(PRETRAINED, Net())


def load_checkpoint(source: Path | bytes, model: nn.Module) -> dict:
    """Validate, then copy the weights into `model`; return the whole checkpoint."""
    checkpoint = read_checkpoint(source, model)
    model.load_state_dict(checkpoint["model"])
    return checkpoint
