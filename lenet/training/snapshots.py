"""A run's weights at chosen steps, and its accuracy there: what the time machine scrubs through.

A network changes most in its first steps, so the plan is dense early: after 0, 1, 2, 4, 8, ...
steps, then at every epoch's end and at the run's last step. Weights are kept in float16 (162 KB
for LeNet), at most `MAX_SNAPSHOTS` a run, so a run's snapshots stay under 4 MB.

Copies are taken between two stepper calls (on CUDA, between graph replays: the graph is never
broken) into device tensors, without waiting for the device, and moved to the CPU when the run
pulls its losses, which waits for the device anyway. Their accuracy on the same 1,000 test digits
(every tenth), measured on the float16 weights the time machine shows, costs 30-40 ms each on a
CPU core: the one `PROBE` thread of the process does it, beside the training thread, not in it.
"""

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
from torch import nn

from lenet.network.architecture import TUTORIAL, Architecture
from lenet.network.data import normalise
from lenet.network.evaluate import evaluate
from lenet.network.model import Net, within_bounds
from lenet.workers import QueueWorker

MAX_SNAPSHOT_BYTES = 4 * 1024 * 1024


def most_snapshots(arch: Architecture = TUTORIAL) -> int:
    """How many float16 snapshots of `arch` a run keeps within `MAX_SNAPSHOT_BYTES`: 25 of the tutorial's
    network, fewer of a bigger one (one of the largest), never none."""
    return max(1, MAX_SNAPSHOT_BYTES // (2 * arch.parameter_count))


MAX_SNAPSHOTS = most_snapshots()  # 25
PROBE_EVERY = 10  # the accuracy probe: test digits 0, 10, 20, ...: 1,000 of the 10,000
PROBE_BATCH = 250  # four batches: a quarter of the memory of one, as fast on the CPU


@dataclass(frozen=True, eq=False)
class Snapshot:
    """The weights after `step` steps of a run, and their accuracy on the probe digits."""

    step: int
    weights: dict[str, torch.Tensor]  # float16, on the CPU
    accuracy: float | None = None  # 0-1, on the 1,000 probe digits, once `PROBE` has measured it
    arch: Architecture = TUTORIAL  # the network the weights are of

    def model(self) -> Net:
        """A CPU model with these weights, for inference."""
        model = Net(self.arch)
        model.load_state_dict(self.weights)
        return model.eval()

    @property
    def nbytes(self) -> int:
        return sum(t.nbytes for t in self.weights.values())


def plan(total_steps: int, steps_per_epoch: int, limit: int = MAX_SNAPSHOTS) -> list[int]:
    """The steps to keep: 0 and the powers of two, and the epochs' ends, the run's last step among
    them (thinned evenly when there are too many, the last always kept); at most `limit` in all (for a
    big network's few: evenly from the first step to the last)."""
    early = [0] + [2**k for k in range(total_steps.bit_length()) if 2**k < total_steps]
    ends = [step for step in range(steps_per_epoch, total_steps, steps_per_epoch) if step not in early]
    ends.append(total_steps)
    room = max(1, limit - len(early))
    if len(ends) > room:
        ends = [ends[round((i + 1) * len(ends) / room) - 1] for i in range(room)]
    steps = sorted({*early, *ends})
    if len(steps) > limit:  # too few for even the early steps: spread over the run, the last one kept
        steps = sorted({steps[round(i * (len(steps) - 1) / max(1, limit - 1))] for i in range(limit)} | {total_steps})
        steps = steps[-limit:]
    return steps


def probe(images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The fixed 1,000 test digits every snapshot is measured on."""
    return images[::PROBE_EVERY], labels[::PROBE_EVERY]


class SnapshotTaker:
    """Takes a run's snapshots as `fit` reaches the planned steps."""

    def __init__(self, model: nn.Module, steps: list[int]):
        self.model = model
        self.due = deque(steps)
        self.pending: list[tuple[int, dict[str, torch.Tensor]]] = []
        self.taken: set[int] = set()  # the steps of the snapshots pending or collected

    def steps_to_next(self, step: int) -> int | None:
        """How many steps from `step` to the next planned one; None when none is left."""
        while self.due and self.due[0] < step:
            self.due.popleft()
        return self.due[0] - step if self.due else None

    def take(self, step: int, planned_only: bool = True) -> None:
        """Copy the weights, which are those after `step` steps, if the plan asks for them (or always)."""
        if self.due and self.due[0] == step:
            self.due.popleft()
        elif planned_only or step in self.taken:
            return
        weights = {k: v.detach().to(torch.float16, copy=True) for k, v in self.model.state_dict().items()}
        self.pending.append((step, weights))
        self.taken.add(step)

    def collect(self, finite: bool = True) -> list[Snapshot]:
        """The snapshots taken since the last call, on the CPU; all dropped if the run's weights left their
        bounds meanwhile, and each one whose own float16 weights did (they overflow at 65,504)."""
        pending, self.pending = self.pending, []
        cpu = {"device": "cpu", "memory_format": torch.contiguous_format}
        kept = [(step, {k: v.to(**cpu) for k, v in weights.items()}) for step, weights in pending] if finite else []
        kept = [(step, weights) for step, weights in kept if all(within_bounds(w) for w in weights.values())]
        self.taken -= {step for step, _ in pending} - {step for step, _ in kept}
        return [Snapshot(step, weights, arch=self.model.arch) for step, weights in kept]


@torch.inference_mode()
def accuracy(snapshot: Snapshot, images: torch.Tensor, labels: torch.Tensor, scratch: nn.Module | None = None) -> float:
    """The snapshot's accuracy on uint8 digits (N, 1, 32, 32) on the CPU, as `evaluate` would measure it.

    `scratch`, a channels-last `Net` to load the weights into, spares the thread that measures every
    snapshot the Python work of a new model and of `evaluate`'s copy (it holds the GIL the run needs).
    """
    if scratch is None or scratch.arch != snapshot.arch:
        return evaluate(snapshot.model(), images, labels).accuracy
    scratch.load_state_dict(snapshot.weights)
    right = sum(
        int((scratch(normalise(images[i : i + PROBE_BATCH])).argmax(1) == labels[i : i + PROBE_BATCH]).sum())
        for i in range(0, len(images), PROBE_BATCH)
    )
    return right / len(images)


Job = tuple[Snapshot, torch.Tensor, torch.Tensor, Callable[[Snapshot], None]]


class AccuracyProbe(QueueWorker):
    """One thread per process measures snapshots in the order they come, each handed back measured.

    A run in the app trains on all cores but one, which serves the pages: this thread works on
    that one while a run goes on, so the run loses (almost) nothing to it.
    """

    def __init__(self) -> None:
        super().__init__("lenet-probe")
        self._queue: deque[Job] = deque()
        self._scratch = Net().to(memory_format=torch.channels_last).eval()  # the tutorial's network

    def submit(
        self, snapshot: Snapshot, images: torch.Tensor, labels: torch.Tensor, done: Callable[[Snapshot], None]
    ) -> None:
        """Measure `snapshot` on `images` (CPU uint8) later; `done` gets it back with its accuracy."""
        with self._lock:
            self._queue.append((snapshot, images, labels, done))
            self._wake()

    def wait(self, timeout: float | None = None) -> bool:
        """Until every snapshot submitted so far is measured; False on a timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: self._worker is None, timeout)

    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._queue or self._closing.is_set():
                    self._worker = None
                    self._lock.notify_all()
                    return
                snapshot, images, labels, done = self._queue.popleft()
            try:
                if snapshot.arch != self._scratch.arch:  # another network's run: a scratch model of it
                    self._scratch = Net(snapshot.arch).to(memory_format=torch.channels_last).eval()
                done(replace(snapshot, accuracy=accuracy(snapshot, images, labels, self._scratch)))
            except Exception:  # logged; one snapshot without its accuracy must not stop the rest
                logging.getLogger(__name__).exception("measuring the snapshot of step %d failed", snapshot.step)


PROBE = AccuracyProbe()  # the one per process
