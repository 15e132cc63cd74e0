"""A session's runs, so a learner can compare them side by side and take them home."""

import re
from collections.abc import Iterator, Sequence

from lenet.service.runs import TrainingRun
from lenet.store.records import MAX_RUNS, MAX_TEXT, RunRecord
from lenet.text import clean
from lenet.training.settings import preset_name, settings

FROM_PRETRAINED = "the pretrained weights"
WHERE_ENDED = re.compile(r"where (run [1-9][0-9]*) ended")  # how `start_description` says a run carried on
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

    def records(self) -> list[RunRecord]:
        """The ended runs, as a checkpoint keeps them."""
        return [view for view in (run.view() for run in self._runs) if not view.active]

    @classmethod
    def from_records(cls, records: Sequence[RunRecord]) -> "RunLog":
        return cls([TrainingRun.ended(record) for record in records])


def lineage(runs: RunLog, last: str | None) -> set[str]:
    """The labels of the runs whose end the weights after run `last` carry on: `last`, the run it started where
    that one ended, and so on back to a start afresh (a seed, the pretrained weights, a file, a step)."""
    by_label = {run.label: run for run in runs}
    carried: set[str] = set()
    while last in by_label and last not in carried:
        carried.add(last)
        ended = WHERE_ENDED.match(by_label[last].start)
        last = ended[1] if ended else None
    return carried


def _set_apart(views: Sequence[RunRecord | TrainingRun]) -> list[tuple[str, list[str]]]:
    """What a learner chose for each run: where it started, and every setting."""
    return [
        ("Network", [view.architecture.name for view in views]),
        ("Start", [view.start for view in views]),
        ("Preset", [preset_name(view.config) for view in views]),
        *[
            (how.label, [how.name_of(getattr(view.config, f.name)) for view in views])
            for f, how in settings()
            if how.page is not None and f.name != "device"
        ],
        ("Device", [view.device for view in views]),
    ]


def names(views: Sequence[RunRecord | TrainingRun], most: int = 2) -> list[str]:
    """Each run's name with what sets it apart from the others ("run 2: learning rate 0.01"): the choices
    that differ among them (the preset only when nothing else does), at most `most` of them; where
    nothing differs, where each started."""
    differ = [(what, values) for what, values in _set_apart(views) if len(set(values)) > 1]
    if len(differ) > 1:
        differ = [(what, values) for what, values in differ if what != "Preset"]
    shown = differ[:most]
    more = ", ..." if len(differ) > most else ""
    return [
        f"{view.label}: " + ", ".join(f"{what.lower()} {values[i]}" for what, values in shown) + more
        if shown
        else f"{view.label}: {view.start}"
        for i, view in enumerate(views)
    ]


def compare(views: list[RunRecord]) -> list[tuple[str, list[str], bool]]:
    """The runs' settings and results side by side: (what, each run's value as text, whether they differ)."""
    rows = [
        *_set_apart(views),
        ("Parameters", [f"{view.architecture.parameter_count:,}" for view in views]),
        ("Outcome", [str(view.state) for view in views]),
        ("Steps trained", [f"{view.steps_trained:,}" for view in views]),
        ("Test accuracy (10,000 digits)", [_percent(view.end_accuracy) for view in views]),
    ]
    return [(what, values, len(set(values)) > 1) for what, values in rows]


def _percent(accuracy: float | None) -> str:
    return f"{accuracy:.2%}" if accuracy is not None else "-"


def start_description(origin: str, init_seed: int | None, after: str | None, lessons: int, note: str = "") -> str:
    """Where a run's weights come from, as its record says it: "from scratch, start seed 3", "where
    run 2 ended, then 1 lesson"...; `note` says what is special about its data. Cut to fit a record."""
    if after is not None:  # the label of the run whose end these weights are
        start = f"where {after} ended"
    elif origin == "random init":
        start = f"from scratch, start seed {init_seed}" if init_seed is not None else "from scratch"
    else:
        start = FROM_PRETRAINED if origin == "pretrained" else origin
    start += f", then {lessons} lesson{'s' * (lessons != 1)}" if lessons else ""
    return clean(start + (f"; {note}" if note else ""), MAX_TEXT)
