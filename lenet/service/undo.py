"""What a session keeps to take a step back: the weights before each of the last lessons, and the model
that a reset, a loaded file, a network of one's own or a run from scratch replaced (`Replaced`), which
one click brings back (the model it replaced is kept in turn). A learner never loses a model to a button.

One replaced model is kept, never a chain: one more copy of the weights per session (330 KB of the
tutorial's network, 6 MB of the largest). A plain frozen record: the weights (a copy nothing writes to
again), and the facts the sidebar and the next run's record say of them.
"""

from collections.abc import Mapping
from dataclasses import dataclass

import torch

from lenet.network.architecture import TUTORIAL, Architecture
from lenet.network.model import Net
from lenet.store.records import EpochRecord

FRESH = ("pretrained", "random init")  # untrained, they hold nothing learned here: Reset draws them again
UNDO_LESSONS = 5  # lessons that can be undone, the latest first: 330 KB of weights each


def undo_kept(arch: Architecture) -> int:
    """Lessons of network `arch` that can be undone: 5 of the tutorial's, 1 of a big network (6 MB a copy)."""
    return max(1, min(UNDO_LESSONS, UNDO_LESSONS * TUTORIAL.parameter_count // arch.parameter_count))


@dataclass(frozen=True, eq=False)
class Replaced:
    """A replaced model: its weights, its network, where they came from and what was done to them."""

    weights: Mapping[str, torch.Tensor]  # float32, on the CPU
    arch: Architecture
    origin: str  # as the workspace said it: "pretrained", "random init", "uploaded <name>"
    init_seed: int | None
    inherited_epochs: int
    history: tuple[EpochRecord, ...]
    facts: Mapping[str, object]  # `Workspace.facts()`: its lessons, steps, the run it is the end of

    def model(self) -> Net:
        model = Net(self.arch)
        model.load_state_dict(self.weights)
        return model

    @property
    def epochs_trained_here(self) -> int:
        return len(self.history) - self.inherited_epochs

    @property
    def partial_steps_here(self) -> int:
        return int(self.facts["partial_steps"])

    @property
    def lessons(self) -> int:
        return int(self.facts["lessons"])

    @property
    def accuracy(self) -> float | None:
        """Its last measured test accuracy (a stopped run's included), None if it was never tested."""
        measured = self.facts.get("accuracy")
        return measured if measured is not None else self.history[-1].test_accuracy if self.history else None


def worth_keeping(ws) -> bool:  # a Workspace, whose module imports this one
    """Whether `ws`'s model holds what no button makes again: training, lessons, a loaded file's weights."""
    return bool(ws.epochs_trained_here or ws.partial_steps_here or ws.lessons) or ws.origin not in FRESH


def kept(ws) -> Replaced:  # a Workspace, whose module imports this one
    """What brings `ws`'s model back, as it is now (its published weights: no run writes them again)."""
    return Replaced(
        dict(ws.inference_model().state_dict()),
        ws.model.arch,
        ws.origin,
        ws.init_seed,
        ws.inherited_epochs,
        tuple(ws.history),
        ws.facts(),
    )
