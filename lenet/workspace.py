"""One person's model, its optimizer state, history and training run, independent of any UI.

Training runs in a background thread that never touches the UI: it writes into a lock-protected
`TrainingRun` that a page reads whenever it redraws. Inference always uses a published copy of
the weights, so it sees a consistent model even while a run changes the real one.
"""

import copy
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from lenet.data import Mnist, load_mnist
from lenet.evaluate import Evaluation
from lenet.model import Net
from lenet.train import EpochEnd, Finished, Steps, TrainConfig, epoch_record, fit, resolve_device


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


def default_max_runs() -> int:
    """Runs that train at once on this server: `LENET_MAX_RUNS`, else one per four cores, at least one."""
    return max(1, int(os.environ.get("LENET_MAX_RUNS") or available_cores() // 4))


class RunSlots:
    """The server-wide limit on runs training at once; later runs wait in line, first come first served."""

    def __init__(self, limit: int):
        self.limit = limit
        self._changed = threading.Condition()
        self._training: set[int] = set()
        self._line: list[int] = []

    def wait_for_turn(self, run: "TrainingRun", give_up: Callable[[], bool]) -> bool:
        """Block until `run` may train (True) or `give_up()` says to stop waiting (False)."""
        key = id(run)
        with self._changed:
            self._line.append(key)
            while not (self._line[0] == key and len(self._training) < self.limit):
                if give_up():
                    self._line.remove(key)
                    self._changed.notify_all()
                    return False
                self._changed.wait(0.2)
            self._line.pop(0)
            self._training.add(key)
            self._changed.notify_all()
            return True

    def leave(self, run: "TrainingRun") -> None:
        with self._changed:
            self._training.discard(id(run))
            self._changed.notify_all()

    def place(self, run: "TrainingRun") -> int | None:
        """1 for the next run to train, 2 after it...; None when not waiting."""
        with self._changed:
            return self._line.index(id(run)) + 1 if id(run) in self._line else None

    def busy(self) -> tuple[int, int]:
        """(runs training, runs waiting) on this server."""
        with self._changed:
            return len(self._training), len(self._line)


SLOTS = RunSlots(default_max_runs())
OWNER_GRACE_S = 3.0  # a run whose browser session is gone this long is stopped


def training_threads(slots: RunSlots = SLOTS) -> int:
    """Torch threads for a run inside the app: one core stays free for the server, the rest is shared.

    With every core busy, OpenMP's threads wait on each other: measured on 2 cores with a browser on
    the same machine, a run with 2 threads trained at 900 images/s, with 1 thread at 9,800.
    """
    return max(1, (available_cores() - 1) // slots.limit)


@dataclass
class TrainingRun:
    """What a page needs to draw a run; written by the training thread under `lock`."""

    config: TrainConfig
    device: str = "cpu"  # the resolved device: "cuda:0", "cpu", ...
    state: str = "starting"  # starting, queued, loading data, training; completed, stopped, diverged, failed
    message: str = ""
    losses: list[float] = field(default_factory=list)
    total_steps: int = 0
    epoch: int = 0
    images_per_second: float = 0.0
    epochs: list[dict] = field(default_factory=list)  # one record per finished epoch
    evaluation: Evaluation | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    stop_requested: threading.Event = field(default_factory=threading.Event, repr=False)
    thread: threading.Thread | None = field(default=None, repr=False)
    owner_missing_since: float | None = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        return self.state in ("starting", "queued", "loading data", "training")

    def view(self) -> "TrainingRun":
        """A consistent copy of the run for drawing, taken under the lock."""
        with self.lock:
            return replace(self, losses=list(self.losses), epochs=list(self.epochs))

    @property
    def steps_per_epoch(self) -> int:
        return self.total_steps // self.config.epochs

    def seconds_left(self) -> float | None:
        done = len(self.losses)
        if not done or not self.images_per_second:
            return None
        return (self.total_steps - done) * self.config.batch_size / self.images_per_second


class Workspace:
    """A model with everything that belongs to it: one per browser session."""

    def __init__(self, state_dict: dict | None, origin: str):
        self.model = Net()
        if state_dict is not None:
            self.model.load_state_dict(state_dict)
        self.origin = origin  # "pretrained", "random init" or "uploaded"
        self.history: list[dict] = []  # epoch records of every run on this model
        self.inherited_epochs = 0  # how many of them came with the loaded weights
        self.optimizer_state: dict | None = None
        self.run: TrainingRun | None = None
        self._published = copy.deepcopy(self.model)
        self.owner_alive: Callable[[], bool] = lambda: True  # the app sets it: is the browser session still there?

    @property
    def training(self) -> bool:
        return self.run is not None and self.run.active

    @property
    def epochs_trained_here(self) -> int:
        return len(self.history) - self.inherited_epochs

    @property
    def last_accuracy(self) -> float | None:
        return self.history[-1]["test_accuracy"] if self.history else None

    def inference_model(self) -> Net:
        """A CPU copy of the weights that no run changes; replaced, never mutated, as a run goes on."""
        return self._published

    def reset(self, state_dict: dict | None, origin: str) -> None:
        if self.training:
            raise RuntimeError("Stop the training run before resetting the model.")
        owner_alive = self.owner_alive
        self.__init__(state_dict, origin)
        self.owner_alive = owner_alive

    def load(self, state_dict: dict, origin: str, history: list[dict]) -> None:
        self.reset(state_dict, origin)
        self.history = list(history)
        self.inherited_epochs = len(history)

    def start(
        self, config: TrainConfig, data: Callable[[], Mnist] = load_mnist, slots: RunSlots = SLOTS
    ) -> TrainingRun:
        """Start training in a background thread, once `slots` has room; refused while a run is going."""
        if self.training:
            raise RuntimeError("A run is already going: stop it first.")
        device = resolve_device(config.device)  # fails here, in the caller, for a device this machine lacks
        self.run = run = TrainingRun(config, device=str(device))
        run.thread = threading.Thread(target=self._train, args=(run, data, slots), name="lenet-training", daemon=True)
        run.thread.start()
        return run

    def stop(self, wait: float = 0.0) -> None:
        if self.run is not None:
            self.run.stop_requested.set()
            if wait and self.run.thread is not None:
                self.run.thread.join(wait)

    def _publish(self) -> None:
        snapshot = Net()
        snapshot.load_state_dict({k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()})
        self._published = snapshot

    def _owner_gone(self, run: TrainingRun) -> bool:
        """True once the browser session has been gone for OWNER_GRACE_S; then the run stops itself."""
        if self.owner_alive():
            run.owner_missing_since = None
            return False
        run.owner_missing_since = run.owner_missing_since or time.monotonic()
        if time.monotonic() - run.owner_missing_since < OWNER_GRACE_S:
            return False
        run.stop_requested.set()
        return True

    def _train(self, run: TrainingRun, data: Callable[[], Mnist], slots: RunSlots) -> None:
        with run.lock:
            run.state = "queued"
        if not slots.wait_for_turn(run, lambda: run.stop_requested.is_set() or self._owner_gone(run)):
            with run.lock:
                run.state, run.message = "stopped", "stopped while waiting for a training slot"
            return
        try:
            with run.lock:
                run.state = "loading data"
            mnist = data()
            torch.set_num_threads(training_threads(slots))
            with run.lock:
                run.state = "training"
            for event in fit(self.model, run.config, mnist, run.stop_requested, self.optimizer_state):
                self._record(run, event)
                self._owner_gone(run)
        except Exception as error:  # shown on the page; the thread must never die silently
            with run.lock:
                run.state, run.message = "failed", f"{type(error).__name__}: {error}"
        finally:
            slots.leave(run)
            self.model.to("cpu")
            self._publish()

    def _record(self, run: TrainingRun, event: Steps | EpochEnd | Finished) -> None:
        if isinstance(event, Steps):
            with run.lock:
                run.losses.extend(event.losses)
                run.total_steps, run.epoch = event.total_steps, event.epoch
                run.images_per_second = event.images_per_second
            self._publish()
        elif isinstance(event, EpochEnd):
            record = epoch_record(event, len(self.history) + 1, run.config)
            self.history.append(record)
            with run.lock:
                run.epochs.append(record)
                run.evaluation = event.evaluation
        else:
            self.optimizer_state = event.optimizer_state
            with run.lock:
                run.state, run.message, run.evaluation = event.reason, event.message, event.evaluation
