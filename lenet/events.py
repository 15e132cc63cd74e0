"""What a training run reports as it goes, and the record of each epoch a model keeps."""

import math
from dataclasses import asdict, dataclass, field, fields, replace
from enum import StrEnum

from lenet.evaluate import Evaluation
from lenet.settings import plain_config
from lenet.snapshots import Snapshot
from lenet.text import described, listed


class Outcome(StrEnum):
    """How a run ended."""

    COMPLETED = "completed"
    STOPPED = "stopped"
    DIVERGED = "diverged"


@dataclass(frozen=True)
class Steps:
    """Losses of consecutive training steps, pulled from the device in one transfer."""

    epoch: int  # 1-based
    first_step: int  # 0-based index of losses[0] counted over the whole run
    losses: list[float]
    total_steps: int
    images_per_second: float  # this epoch so far


@dataclass(frozen=True)
class EpochEnd:
    epoch: int
    train_loss: float  # mean over the epoch's steps
    seconds: float  # training time of this epoch, evaluation excluded
    images_per_second: float
    evaluation: Evaluation


@dataclass(frozen=True)
class Finished:
    reason: Outcome
    message: str
    epochs_completed: int
    train_seconds: float
    images_per_second: float
    evaluation: Evaluation
    optimizer_state: dict = field(repr=False)


Event = Steps | EpochEnd | Finished | Snapshot


@dataclass(frozen=True)
class EpochRecord:
    """One line of a model's training history, as checkpoints and the app keep it."""

    epoch: int  # counted over the model's whole history, inherited epochs included
    test_accuracy: float  # 0-1
    train_loss: float | None = None  # optional: checkpoints written by other tools may lack them
    seconds: float | None = None
    images_per_second: float | None = None
    config: dict = field(default_factory=dict)  # the run's TrainConfig, as plain values

    @classmethod
    def of(cls, event: EpochEnd, number: int, config: dict) -> "EpochRecord":
        return cls(
            epoch=number,
            test_accuracy=event.evaluation.accuracy,
            train_loss=event.train_loss,
            seconds=event.seconds,
            images_per_second=event.images_per_second,
            config=config,
        )

    def to_dict(self) -> dict:
        """The checkpoint's form: a plain dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: object) -> "EpochRecord":
        """A record as a checkpoint holds it, checked; ValueError says what is wrong."""
        if not isinstance(raw, dict) or not all(isinstance(key, str) for key in raw):
            raise ValueError("a history entry is not a dict of named values")
        known = {f.name for f in fields(cls)}
        if unknown := sorted(set(raw) - known):
            raise ValueError(f"a history entry has unknown keys: {listed(unknown)}")
        if not {"epoch", "test_accuracy"} <= set(raw):
            raise ValueError("a history entry lacks its epoch or test accuracy")
        record = cls(**raw)
        if type(record.test_accuracy) not in (int, float) or not 0 <= record.test_accuracy <= 1:
            raise ValueError(
                f"a history entry's test accuracy is not between 0 and 1: {described(record.test_accuracy)}"
            )
        numbers = (record.train_loss, record.seconds, record.images_per_second)
        if type(record.epoch) is not int or record.epoch < 1:
            raise ValueError(f"a history entry's epoch is not a positive whole number: {described(record.epoch)}")
        if not all(n is None or (type(n) in (int, float) and math.isfinite(n) and n >= 0) for n in numbers):
            raise ValueError("a history entry holds a value that is not a finite, non-negative number")
        return replace(record, config=plain_config(record.config))
