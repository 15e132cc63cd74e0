"""A training run as a page draws it: its state, losses and epochs, written under its lock."""

import threading
from dataclasses import dataclass, field, replace
from enum import StrEnum

from lenet.data import TRAIN_IMAGES
from lenet.evaluate import Evaluation
from lenet.events import EpochRecord
from lenet.settings import TrainConfig


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


@dataclass(eq=False)
class TrainingRun:
    """What a page needs to draw a run; written by the training thread under `lock`."""

    config: TrainConfig
    device: str = "cpu"  # the resolved device: "cuda:0", "cpu", ...
    first_epoch: int = 1  # the number its first epoch has in the model's history
    state: RunState = RunState.STARTING
    message: str = ""
    losses: list[float] = field(default_factory=list)
    total_steps: int = 0
    epoch: int = 0
    images_per_second: float = 0.0
    epochs: list[EpochRecord] = field(default_factory=list)  # one record per finished epoch
    evaluation: Evaluation | None = None
    optimizer_state: dict | None = field(default=None, repr=False)  # the momentum, once the run has ended
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    stop_requested: threading.Event = field(default_factory=threading.Event, repr=False)
    thread: threading.Thread | None = field(default=None, repr=False)
    owner_missing_since: float | None = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        return self.state.active

    def view(self) -> "TrainingRun":
        """A consistent copy of the run for drawing, taken under the lock (its losses too: for charts)."""
        with self.lock:
            return replace(self, losses=list(self.losses), epochs=list(self.epochs))

    def epochs_so_far(self) -> list[EpochRecord]:
        """The records of its finished epochs, without copying every loss as `view` does."""
        with self.lock:
            return list(self.epochs)

    def partial_steps(self) -> int:
        """Steps trained beyond its whole epochs: a stopped run's last, unfinished epoch."""
        with self.lock:
            return len(self.losses) - len(self.epochs) * self.steps_per_epoch if self.total_steps else 0

    def final_accuracy(self) -> float | None:
        """Test accuracy of the model it left, once it has ended; None while it goes on."""
        with self.lock:
            ended = not self.state.active and self.evaluation is not None
            return self.evaluation.accuracy if ended else None

    @property
    def steps_per_epoch(self) -> int:
        return self.total_steps // self.config.epochs

    def images_left(self) -> int:
        """Images this run has still to train on (all of them while it waits)."""
        images = self.config.train_subset or TRAIN_IMAGES
        batch = min(self.config.batch_size, images)
        return max(0, (self.config.epochs * (images // batch) - len(self.losses)) * batch)

    def seconds_left(self) -> float | None:
        done = len(self.losses)
        if not done or not self.images_per_second:
            return None
        return (self.total_steps - done) * self.config.batch_size / self.images_per_second
