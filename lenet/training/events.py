"""What a training run reports as it goes: `fit` yields these events, and nothing else."""

from dataclasses import dataclass, field
from enum import StrEnum

from lenet.network.evaluate import Evaluation
from lenet.training.snapshots import Snapshot


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

    def summary(self) -> dict[str, float]:
        """What a model's history keeps of the epoch (`lenet.store.records.EpochRecord`)."""
        return {
            "test_accuracy": self.evaluation.accuracy,
            "train_loss": self.train_loss,
            "seconds": self.seconds,
            "images_per_second": self.images_per_second,
        }


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
