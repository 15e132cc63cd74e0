"""A session's runs, and a run as a checkpoint keeps it (`to_record` / `from_record`), so a learner
can compare runs side by side and take them home."""

import math
from array import array
from collections.abc import Iterator
from dataclasses import fields

from lenet.events import EpochRecord
from lenet.runs import MAX_TEXT, RunState, TrainingRun
from lenet.settings import TrainConfig, plain_config, preset_name, settings
from lenet.text import clean, is_clean, listed

FROM_PRETRAINED = "the pretrained weights"
MAX_RUNS = 20  # runs a session keeps, and a checkpoint may carry
MAX_CURVE_POINTS = 1_000  # loss values a run keeps in a checkpoint: means of consecutive steps
MAX_ACCURACY_POINTS = 64
MAX_RUN_EPOCHS = 100

ENDED = {state.value for state in RunState if not state.active}
RECORD_KEYS = {
    "id",
    "number",
    "start",
    "init_seed",
    "config",
    "device",
    "state",
    "message",
    "total_steps",
    "loss_stride",
    "losses",
    "accuracy_points",
    "epochs",
    "end_accuracy",
}


SNAPSHOT_RUNS = 3  # the latest runs whose snapshots a session keeps: under 4 MB each


class RunLog:
    """A session's runs, oldest first: at most `MAX_RUNS`, the snapshots of the last `SNAPSHOT_RUNS`.

    It outlives the session's model: a reset or a new model from scratch takes it over.
    """

    def __init__(self, runs: list[TrainingRun] | None = None):
        self._runs = list(runs or [])[-MAX_RUNS:]

    def __iter__(self) -> Iterator[TrainingRun]:
        return iter(list(self._runs))

    def __len__(self) -> int:
        return len(self._runs)

    def __getitem__(self, index: int) -> TrainingRun:
        return self._runs[index]

    @property
    def next_number(self) -> int:
        return max((run.number for run in self._runs), default=0) + 1

    def add(self, run: TrainingRun) -> None:
        """A new run: the others give up what only the latest needs, the oldest their snapshots."""
        for past in self._runs:
            past.retire()
        self._runs = [*self._runs, run][-MAX_RUNS:]
        for past in self._runs[:-SNAPSHOT_RUNS]:
            past.forget_snapshots()

    def merge(self, other: "RunLog") -> None:
        """Add `other`'s runs that this log lacks (a checkpoint's, say), numbered after its own."""
        known = {run.id for run in self._runs}
        arrived = [run for run in other if run.id not in known]
        for number, run in enumerate(arrived, start=self.next_number):
            run.number = number
        self._runs = (self._runs + arrived)[-MAX_RUNS:]

    def records(self) -> list[dict]:
        """The ended runs as a checkpoint keeps them."""
        return [to_record(run) for run in self._runs if not run.active]

    @classmethod
    def from_records(cls, records: list) -> "RunLog":
        return cls([from_record(record) for record in records])


def compare(runs: list[TrainingRun]) -> list[tuple[str, list[str], bool]]:
    """The runs' settings and results side by side: (what, each run's value as text, whether they differ)."""
    views = [run.view() for run in runs]
    rows = [
        ("Start", [view.start for view in views]),
        ("Preset", [preset_name(view.config) for view in views]),
        *[
            (how.label, [how.name_of(getattr(view.config, f.name)) for view in views])
            for f, how in settings()
            if how.page is not None and f.name != "device"
        ],
        ("Device", [view.device for view in views]),
        ("Outcome", [str(view.state) for view in views]),
        ("Steps trained", [f"{view.steps_trained:,}" for view in views]),
        ("Test accuracy (10,000 digits)", [_percent(view.end_accuracy) for view in views]),
    ]
    return [(what, values, len(set(values)) > 1) for what, values in rows]


def _percent(accuracy: float | None) -> str:
    return f"{accuracy:.2%}" if accuracy is not None else "-"


def start_description(
    origin: str, init_seed: int | None, after: TrainingRun | None, lessons: int, note: str = ""
) -> str:
    """Where a run's weights come from, as its record says it: "from scratch, start seed 3", "where
    run 2 ended, then 1 lesson"...; `note` says what is special about its data. Cut to fit a record."""
    if after is not None:
        start = f"where {after.label} ended"
    elif origin == "random init":
        start = f"from scratch, start seed {init_seed}" if init_seed is not None else "from scratch"
    else:
        start = FROM_PRETRAINED if origin == "pretrained" else origin
    start += f", then {lessons} lesson{'s' * (lessons != 1)}" if lessons else ""
    return clean(start + (f"; {note}" if note else ""), MAX_TEXT)


def to_record(run: TrainingRun) -> dict:
    """An ended run as a checkpoint keeps it: plain values, its losses averaged down to at most
    `MAX_CURVE_POINTS`, its snapshots left out."""
    view = run.view()
    losses = view.losses.tolist()
    k = max(1, -(-len(losses) // MAX_CURVE_POINTS))
    return {
        "id": view.id,
        "number": view.number,
        "start": view.start,
        "init_seed": view.init_seed,
        "config": view.config.to_dict(),
        "device": view.device,
        "state": str(view.state),
        "message": view.message,
        "total_steps": view.total_steps,
        "loss_stride": view.loss_stride * k,
        "losses": [sum(block) / len(block) for block in (losses[i : i + k] for i in range(0, len(losses), k))],
        "accuracy_points": [[step, accuracy] for step, accuracy in view.accuracy_points[:MAX_ACCURACY_POINTS]],
        "epochs": [{**record.to_dict(), "config": {}} for record in view.epochs[-MAX_RUN_EPOCHS:]],
        "end_accuracy": view.end_accuracy,
    }


def from_record(raw: object) -> TrainingRun:
    """A run as a checkpoint keeps it, checked entry by entry; ValueError says what is wrong."""
    if not isinstance(raw, dict) or not all(isinstance(key, str) for key in raw):
        raise ValueError("a run is not a dict of named values")
    if unknown := sorted(set(raw) - RECORD_KEYS):
        raise ValueError(f"a run has unknown entries: {listed(unknown)}")
    if missing := sorted(RECORD_KEYS - set(raw)):
        raise ValueError(f"a run lacks {', '.join(missing)}")
    for key in ("id", "start", "device", "message"):
        _check(is_clean(raw[key], MAX_TEXT), key, f"plain text of at most {MAX_TEXT} characters")
    _check(_whole(raw["number"], 1, 10**6), "number", "a whole number from 1")
    _check(raw["init_seed"] is None or _whole(raw["init_seed"], 0, 2**31 - 1), "init_seed", "empty or a seed")
    _check(type(raw["state"]) is str and raw["state"] in ENDED, "state", f"one of {', '.join(sorted(ENDED))}")
    _check(_whole(raw["total_steps"], 0, 10**8), "total_steps", "a whole number of steps")
    _check(_whole(raw["loss_stride"], 1, 10**8), "loss_stride", "a whole number of steps")
    losses, points, epochs = raw["losses"], raw["accuracy_points"], raw["epochs"]
    _check(_numbers(losses, MAX_CURVE_POINTS, 0, math.inf), "losses", f"at most {MAX_CURVE_POINTS:,} losses")
    _check(
        isinstance(points, list)
        and len(points) <= MAX_ACCURACY_POINTS
        and all(isinstance(p, list | tuple) and len(p) == 2 and _whole(p[0], 0, 10**8) for p in points)
        and _numbers([p[1] for p in points], MAX_ACCURACY_POINTS, 0, 1),
        "accuracy_points",
        f"at most {MAX_ACCURACY_POINTS} pairs of a step and an accuracy from 0 to 1",
    )
    _check(isinstance(epochs, list) and len(epochs) <= MAX_RUN_EPOCHS, "epochs", f"at most {MAX_RUN_EPOCHS} epochs")
    end = raw["end_accuracy"]
    _check(end is None or _numbers([end], 1, 0, 1), "end_accuracy", "empty or an accuracy from 0 to 1")
    return TrainingRun(
        config=run_config(raw["config"]),
        device=raw["device"],
        state=RunState(raw["state"]),
        message=raw["message"],
        losses=array("f", losses),
        loss_stride=raw["loss_stride"],
        total_steps=raw["total_steps"],
        epochs=[EpochRecord.from_dict(record) for record in epochs],
        end_accuracy=end,
        number=raw["number"],
        start=raw["start"],
        init_seed=raw["init_seed"],
        accuracy_points=[(int(step), float(accuracy)) for step, accuracy in points],
        id=raw["id"],
    )


def run_config(raw: object) -> TrainConfig:
    """A recorded run's settings as a `TrainConfig`: each of the type its field has (ValueError if not)."""
    values = plain_config(raw)
    for f in fields(TrainConfig):
        default = f.default
        allowed = (int, float) if type(default) is float else (str,) if isinstance(default, str) else (type(default),)
        _check(f.name not in values or type(values[f.name]) in allowed, f"config's {f.name}", "of the right kind")
    return TrainConfig(**values)


def _check(ok: bool, key: str, what: str) -> None:
    if not ok:
        raise ValueError(f"a run's {key} is not {what}")


def _whole(value: object, low: int, high: int) -> bool:
    return type(value) is int and low <= value <= high


def _numbers(values: object, most: int, low: float, high: float) -> bool:
    return (
        isinstance(values, list)
        and len(values) <= most
        and all(type(v) in (int, float) and math.isfinite(v) and low <= v <= high for v in values)
    )
