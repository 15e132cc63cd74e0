"""Checkpoints: a plain dict {"model", "config", "history", "runs"} on disk (and "architecture" for a network
other than the tutorial's), a checked `Checkpoint` read back.

A checkpoint may come from anyone (an upload on a shared server), so reading one is bounded and
checked before it touches a model: the zip archive `torch.save` writes declares what each record
unpacks to, and those sizes are capped before `torch.load` unpacks anything; the pickle's shape
(steps, nesting) is read before anything is built from it (`lenet.store.pickle_shape`); loading never
runs code (`weights_only=True`); then every part is checked against what a LeNet checkpoint holds.
Any failure is a `CheckpointError` whose message says what is wrong; the model stays as it was.
"""

import functools
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import torch
from torch import nn

from lenet.network.architecture import TUTORIAL, Architecture, ArchitectureError
from lenet.network.model import MAX_WEIGHT, Net
from lenet.store.pickle_shape import PickleShapeError, check_shape
from lenet.store.records import MAX_HISTORY, MAX_RUNS, EpochRecord, RunRecord, history_from, runs_from
from lenet.text import listed
from lenet.training.settings import plain_config
from lenet.zipped import NotAnArchive, open_archive, read_record, unpacked_bytes

MAX_CHECKPOINT_BYTES = 10 * 1024 * 1024  # the file; the tutorial's weights take 330 KB, the largest network 6 MB
MAX_UNPACKED_BYTES = 9 * 1024 * 1024  # every record of the archive, as it unpacks
# The pickled dict. The largest the app writes: 1,000 epochs of history whose configs hold 64-character
# values (1.1 MB) and 20 runs at every limit (0.3 MB); a 1,000-epoch history pickles to 62 KB.
MAX_PICKLE_BYTES = 3 * 1024 * 1024
MAX_RECORDS = 64  # LeNet's 10 tensors and torch's bookkeeping take 16
KEYS = {"model", "config", "history", "runs", "architecture"}
# The records torch.save writes, in one folder named after the file: the pickle, the tensors' storages
# and its bookkeeping. Anything else (torch reads names case-insensitively) is refused.
TORCH_RECORD = re.compile(
    r"[^/]+/(data\.pkl|data/\d+|byteorder|version|\.format_version|\.storage_alignment|\.data/serialization_id"
    r"|\.data/version)"
)
WEIGHT_TYPES = (torch.float32, torch.float16, torch.bfloat16, torch.float64)  # what a model's weights may be
PRETRAINED = Path(__file__).parents[1] / "assets" / "lenet_mnist.pt"


class CheckpointError(ValueError):
    """The file is not a usable LeNet checkpoint; the message says why."""


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint's contents, every part checked."""

    weights: Mapping[str, torch.Tensor]  # a state_dict for its network: the right names, shapes and bounds
    config: Mapping[str, int | float | bool | str]  # the settings of the run that wrote it, as plain values
    history: tuple[EpochRecord, ...] = ()
    runs: tuple[RunRecord, ...] = ()
    architecture: Architecture = TUTORIAL

    def model(self) -> Net:
        """A CPU model of its network with its weights."""
        model = Net(self.architecture)
        model.load_state_dict(self.weights)
        return model


def save_checkpoint(
    path: Path | IO[bytes],
    model: nn.Module,
    config: dict | None = None,
    history: Sequence[EpochRecord] = (),
    runs: Sequence[RunRecord] = (),
) -> None:
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    checkpoint = {
        "model": state,
        "config": config or {},
        "history": [record.to_dict() for record in history[-MAX_HISTORY:]],
    }
    if model.arch != TUTORIAL:  # the tutorial's network writes what it always wrote
        checkpoint["architecture"] = model.arch.to_dict()
    if runs:
        checkpoint["runs"] = [run.to_dict() for run in runs[-MAX_RUNS:]]
    torch.save(checkpoint, path)


def checkpoint_bytes(
    model: nn.Module, config: dict | None = None, history: Sequence[EpochRecord] = (), runs: Sequence[RunRecord] = ()
) -> bytes:
    buffer = io.BytesIO()
    save_checkpoint(buffer, model, config, history, runs)
    return buffer.getvalue()


def weights_bytes(weights: Mapping[str, torch.Tensor], arch: Architecture = TUTORIAL) -> bytes:
    """Weights alone (a snapshot's float16 ones, say) as a checkpoint that `read_checkpoint` checks."""
    buffer = io.BytesIO()
    checkpoint = {"model": {k: v.detach().cpu().contiguous() for k, v in weights.items()}, "config": {}}
    if arch != TUTORIAL:
        checkpoint["architecture"] = arch.to_dict()
    torch.save(checkpoint, buffer)
    return buffer.getvalue()


def read_checkpoint(source: Path | bytes) -> Checkpoint:
    """Read and check a checkpoint: its network (the tutorial's unless it says another, within bounds),
    then its weights against that network's shapes, before any model is built."""
    try:
        raw = Path(source).read_bytes() if isinstance(source, Path) else bytes(source)
    except OSError as error:
        raise CheckpointError(f"the file cannot be read ({error.strerror or type(error).__name__})") from None
    _check_archive(raw)
    try:
        checkpoint = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for broken archives and refused pickles
        reason = (str(error).strip().splitlines() or [""])[0][:200]
        raise CheckpointError(
            f"not a PyTorch checkpoint that is safe to load ({type(error).__name__}: {reason})"
        ) from None
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("model"), dict):
        raise CheckpointError('not a LeNet checkpoint: expected a dict with a "model" state_dict')
    if unknown := [key for key in checkpoint if key not in KEYS]:
        raise CheckpointError(
            f"unexpected entries: {listed(unknown)}; a LeNet checkpoint holds model, config, history and runs"
        )
    try:
        arch = Architecture.from_dict(checkpoint.get("architecture", {}))
        arch.check()
    except ArchitectureError as error:
        raise CheckpointError(f"its network cannot be built here: {error}") from None
    _check_weights(checkpoint["model"], arch)
    try:
        config = plain_config(checkpoint.get("config") or {})
        history = history_from(checkpoint.get("history") or [])
    except ValueError as error:
        raise CheckpointError(f"its config or training history is not valid: {error}") from None
    try:
        runs = runs_from(checkpoint.get("runs") or [])
    except ValueError as error:
        raise CheckpointError(f"its record of training runs is not valid: {error}") from None
    return Checkpoint(checkpoint["model"], config, history, runs, arch)


def _check_archive(raw: bytes) -> None:
    """Refuse before unpacking: a file over the caps, not an archive as torch.save writes it, or one
    that unpacks too large; then the pickle's shape, read from at most its declared bytes."""
    if len(raw) > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(
            f"the file is {len(raw) / 1e6:.1f} MB; a LeNet checkpoint is under {MAX_CHECKPOINT_BYTES / 1e6:.0f} MB"
        )
    if not raw:
        raise CheckpointError("the file is empty")
    try:
        archive = open_archive(raw)
    except NotAnArchive as error:
        raise CheckpointError(f"not a PyTorch checkpoint (torch.save writes a zip archive): {error}") from None
    with archive:
        records = archive.infolist()
        if len(records) > MAX_RECORDS:
            raise CheckpointError(f"the archive holds {len(records):,} records; a LeNet checkpoint holds about 16")
        names = [record.filename for record in records]
        if len(set(names)) < len(names):
            raise CheckpointError("the archive holds two records of the same name")
        if odd := [name for name in names if not TORCH_RECORD.fullmatch(name)]:
            raise CheckpointError(f"the archive holds a record torch.save does not write: {listed(odd[:1])}")
        if len({name.split("/")[0] for name in names}) != 1:
            raise CheckpointError("the archive's records lie in more than one folder; torch.save writes one")
        pickles = [record for record in records if record.filename.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise CheckpointError("the archive holds no pickle (data.pkl); torch.save writes one")
        unpacked, pickled = unpacked_bytes(records), pickles[0].file_size
        if unpacked > MAX_UNPACKED_BYTES:
            raise CheckpointError(
                f"the file unpacks to {unpacked / 1e6:.1f} MB; a LeNet checkpoint unpacks to under "
                f"{MAX_UNPACKED_BYTES / 1e6:.0f} MB"
            )
        if pickled > MAX_PICKLE_BYTES:
            raise CheckpointError(
                f"its pickle unpacks to {pickled / 1e6:.1f} MB; a LeNet checkpoint's is under "
                f"{MAX_PICKLE_BYTES / 1e6:.0f} MB"
            )
        try:
            check_shape(read_record(archive, pickles[0]))
        except PickleShapeError as error:
            raise CheckpointError(f"its pickle cannot be loaded safely: {error}") from None
        except NotAnArchive as error:
            raise CheckpointError(f"not a PyTorch checkpoint: {error}") from None


def _check_weights(state: dict, arch: Architecture) -> None:
    expected = arch.weight_shapes()
    if odd := [key for key in state if not isinstance(key, str)]:
        raise CheckpointError(f"weight names must be text, not {listed(odd)}")
    if missing := sorted(set(expected) - set(state)):
        raise CheckpointError(f"weights missing: {', '.join(missing)}")
    if unexpected := sorted(set(state) - set(expected)):
        raise CheckpointError(f"unexpected weights: {listed(unexpected)}")
    for name, tensor in state.items():
        if not isinstance(tensor, torch.Tensor) or tensor.layout != torch.strided or tensor.device.type != "cpu":
            kind = (
                type(tensor).__name__ if not isinstance(tensor, torch.Tensor) else f"{tensor.layout} on {tensor.device}"
            )
            raise CheckpointError(f"{name} is not a plain tensor of numbers ({kind})")
        if tuple(tensor.shape) != expected[name]:
            raise CheckpointError(f"{name} has shape {tuple(tensor.shape)}, its network needs {expected[name]}")
        if tensor.dtype not in WEIGHT_TYPES:
            raise CheckpointError(f"{name} holds {str(tensor.dtype).removeprefix('torch.')} values; weights are floats")
        if not torch.isfinite(tensor).all():
            raise CheckpointError(f"{name} holds values that are not finite numbers")
        if (largest := tensor.abs().max().item()) > MAX_WEIGHT:
            raise CheckpointError(f"{name} holds a weight of {largest:.3g}; weights above {MAX_WEIGHT:g} can overflow")


@functools.cache
def pretrained() -> Checkpoint:
    """The committed weights, read and checked once per process; sessions copy them."""
    return read_checkpoint(PRETRAINED)
