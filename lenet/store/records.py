"""What a checkpoint keeps of a model's training: plain, frozen records, checked once on the way in.

An `EpochRecord` is one line of a model's history; a `RunRecord` is one training run as the learner
compares it and takes it home. Neither holds a lock, a thread or a tensor: a live run (`lenet.service.runs`)
makes them, a checkpoint (`lenet.store.checkpoint`) writes and reads them. `from_dict` is the one
place a record from a file is checked; a `ValueError` says what is wrong.
"""

import math
from array import array
from collections.abc import Sized
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum

from lenet.network.architecture import TUTORIAL, Architecture
from lenet.text import described, is_clean, listed
from lenet.training.settings import TrainConfig, plain_config

MAX_TEXT = 200  # characters of any text a run keeps (its start, its message)
MAX_RUNS = 20  # runs a session keeps, and a checkpoint may carry
MAX_CURVE_POINTS = 1_000  # loss values a run keeps in a checkpoint: means of consecutive steps
MAX_ACCURACY_POINTS = 64
MAX_RUN_EPOCHS = 100
MAX_HISTORY = 1_000  # epochs a checkpoint may record
LARGEST_LOSS = float(array("f", [3.4028234663852886e38])[0])  # float32's largest: a run keeps its losses in float32


class RunState(StrEnum):
    STARTING = "starting"
    QUEUED = "queued"
    LOADING = "loading data"
    TRAINING = "training"
    COMPLETED = "completed"
    STOPPED = "stopped"
    DIVERGED = "diverged"
    FAILED = "failed"

    @property
    def active(self) -> bool:
        return self in (RunState.STARTING, RunState.QUEUED, RunState.LOADING, RunState.TRAINING)


ENDED = {state.value for state in RunState if not state.active}


@dataclass(frozen=True)
class EpochRecord:
    """One line of a model's training history."""

    epoch: int  # counted over the model's whole history, inherited epochs included
    test_accuracy: float  # 0-1
    train_loss: float | None = None  # optional: checkpoints written by other tools may lack them
    seconds: float | None = None
    images_per_second: float | None = None
    config: dict = field(default_factory=dict)  # the run's TrainConfig, as plain values

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: object) -> "EpochRecord":
        if not isinstance(raw, dict) or not all(isinstance(key, str) for key in raw):
            raise ValueError("a history entry is not a dict of named values")
        known = {f.name for f in fields(cls)}
        if unknown := sorted(set(raw) - known):
            raise ValueError(f"a history entry has unknown keys: {listed(unknown)}")
        if not {"epoch", "test_accuracy"} <= set(raw):
            raise ValueError("a history entry lacks its epoch or test accuracy")
        accuracy, epoch = raw["test_accuracy"], raw["epoch"]
        if type(accuracy) not in (int, float) or not 0 <= accuracy <= 1:
            raise ValueError(f"a history entry's test accuracy is not between 0 and 1: {described(accuracy)}")
        if type(epoch) is not int or epoch < 1:
            raise ValueError(f"a history entry's epoch is not a positive whole number: {described(epoch)}")
        numbers = (raw.get("train_loss"), raw.get("seconds"), raw.get("images_per_second"))
        if not all(n is None or (type(n) in (int, float) and math.isfinite(n) and n >= 0) for n in numbers):
            raise ValueError("a history entry holds a value that is not a finite, non-negative number")
        return cls(**{**raw, "config": plain_config(raw.get("config", {}))})


def history_from(raw: object) -> tuple[EpochRecord, ...]:
    """A checkpoint's "history", checked record by record."""
    if not isinstance(raw, list):
        raise ValueError("the history is not a list")
    if len(raw) > MAX_HISTORY:
        raise ValueError(f"the history has {len(raw):,} epochs; at most {MAX_HISTORY:,} are kept")
    return tuple(EpochRecord.from_dict(record) for record in raw)


def frozen_losses(values: object) -> memoryview:
    """Losses as a read-only float32 buffer: 4 bytes a value, cheap to chart, impossible to change."""
    return memoryview(array("f", values)).toreadonly()


class RunFacts:
    """What a run's own fields say at a glance: a record and a live run alike."""

    state: RunState
    number: int
    config: TrainConfig
    total_steps: int
    losses: Sized
    loss_stride: int

    @property
    def active(self) -> bool:
        return self.state.active

    @property
    def label(self) -> str:
        return f"run {self.number}"

    @property
    def steps_trained(self) -> int:
        return len(self.losses) * self.loss_stride

    @property
    def steps_per_epoch(self) -> int:
        return self.total_steps // self.config.epochs


@dataclass(frozen=True)
class RunRecord(RunFacts):
    """A training run as a learner compares it and a checkpoint keeps it."""

    config: TrainConfig
    id: str = ""
    number: int = 0  # "run 3": its place among the session's runs
    start: str = ""  # where its weights came from: "from scratch, start seed 0", "the pretrained weights"...
    init_seed: int | None = None  # the start seed of a run from scratch: the same seed, the same first weights
    device: str = "cpu"  # the resolved device: "cuda:0", "cpu", ...
    state: RunState = RunState.STARTING
    message: str = ""
    total_steps: int = 0
    loss_stride: int = 1  # steps per value of `losses`: 1, or more for a run read from a checkpoint
    losses: memoryview = field(default_factory=lambda: frozen_losses(()))
    accuracy_points: tuple[tuple[int, float], ...] = ()  # (step, accuracy on the probe digits)
    epochs: tuple[EpochRecord, ...] = ()  # one per finished epoch
    end_accuracy: float | None = None  # test accuracy of the weights it ended with
    architecture: Architecture = TUTORIAL  # the network it trained

    def to_dict(self) -> dict:
        """Plain values, its losses averaged down to at most `MAX_CURVE_POINTS`."""
        losses = self.losses.tolist()
        k = max(1, -(-len(losses) // MAX_CURVE_POINTS))
        blocks = (losses[i : i + k] for i in range(0, len(losses), k))
        return {
            "id": self.id,
            "number": self.number,
            "start": self.start,
            "init_seed": self.init_seed,
            "config": self.config.to_dict(),
            "device": self.device,
            "state": str(self.state),
            "message": self.message,
            "total_steps": self.total_steps,
            "loss_stride": self.loss_stride * k,
            "losses": [_storable(sum(block) / len(block)) for block in blocks],
            "accuracy_points": [[step, accuracy] for step, accuracy in self.accuracy_points[:MAX_ACCURACY_POINTS]],
            "epochs": [{**record.to_dict(), "config": {}} for record in self.epochs[-MAX_RUN_EPOCHS:]],
            "end_accuracy": self.end_accuracy,
            **({"architecture": self.architecture.to_dict()} if self.architecture != TUTORIAL else {}),
        }

    @classmethod
    def from_dict(cls, raw: object) -> "RunRecord":
        """An ended run as a checkpoint keeps it, checked entry by entry."""
        if not isinstance(raw, dict) or not all(isinstance(key, str) for key in raw):
            raise ValueError("a run is not a dict of named values")
        keys = {f.name for f in fields(RunRecord)}
        if unknown := sorted(set(raw) - keys):
            raise ValueError(f"a run has unknown entries: {listed(unknown)}")
        if missing := sorted(keys - set(raw) - {"architecture"}):  # a run of the tutorial's network may not say
            raise ValueError(f"a run lacks {', '.join(missing)}")
        for key in ("id", "start", "device", "message"):
            _check(is_clean(raw[key], MAX_TEXT), key, f"plain text of at most {MAX_TEXT} characters")
        _check(_whole(raw["number"], 1, 10**6), "number", "a whole number from 1")
        _check(raw["init_seed"] is None or _whole(raw["init_seed"], 0, 2**31 - 1), "init_seed", "empty or a seed")
        _check(type(raw["state"]) is str and raw["state"] in ENDED, "state", f"one of {', '.join(sorted(ENDED))}")
        _check(_whole(raw["total_steps"], 0, 10**8), "total_steps", "a whole number of steps")
        _check(_whole(raw["loss_stride"], 1, 10**8), "loss_stride", "a whole number of steps")
        losses, points, epochs = raw["losses"], raw["accuracy_points"], raw["epochs"]
        _check(
            _numbers(losses, MAX_CURVE_POINTS, 0, LARGEST_LOSS),
            "losses",
            f"at most {MAX_CURVE_POINTS:,} losses, each a number float32 holds",
        )
        _check(
            isinstance(points, list)
            and len(points) <= MAX_ACCURACY_POINTS
            and all(isinstance(p, list | tuple) and len(p) == 2 and _whole(p[0], 0, 10**8) for p in points)
            and _numbers([p[1] for p in points], MAX_ACCURACY_POINTS, 0, 1),
            "accuracy_points",
            f"at most {MAX_ACCURACY_POINTS} pairs of a step and an accuracy from 0 to 1",
        )
        _check(isinstance(epochs, list) and len(epochs) <= MAX_RUN_EPOCHS, "epochs", f"at most {MAX_RUN_EPOCHS} epochs")
        end = raw["end_accuracy"]
        _check(end is None or _numbers([end], 1, 0, 1), "end_accuracy", "empty or an accuracy from 0 to 1")
        architecture = Architecture.from_dict(raw.get("architecture", {}))  # an ArchitectureError is a ValueError
        architecture.check()
        return cls(
            **{key: raw[key] for key in ("id", "number", "start", "init_seed", "device", "message", "total_steps")},
            config=run_config(raw["config"]),
            state=RunState(raw["state"]),
            loss_stride=raw["loss_stride"],
            losses=frozen_losses(losses),
            accuracy_points=tuple((int(step), float(accuracy)) for step, accuracy in points),
            epochs=tuple(EpochRecord.from_dict(record) for record in epochs),
            end_accuracy=end,
            architecture=architecture,
        )


def runs_from(raw: object) -> tuple[RunRecord, ...]:
    """A checkpoint's "runs", checked run by run."""
    if not isinstance(raw, list):
        raise ValueError("the runs are not a list")
    if len(raw) > MAX_RUNS:
        raise ValueError(f"it records {len(raw):,} runs; at most {MAX_RUNS} are kept")
    return tuple(RunRecord.from_dict(run) for run in raw)


def run_config(raw: object) -> TrainConfig:
    """A recorded run's settings as a `TrainConfig`: each of the type its field has."""
    values = plain_config(raw)
    for f in fields(TrainConfig):
        default = f.default
        allowed = (int, float) if type(default) is float else (str,) if isinstance(default, str) else (type(default),)
        _check(f.name not in values or type(values[f.name]) in allowed, f"config's {f.name}", "of the right kind")
    return TrainConfig(**values)


def _storable(loss: float) -> float:
    """A loss as a record keeps it: one that overflowed (inf, or NaN from inf - inf) as float32's largest."""
    return min(loss, LARGEST_LOSS) if math.isfinite(loss) else LARGEST_LOSS


def _check(ok: bool, key: str, what: str) -> None:
    if not ok:
        raise ValueError(f"a run's {key} is not {what}")


def _whole(value: object, low: int, high: int) -> bool:
    return type(value) is int and low <= value <= high


def _numbers(values: object, most: int, low: float, high: float) -> bool:
    return (
        isinstance(values, list)
        and len(values) <= most
        and all(type(v) in (int, float) and math.isfinite(v) and low <= v <= high for v in values)
    )
