"""One person's model, its history and training runs, independent of any UI.

Three threads write to a workspace. The page's thread (one per rerun of the session) changes what
it holds: the model it trains, its history, its lessons, its runs; never while a run trains. A run's
training thread (`lenet.service.training_thread`) writes the model's weights in place, swaps in a new
published copy of them (`_published`: one reference, replaced whole), keeps the owner's `absence`, and
writes everything else into its own `TrainingRun`, under the run's lock; a page reads the run through
its frozen views. The janitor thread asks `release_if_abandoned`, which drops the model and records
of a session that is gone and trains nothing. Inference always uses the published copy, a consistent
model even while a run changes the real one.
"""

import copy
import threading
import weakref
from collections.abc import Callable

import torch

from lenet.network.architecture import TUTORIAL, Architecture
from lenet.network.data import Mnist, load_mnist
from lenet.network.evaluate import misclassified
from lenet.network.handwriting import MIN_FOR_ACCURACY, DigitSet, HandAccuracy
from lenet.network.model import Net
from lenet.service.lessons import Lessons
from lenet.service.refusals import Busy, Refused
from lenet.service.runlog import FROM_PRETRAINED, RunLog, lineage, start_description
from lenet.service.runs import TrainingRun
from lenet.service.slots import SLOTS, RunSlots, startable
from lenet.service.training_thread import OWNER_GRACE_S, Absence, train_in_background
from lenet.service.undo import UNDO_LESSONS, Replaced, kept, worth_keeping
from lenet.store.checkpoint import Checkpoint, checkpoint_bytes, pretrained, read_checkpoint
from lenet.store.records import EpochRecord
from lenet.text import clean
from lenet.training.settings import TrainConfig

SUPERSEDED = (
    "Another tab of yours changed your model since this page was drawn: it shows that model now. Press again if "
    "you still want this."
)
MAX_FILE_NAME = 80  # characters of an uploaded file's name that its model's origin keeps


_LIVE: "weakref.WeakSet[Workspace]" = weakref.WeakSet()


def live_workspaces() -> list["Workspace"]:
    """Workspaces that hold a model in this process: one per session that opened a model page."""
    return [ws for ws in list(_LIVE) if ws.model is not None]


def snapshot_origin(run: TrainingRun, step: int) -> str:
    """Where a model made from a snapshot comes from, as the sidebar and its next run's record say it."""
    return f"step {step:,} of {run.label}"


class Workspace(Lessons):
    """A model with everything that belongs to it: one per browser session."""

    def __init__(
        self,
        model: Net,
        origin: str,
        history: list[EpochRecord],
        runs: RunLog | None = None,
        init_seed: int | None = None,
        digits: DigitSet | None = None,
    ):
        self.model = model
        self.origin = origin  # "pretrained", "random init" or "uploaded <name>"
        self.init_seed = init_seed  # the start seed that drew these weights, for random ones
        self.runs = runs or RunLog()  # the session's runs: a workspace that replaces this one takes them over
        self.digits = digits if digits is not None else DigitSet()  # the learner's own, taken over likewise
        self._hand: tuple[Net | None, int, HandAccuracy | None] = (None, -1, None)  # the last reading of them
        self.inherited_epochs = len(history)  # epochs that came with the weights
        self._past: list[EpochRecord] = list(history)  # records of the loaded weights and of runs that ended
        self._past_partial_steps = 0  # steps of ended runs that are not part of a whole epoch (a stopped run's)
        self.run: TrainingRun | None = None
        self.ended: str | None = None  # the run whose end these weights are, when it is not `run` (a reload)
        self.measured: float | None = None  # their last test accuracy, when no `run` says it (a reload)
        self.superseded = False  # replaced: a page still holding it (another tab's, behind) must not act on it
        self._changing = threading.Lock()
        self.replaced: Replaced | None = None  # the model this one replaced, for `from_replaced`
        self.lessons = 0  # single SGD steps taught on the learner's own drawings
        self._lessons_before_run = 0  # of those, the ones taught before the last run started
        self._before_lessons: list[tuple[dict[str, torch.Tensor], float]] = []  # weights and accuracy before each
        self.tested_after_lessons: float | None = None  # accuracy on the 1,000 probe digits since the last lesson
        self.tested_before_lessons: float | None = None  # and before the first of them
        self._published = copy.deepcopy(model)
        self.owner_alive: Callable[[], bool] = lambda: True  # the app sets it: is the browser session still there?
        self.owner_grace_s = OWNER_GRACE_S  # the app sets it to the server's session TTL
        self.absence = Absence()
        _LIVE.add(self)  # last: the janitor thread may look at it from now on

    def release_if_abandoned(self, after_s: float) -> bool:
        """Drop the model and history once the owner has been gone for `after_s` seconds and nothing trains:
        Streamlit drops a closed tab's session lazily, and a cycle of its objects waits for a full collection."""
        if self.absence.seconds(self.owner_alive()) < after_s or self.training:
            return False
        self.model = self._published = self.run = self.replaced = None
        self._past, self._before_lessons, self.runs, self.digits = [], [], RunLog(), DigitSet()
        self._hand = (None, -1, None)  # it holds a model, and with it that model's look-alikes
        return True

    @classmethod
    def from_checkpoint(cls, checkpoint: Checkpoint, origin: str) -> "Workspace":
        return cls(checkpoint.model(), origin, list(checkpoint.history), RunLog.from_records(checkpoint.runs))

    @classmethod
    def from_random_init(cls, seed: int | None = None, arch: Architecture = TUTORIAL) -> "Workspace":
        """Fresh weights of `arch`, as `Net(arch)` draws them; from `seed` when given: the same seed, bit for bit
        the same weights."""
        with torch.random.fork_rng(enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
            return cls(Net(arch), "random init", [], init_seed=seed)

    @classmethod
    def as_run_started(cls, run: TrainingRun) -> "Workspace":
        """The weights `run` started from, bit for bit: its start seed's, or the pretrained ones."""
        if run.init_seed is not None:
            return cls.from_random_init(run.init_seed, run.architecture)
        if run.start == FROM_PRETRAINED and run.architecture == TUTORIAL:
            return cls.from_checkpoint(pretrained(), "pretrained")
        raise Refused(
            f"{run.label} started from {run.start}: only a run from scratch or from the pretrained weights "
            "can be started again alike."
        )

    @classmethod
    def from_upload(cls, raw: bytes, name: str) -> "Workspace":
        """From an uploaded checkpoint file; a bad file raises `CheckpointError`."""
        return cls.from_checkpoint(read_checkpoint(raw), f"uploaded {clean(name, MAX_FILE_NAME)}")

    @classmethod
    def from_snapshot(cls, run: TrainingRun, step: int) -> "Workspace":
        """The weights `run` had after `step` steps (a time machine snapshot, float16), to train on from there."""
        return cls(run.snapshot_at(step).model(), snapshot_origin(run, step), [])

    @classmethod
    def from_replaced(cls, old: Replaced) -> "Workspace":
        """A replaced model back as it was, but for the lessons it could undo."""
        ws = cls(old.model(), old.origin, list(old.history), init_seed=old.init_seed)
        ws.inherited_epochs = old.inherited_epochs
        ws.resume(old.facts, [])
        ws.replaced = old  # itself, for now: `replaced_by` then keeps the model it replaces, not this one twice
        return ws

    def replaced_by(self, other: "Workspace") -> "Workspace":
        """`other`, to take this workspace's place (a reset, a loaded file), keeping this model as the one it
        replaced if it holds any work; refused while a run trains."""
        with self._changing:
            if self.training:
                raise Busy("Stop the training run first: it is still changing this model.")
            if self.superseded:
                raise Refused(SUPERSEDED)
            self.superseded = True
        other.owner_alive, other.owner_grace_s = self.owner_alive, self.owner_grace_s
        keep = kept(self) if worth_keeping(self) else self.replaced  # a fresh model can be made again
        other.replaced = None if keep is other.replaced else keep
        self.runs.merge(other.runs)
        other.runs, other.digits = self.runs, self.digits
        return other

    def download(self) -> bytes:
        """The current weights, history and the session's ended runs (without their snapshots) as a checkpoint file."""
        return checkpoint_bytes(self.inference_model(), history=self.history, runs=self.runs.records())

    @property
    def training(self) -> bool:
        return self.run is not None and self.run.active

    @property
    def history(self) -> list[EpochRecord]:
        """Every epoch this model has been trained, the current run's so far included."""
        if self.run is None:
            return list(self._past)
        return self._past + self.run.epochs_so_far()

    @property
    def epochs_trained_here(self) -> int:
        return len(self.history) - self.inherited_epochs

    @property
    def partial_steps_here(self) -> int:
        """Steps trained here beyond whole epochs: a stopped run's last, unfinished epoch."""
        if self.run is None:
            return self._past_partial_steps
        return self._past_partial_steps + self.run.partial_steps()

    @property
    def last_accuracy(self) -> float | None:
        """Test accuracy of the model as it is: a stopped run's final evaluation, else the last epoch's."""
        if self.run is not None and (final := self.run.final_accuracy()) is not None:
            return final
        if self.run is None and self.measured is not None:
            return self.measured
        history = self.history
        return history[-1].test_accuracy if history else None

    @property
    def last_run(self) -> str | None:
        """The label of the run whose end these weights are (a reloaded or brought back model's too)."""
        return self.run.label if self.run is not None else self.ended

    def carries_on(self, run: TrainingRun) -> bool:
        """Whether these weights carry on from where `run` ended: it, or a run started where it ended."""
        return run.label in lineage(self.runs, self.last_run)

    def misclassified(self, limit: int) -> list[tuple[torch.Tensor, int, int]]:
        """Test digits the last finished run got wrong: (28 x 28 pixels, true label, prediction)."""
        if self.run is None or self.run.active or self.run.evaluation is None:
            return []
        mnist = load_mnist()
        return misclassified(self.run.evaluation, mnist.test_images, mnist.test_labels, limit)

    def inference_model(self) -> Net:
        """A CPU copy of the weights that no run changes; replaced, never mutated, as a run goes on."""
        return self._published

    def facts(self) -> dict:
        """What the lessons and runs left beside the weights, as plain values: `resume` takes them back."""
        tested = [tested for _, tested in self._before_lessons]
        return {"lessons": self.lessons, "before_run": self._lessons_before_run, "undo_tested": tested,
                "after": self.tested_after_lessons, "before": self.tested_before_lessons,
                "partial_steps": self.partial_steps_here,
                "ended": self.last_run,
                "accuracy": self.last_accuracy}  # fmt: skip

    def resume(self, facts: dict, undo: list[dict[str, torch.Tensor]]) -> None:
        """The lessons and steps as `facts` gave them, with the weights before each lesson that can be undone."""
        self._past_partial_steps = facts["partial_steps"]
        self.lessons, self._lessons_before_run = facts["lessons"], facts["before_run"]
        self.tested_after_lessons, self.tested_before_lessons = facts["after"], facts["before"]
        self._before_lessons = list(zip(undo, facts["undo_tested"], strict=False))[:UNDO_LESSONS]
        self.ended, self.measured = facts.get("ended"), facts.get("accuracy")  # saved before they were kept: None

    def hand_accuracy(self, model: Net | None = None, at_least: int = MIN_FOR_ACCURACY) -> HandAccuracy | None:
        """How `model` (the latest weights unless given) reads the learner's digits; None for fewer than `at_least`."""
        model = model or self._published
        if len(self.digits) < at_least:
            return None
        if self._hand[0] is not model or self._hand[1] != self.digits.version:
            self._hand = (model, self.digits.version, self.digits.read_by(model))
        return self._hand[2]

    def start(
        self, config: TrainConfig, data: Callable[[], Mnist] = load_mnist, slots: RunSlots = SLOTS, note: str = ""
    ) -> TrainingRun:
        """Start training in a background thread, once `slots` has room; refused while a run is going.
        `note` says what is special about its data, in its record."""
        with self._changing:  # one of start and replaced_by at a time: two tabs may press both at once
            if self.training:
                raise Busy("A run is already going: stop it first.")
            if self.superseded:
                raise Refused(SUPERSEDED)
            device = startable(config, self.model.arch)  # fails here, in the caller
            momentum = None
            lessons = self.lessons - self._lessons_before_run
            start = start_description(self.origin, self.init_seed, self.last_run, lessons, note)
            self._lessons_before_run = self.lessons
            self._before_lessons = []  # undoing a lesson after a run would undo the run as well
            self.tested_after_lessons = None
            if self.run is not None:  # the last run has ended: its epochs join the history
                self._past += self.run.epochs
                self._past_partial_steps += self.run.partial_steps()
                momentum = self.run.optimizer_state
            self.run = run = TrainingRun(
                config,
                device=str(device),
                first_epoch=len(self._past) + 1,
                number=self.runs.next_number,
                start=start,
                init_seed=self.init_seed if start.startswith("from scratch") else None,
                architecture=self.model.arch,
            )
        self.runs.add(run)
        run.thread = threading.Thread(
            target=train_in_background, args=(self, run, data, slots, momentum), name="lenet-training", daemon=True
        )
        run.thread.start()
        return run

    def stop(self, wait: float = 0.0) -> None:
        if self.run is not None:
            self.run.stop_requested.set()
            if wait and self.run.thread is not None:
                self.run.thread.join(wait)

    def publish(self) -> None:
        """Replace the published copy of the weights with the model's weights now."""
        snapshot = Net(self.model.arch)
        snapshot.load_state_dict({k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()})
        self._published = snapshot
