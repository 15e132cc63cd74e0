"""The server-wide limit on runs that train at once, and the line of runs waiting for a turn.

Runs take turns: while others wait, a run trains for at most `TURN_S`, then goes to the back of the
line, so a class that presses Start together sees every chart move within a few turns, and one
learner's 30-epoch run cannot hold the only slot for half an hour.
"""

import os
import threading
import time
from collections.abc import Callable

import torch

from lenet.network.architecture import TUTORIAL, Architecture
from lenet.network.data import TRAIN_IMAGES
from lenet.service.refusals import Refused
from lenet.training.devices import available_cores, resolve_device
from lenet.training.settings import TrainConfig


def default_max_runs() -> int:
    """Runs that train at once on this server: `LENET_MAX_RUNS`, else one per four cores, at least one."""
    return max(1, int(os.environ.get("LENET_MAX_RUNS") or available_cores() // 4))


TURN_S = 5.0  # while others wait, a run trains this long, then lets the next in line train
# The largest run the form allows: 30 epochs of 60,000 digits at batch 16. Larger ones (batch 1 from
# a crafted record) are refused before they reach the line.
MAX_RUN_STEPS = 30 * (60_000 // 16)
# The largest batch the form offers. A step's memory grows with its batch (measured, bf16 on a CPU): 1,024
# digits take 64 MB, 8,192 take 340 MB, 60,000 (a crafted record) about 2.5 GB on a server of 2.7 GB.
MAX_RUN_BATCH = 1_024


def largest_batch(arch: Architecture) -> int:
    """The largest batch a run of network `arch` may take: a step's memory goes by its batch times the numbers
    one digit's forward pass makes, so a network bigger than the tutorial's takes fewer digits a step."""
    return max(1, min(MAX_RUN_BATCH, MAX_RUN_BATCH * TUTORIAL.values // arch.values))


def refusal(config: TrainConfig, arch: Architecture) -> str | None:
    """Why a run of `config` on network `arch` is too large for a shared server, or None."""
    if config.batch_size > (most := largest_batch(arch)):
        network = "one" if arch == TUTORIAL else "this network's"
        return (
            f"A batch of {config.batch_size:,} digits would take more memory than a shared server gives {network} "
            f"run: at most {most:,}."
        )
    if (steps := run_steps(config)) > MAX_RUN_STEPS:
        return (
            f"That run would take {steps:,} SGD steps; a shared server trains at most {MAX_RUN_STEPS:,} in one "
            "run (30 epochs of 60,000 digits at batch 16): choose a larger batch, fewer epochs or fewer images."
        )
    return None


def startable(config: TrainConfig, arch: Architecture) -> torch.device:
    """The device a run of `config` on network `arch` trains on; `Refused` for one too large (a ValueError for a
    device this machine lacks): what `Workspace.start` refuses, asked too before a model is replaced to train."""
    if why := refusal(config, arch):
        raise Refused(why)
    return resolve_device(config.device)


def run_steps(config: TrainConfig) -> int:
    """The SGD steps a run of `config` takes: its size, as the line sees it."""
    images = config.train_subset or TRAIN_IMAGES
    return config.epochs * (images // min(config.batch_size, images))


class RunSlots:
    """At most `limit` runs train at once; later runs wait in line, and runs take turns of `turn_s`.

    Runs are compared by identity: a `TrainingRun` is an entity.
    """

    def __init__(self, limit: int, turn_s: float = TURN_S):
        self.limit = limit
        self.turn_s = turn_s
        self._changed = threading.Condition()
        self._training: list[object] = []
        self._line: list[object] = []
        self._turn_started: dict[int, float] = {}  # id(run) -> when its turn began

    def wait_for_turn(self, run: object, give_up: Callable[[], bool]) -> bool:
        """Block until `run` may train (True) or `give_up()` says to stop waiting (False)."""
        with self._changed:
            self._line.append(run)
            while not (self._line[0] is run and len(self._training) < self.limit):
                if give_up():
                    self._line.remove(run)
                    self._changed.notify_all()
                    return False
                self._changed.wait(0.2)
            self._line.pop(0)
            self._training.append(run)
            self._turn_started[id(run)] = time.monotonic()
            self._changed.notify_all()
            return True

    def turn_over(self, run: object) -> bool:
        """Asked by a training run between chunks: True, and its slot given up, once it has trained
        `turn_s` while another run waits; it then waits for its next turn (`wait_for_turn`)."""
        with self._changed:
            if not self._line or time.monotonic() - self._turn_started.get(id(run), 0.0) < self.turn_s:
                return False
            self._release(run)
            return True

    def turn_left_s(self, run: object) -> float:
        """What is left of `run`'s turn: all of it for a run not training now."""
        with self._changed:
            started = self._turn_started.get(id(run))
            return self.turn_s if started is None else max(0.0, self.turn_s - (time.monotonic() - started))

    def leave(self, run: object) -> None:
        with self._changed:
            self._release(run)

    def _release(self, run: object) -> None:
        if run in self._training:
            self._training.remove(run)
            self._turn_started.pop(id(run), None)
        self._changed.notify_all()

    def place(self, run: object) -> int | None:
        """1 for the next run to train, 2 after it...; None when not waiting."""
        with self._changed:
            return self._line.index(run) + 1 if run in self._line else None

    def ahead(self, run: object) -> list[object]:
        """The runs that take a turn before `run` does: those training, then those before it in line."""
        with self._changed:
            line = self._line[: self._line.index(run)] if run in self._line else []
            return [*self._training, *line]

    def busy(self) -> tuple[int, int]:
        """(runs training, runs waiting) on this server."""
        with self._changed:
            return len(self._training), len(self._line)


SLOTS = RunSlots(default_max_runs())


def training_threads(slots: RunSlots = SLOTS) -> int:
    """Torch threads for a run inside the app: one core stays free for the server, the rest is shared.

    With every core busy, OpenMP's threads wait on each other and a run slows many times over
    (docs/measurements/2026-11-27-training-speed.md has the figures), so the server and the browser
    keep a core.
    """
    return max(1, (available_cores() - 1) // slots.limit)
