"""The thread that trains a workspace's model: it waits for its turn in the server's line, takes turns
with other runs, records what `fit` reports into the run, publishes the weights as they change, and
stops the run once the learner's browser session has been gone for good."""

import time
from collections.abc import Callable
from typing import Protocol

import torch

from lenet.network.data import Mnist
from lenet.network.handwriting import HandAccuracy
from lenet.service.runs import RunState, TrainingRun
from lenet.service.slots import RunSlots, training_threads
from lenet.training.events import EpochEnd, Finished, Steps
from lenet.training.snapshots import PROBE, Snapshot, probe
from lenet.training.train import fit

# A run whose browser session is gone this long is stopped: Streamlit's default disconnectedSessionTTL,
# so a learner whose phone or Wi-Fi drops and reconnects meanwhile finds the run still going (the app
# sets the server's own TTL).
OWNER_GRACE_S = 120.0
PROBE_GRACE_S = 10.0  # how long an ending run waits for the accuracy of its last snapshots


class Absence:
    """How long the owner (the browser session) has been gone: the training thread and the janitor ask."""

    def __init__(self) -> None:
        self._since: float | None = None

    def seconds(self, present: bool) -> float:
        """0 while `present`; else the seconds since it was last seen."""
        if present:
            self._since = None
            return 0.0
        self._since = self._since or time.monotonic()
        return time.monotonic() - self._since


class Trainee(Protocol):
    """What the thread needs of the workspace whose model it trains (`lenet.service.workspace`)."""

    model: torch.nn.Module
    absence: Absence
    owner_grace_s: float
    owner_alive: Callable[[], bool]

    def publish(self) -> None: ...

    def hand_accuracy(self) -> HandAccuracy | None: ...


def owner_gone(ws: Trainee, run: TrainingRun) -> bool:
    """True once the browser session has been gone for `ws.owner_grace_s`; then the run stops itself."""
    if ws.absence.seconds(ws.owner_alive()) < ws.owner_grace_s:
        return False
    run.stop_requested.set()
    return True


def train_in_background(
    ws: Trainee, run: TrainingRun, data: Callable[[], Mnist], slots: RunSlots, momentum: dict | None
) -> None:
    """The body of a run's thread: from the line to its last event, whatever happens."""
    run.set_state(RunState.QUEUED)

    def give_up() -> bool:
        return run.stop_requested.is_set() or owner_gone(ws, run)

    if not slots.wait_for_turn(run, give_up):
        run.set_state(RunState.STOPPED, "stopped while waiting for a training slot")
        return
    try:
        run.set_state(RunState.LOADING)
        mnist = data()
        torch.set_num_threads(training_threads(slots))
        run.set_state(RunState.TRAINING)
        digits = probe(mnist.test_images, mnist.test_labels)
        for event in fit(ws.model, run.config, mnist, run.stop_requested, momentum, snapshots=True):
            if isinstance(event, Finished):  # the run's accuracy points complete by the time it ends
                PROBE.wait(timeout=PROBE_GRACE_S)
            run.record(event)
            if isinstance(event, Snapshot):
                PROBE.submit(event, *digits, run.measured)
            elif isinstance(event, Steps):
                ws.publish()
                if slots.turn_over(run):  # others wait: the run pauses here, between two chunks
                    run.set_state(RunState.QUEUED, "taking turns with other runs")
                    if slots.wait_for_turn(run, give_up):  # else it was stopped: it ends without a slot
                        run.set_state(RunState.TRAINING)
            elif isinstance(event, EpochEnd) and (hand := ws.hand_accuracy()) is not None:
                run.record_hand(event.epoch, hand.accuracy)
            owner_gone(ws, run)
    except Exception as error:  # shown on the page; the thread must never die silently
        run.set_state(RunState.FAILED, f"{type(error).__name__}: {error}")
    finally:
        slots.leave(run)
        ws.model.to("cpu")
        ws.publish()
