"""A training run as a page draws it: its state, losses, epochs and snapshots, written under its lock."""

import threading
import uuid
from array import array
from dataclasses import dataclass, field, replace
from enum import StrEnum

from lenet.data import TRAIN_IMAGES
from lenet.evaluate import Evaluation
from lenet.events import EpochEnd, EpochRecord, Event, Finished, Steps
from lenet.settings import TrainConfig
from lenet.slots import SLOTS, RunSlots
from lenet.snapshots import Snapshot
from lenet.text import clean

MAX_TEXT = 200  # characters of any text a run keeps (its start, its message): what its record may hold


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
    losses: array = field(default_factory=lambda: array("f"))  # float32: 4 bytes a step
    loss_stride: int = 1  # steps per value of `losses`: 1, or more for a run read from a checkpoint
    total_steps: int = 0
    epoch: int = 0
    images_per_second: float = 0.0
    epochs: list[EpochRecord] = field(default_factory=list)  # one record per finished epoch
    evaluation: Evaluation | None = None
    end_accuracy: float | None = None  # test accuracy of the weights it ended with
    optimizer_state: dict | None = field(default=None, repr=False)  # the momentum, once the run has ended
    number: int = 0  # "run 3": its place among the session's runs
    start: str = ""  # where its weights came from: "from scratch, start seed 0", "the pretrained weights"...
    init_seed: int | None = None  # the start seed of a run from scratch: the same seed, the same first weights
    snapshots: list[Snapshot] = field(default_factory=list, repr=False)  # for the time machine
    accuracy_points: list[tuple[int, float]] = field(default_factory=list)  # (step, accuracy on the probe digits)
    hand_by_epoch: dict[int, float] = field(default_factory=dict)  # epoch -> accuracy on the learner's digits
    hand_before: dict | None = None  # for "teach it my hand": both accuracies before it
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    stop_requested: threading.Event = field(default_factory=threading.Event, repr=False)
    thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        return self.state.active

    def view(self) -> "TrainingRun":
        """A consistent copy of the run for drawing, taken under the lock (its losses too: for charts)."""
        with self.lock:
            return replace(
                self,
                losses=self.losses[:],
                epochs=list(self.epochs),
                snapshots=list(self.snapshots),
                accuracy_points=list(self.accuracy_points),
                hand_by_epoch=dict(self.hand_by_epoch),
            )

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
            return self.end_accuracy if not self.state.active else None

    @property
    def steps_trained(self) -> int:
        return len(self.losses) * self.loss_stride

    @property
    def label(self) -> str:
        return f"run {self.number}"

    def snapshot_steps(self) -> list[int]:
        with self.lock:
            return [snapshot.step for snapshot in self.snapshots]

    def snapshot_at(self, step: int) -> Snapshot | None:
        with self.lock:
            return next((snapshot for snapshot in self.snapshots if snapshot.step == step), None)

    def set_state(self, state: RunState, message: str = "") -> None:
        with self.lock:
            self.state, self.message = state, clean(message, MAX_TEXT)

    def record(self, event: Event) -> None:
        """What `fit` reports, written under the lock (from the training thread)."""
        with self.lock:
            if isinstance(event, Snapshot):
                self.snapshots.append(event)
            elif isinstance(event, Steps):
                self.losses.extend(event.losses)
                self.total_steps, self.epoch = event.total_steps, event.epoch
                self.images_per_second = event.images_per_second
            elif isinstance(event, EpochEnd):
                self.epochs.append(EpochRecord.of(event, self.first_epoch + event.epoch - 1, self.config.to_dict()))
                self.evaluation = event.evaluation
            elif isinstance(event, Finished):
                self.state, self.message = RunState(event.reason), clean(event.message, MAX_TEXT)
                self.evaluation, self.optimizer_state = event.evaluation, event.optimizer_state
                self.end_accuracy = event.evaluation.accuracy

    def record_hand(self, epoch: int, accuracy: float) -> None:
        """The accuracy on the learner's own digits at the end of `epoch` (from the training thread)."""
        with self.lock:
            self.hand_by_epoch[epoch] = accuracy

    def measured(self, snapshot: Snapshot) -> None:
        """`snapshot` again, with its accuracy: it takes the unmeasured one's place, if that is still kept."""
        with self.lock:
            self.snapshots = [snapshot if s.step == snapshot.step else s for s in self.snapshots]
            self.accuracy_points = sorted([*self.accuracy_points, (snapshot.step, snapshot.accuracy)])

    def retire(self) -> None:
        """Once another run has started: drop what only the latest run needs, its 10,000 test
        predictions and its momentum (330 KB); a comparison needs neither."""
        with self.lock:
            self.evaluation = self.optimizer_state = None

    def forget_snapshots(self) -> None:
        with self.lock:
            self.snapshots = []

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


def place_in_line(run: TrainingRun | None, slots: RunSlots = SLOTS) -> int | None:
    """Where `run` waits for a training slot: 1 is next; None when not waiting."""
    return slots.place(run) if run is not None else None


def expected_wait_s(run: TrainingRun | None, slots: RunSlots = SLOTS) -> float:
    """Roughly how long until `run` trains: every run ahead of it takes a turn (those training now,
    what is left of theirs), or less if it ends sooner; 0 when it is not waiting."""
    if place_in_line(run, slots) is None:
        return 0.0
    turns = [min(slots.turn_left_s(other), other.seconds_left() or slots.turn_s) for other in slots.ahead(run)]
    return sum(turns) / slots.limit


def wall_seconds_left(run: TrainingRun, slots: RunSlots = SLOTS) -> float | None:
    """Roughly how long until `run` ends, by the clock: runs taking turns each train a share of the time."""
    left = run.seconds_left()
    return None if left is None else left * max(1.0, sum(slots.busy()) / slots.limit)
