"""A live training run: what its thread reports, written under its lock; pages draw frozen views of it."""

import threading
import uuid
from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType

from lenet.network.architecture import TUTORIAL, Architecture
from lenet.network.evaluate import Evaluation
from lenet.service.slots import SLOTS, RunSlots
from lenet.store.records import MAX_TEXT, EpochRecord, RunFacts, RunRecord, RunState
from lenet.text import clean
from lenet.training.events import EpochEnd, Event, Finished, Steps
from lenet.training.settings import TrainConfig
from lenet.training.snapshots import Snapshot


@dataclass(frozen=True)
class RunView(RunRecord):
    """A run as a page draws it: its record so far, and what only a live run has."""

    first_epoch: int = 1  # the number its first epoch has in the model's history
    epoch: int = 0  # the epoch it trains now
    images_per_second: float = 0.0
    evaluation: Evaluation | None = None
    snapshots: tuple[Snapshot, ...] = ()  # for the time machine
    # epoch -> accuracy on the learner's digits
    hand_by_epoch: Mapping[int, float] = field(default_factory=lambda: MappingProxyType({}))
    hand_before: Mapping | None = None  # for "teach it my hand": both accuracies before it

    def seconds_left(self) -> float | None:
        return _seconds_left(len(self.losses), self.total_steps, self.config.batch_size, self.images_per_second)

    def hand_at(self, record: EpochRecord) -> float | None:
        """The accuracy on the learner's digits at the end of one of its epochs (numbered in the model's history)."""
        return self.hand_by_epoch.get(record.epoch - self.first_epoch + 1)


def _seconds_left(done: int, total: int, batch_size: int, images_per_second: float) -> float | None:
    """Training time left at the speed so far; None before the first steps."""
    return (total - done) * batch_size / images_per_second if done and images_per_second else None


class TrainingRun(RunFacts):
    """A run of the session, live or ended. Its training thread writes it under `lock`; everything a
    page reads comes from `view()`, a frozen copy taken under the lock."""

    def __init__(
        self,
        config: TrainConfig,
        device: str = "cpu",
        first_epoch: int = 1,
        number: int = 0,
        start: str = "",
        init_seed: int | None = None,
        record: RunRecord | None = None,
        architecture: Architecture = TUTORIAL,
    ):
        record = record or RunRecord(
            config,
            id=uuid.uuid4().hex[:12],
            number=number,
            start=start,
            init_seed=init_seed,
            device=device,
            architecture=architecture,
        )
        self.config, self.id, self.start, self.init_seed = record.config, record.id, record.start, record.init_seed
        self.device, self.first_epoch, self.number = record.device, first_epoch, record.number
        self.architecture = record.architecture
        self.lock = threading.Lock()
        self.stop_requested = threading.Event()
        self.thread: threading.Thread | None = None
        # Written under the lock:
        self.state, self.message = record.state, record.message
        self.losses = array("f", record.losses)  # float32: 4 bytes a step
        self.loss_stride, self.total_steps = record.loss_stride, record.total_steps
        self.epochs: list[EpochRecord] = list(record.epochs)
        self.accuracy_points: list[tuple[int, float]] = list(record.accuracy_points)
        self.end_accuracy = record.end_accuracy
        self.epoch, self.images_per_second = 0, 0.0
        self.evaluation: Evaluation | None = None
        self.optimizer_state: dict | None = None  # the momentum, once the run has ended
        self.snapshots: list[Snapshot] = []
        self.hand_by_epoch: dict[int, float] = {}
        self.hand_before: dict | None = None

    @classmethod
    def ended(cls, record: RunRecord) -> "TrainingRun":
        """A run read from a checkpoint."""
        return cls(record.config, record=record)

    def view(self) -> RunView:
        """A consistent, frozen copy of the run, taken under the lock."""
        with self.lock:
            values = {f.name: getattr(self, f.name) for f in fields(RunView)}
            return RunView(
                **{
                    **values,
                    "losses": memoryview(self.losses[:]).toreadonly(),
                    "epochs": tuple(self.epochs),
                    "accuracy_points": tuple(self.accuracy_points),
                    "snapshots": tuple(self.snapshots),
                    "hand_by_epoch": MappingProxyType(dict(self.hand_by_epoch)),
                    "hand_before": None if self.hand_before is None else MappingProxyType(dict(self.hand_before)),
                }
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

    def snapshot_steps(self) -> list[int]:
        with self.lock:
            return [snapshot.step for snapshot in self.snapshots]

    def kept_snapshots(self) -> tuple[Snapshot, ...]:
        """Its snapshots, without copying every loss as `view` does (the time machine asks each page run)."""
        with self.lock:
            return tuple(self.snapshots)

    def snapshot_at(self, step: int) -> Snapshot | None:
        with self.lock:
            return next((snapshot for snapshot in self.snapshots if snapshot.step == step), None)

    def set_state(self, state: RunState, message: str = "") -> None:
        with self.lock:
            self.state, self.message = state, clean(message, MAX_TEXT)

    def record(self, event: Event) -> None:
        """What `fit` reports (from the training thread)."""
        with self.lock:
            if isinstance(event, Snapshot):
                self.snapshots.append(event)
            elif isinstance(event, Steps):
                self.losses.extend(event.losses)
                self.total_steps, self.epoch = event.total_steps, event.epoch
                self.images_per_second = event.images_per_second
            elif isinstance(event, EpochEnd):
                number = self.first_epoch + event.epoch - 1
                self.epochs.append(EpochRecord(number, **event.summary(), config=self.config.to_dict()))
                self.evaluation = event.evaluation
            elif isinstance(event, Finished):
                self.state, self.message = RunState(event.reason), clean(event.message, MAX_TEXT)
                self.evaluation, self.optimizer_state = event.evaluation, event.optimizer_state
                self.end_accuracy = event.evaluation.accuracy

    def record_hand(self, epoch: int, accuracy: float) -> None:
        """The accuracy on the learner's own digits at the end of `epoch` (from the training thread)."""
        with self.lock:
            self.hand_by_epoch[epoch] = accuracy

    def record_hand_before(self, before: dict) -> None:
        """Both accuracies before "teach it my hand" trains (from the page that starts it)."""
        with self.lock:
            self.hand_before = dict(before)

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

    def seconds_left(self) -> float | None:
        with self.lock:
            return _seconds_left(len(self.losses), self.total_steps, self.config.batch_size, self.images_per_second)


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


def wall_seconds_left(run: TrainingRun | RunView, slots: RunSlots = SLOTS) -> float | None:
    """Roughly how long until `run` ends, by the clock: runs taking turns each train a share of the time."""
    left = run.seconds_left()
    return None if left is None else left * max(1.0, sum(slots.busy()) / slots.limit)
