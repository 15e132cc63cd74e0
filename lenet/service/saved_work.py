"""A learner's work as the store's parts, and back, every part checked as an upload would be.

The parts: `model` (a checkpoint: the weights, their history, the runs), `workspace` (which model it
is, the lessons), a `snapshot/<run>/<step>` per snapshot the time machine keeps, an `undo/<i>` per
lesson that can be undone, `digits` (a digit set), `drawing` (the pad's strokes) and `place` (where
the learner stood). A store file may have been changed by anyone with the disk, so a part that does
not read back is dropped, never trusted: the rest comes back.
"""

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace

import torch

from lenet.network.architecture import Architecture
from lenet.network.handwriting import DigitSet, DigitSetError
from lenet.network.strokes import NotADigit, Strokes, checked
from lenet.service.keeper import Written
from lenet.service.runlog import SNAPSHOT_RUNS, RunLog
from lenet.service.workspace import UNDO_LESSONS, Workspace
from lenet.store.checkpoint import CheckpointError, checkpoint_bytes, pretrained, read_checkpoint, weights_bytes
from lenet.store.records import MAX_HISTORY, RunState
from lenet.text import is_clean
from lenet.training.snapshots import Snapshot, most_snapshots

MODEL, WORKSPACE, DIGITS, DRAWING, PLACE = "model", "workspace", "digits", "drawing", "place"
SNAPSHOT = re.compile(r"snapshot/([0-9a-f]{12})/([0-9]{1,9})")
UNDO = re.compile(r"undo/([0-9])")
MAX_JSON_BYTES = 16 * 1024  # the workspace's facts and the place: under 1 KB as the app writes them
MAX_DRAWING_BYTES = 128 * 1024  # 5,000 points as JSON: under 40 KB
MAX_ORIGIN = 120
INTERRUPTED = "The server stopped while this run trained: it came back stopped, with the weights and losses saved then."


class SavedWorkError(ValueError):
    """A part does not read back as what the app writes."""


@dataclass(frozen=True)
class Extras:
    """What a learner made beside the workspace, kept by the page: their drawing and where they stood."""

    drawing: Strokes | None = None
    place: tuple[tuple[str, object], ...] = ()  # plain JSON values by name


@dataclass(frozen=True)
class Restored:
    workspace: Workspace
    extras: Extras
    interrupted: tuple[str, ...]  # the labels of runs that were training when the server stopped
    dropped: tuple[str, ...]  # the parts that did not read back


def model_part(ws: Workspace) -> bytes:
    """The weights, their history and the runs; a run still going is kept as stopped, saying why."""
    views = [run.view() for run in ws.runs]
    views = [replace(view, state=RunState.STOPPED, message=INTERRUPTED) if view.active else view for view in views]
    return checkpoint_bytes(ws.inference_model(), history=ws.history, runs=views)


def workspace_part(ws: Workspace) -> bytes:
    facts = {"origin": ws.origin, "init_seed": ws.init_seed, "inherited": ws.inherited_epochs, **ws.facts()}
    return json.dumps(facts).encode()


def snapshot_part(snapshot: Snapshot) -> bytes:
    return weights_bytes(snapshot.weights, snapshot.arch)


def undo_part(weights: Mapping[str, torch.Tensor], arch: Architecture) -> bytes:
    return weights_bytes(weights, arch)


def drawing_part(strokes: Strokes) -> bytes:
    return json.dumps(strokes, separators=(",", ":")).encode()


def place_part(place: tuple[tuple[str, object], ...]) -> bytes:
    return json.dumps(dict(place)).encode()


def changes(
    ws: Workspace, extras: Extras | None, kept: Written, training_every_s: float
) -> tuple[dict[str, bytes | None], dict[str, object]]:
    """For the keeper: the parts whose token differs from the one written, serialised, and the parts no
    longer there, as None; with the tokens of what they hold."""
    now, extras = time.monotonic(), extras or Extras()  # None: no page has given them yet
    if not kept.stored and untouched(ws) and not extras.drawing:
        return {}, {}  # a visitor who changed nothing has nothing to keep
    runs = [(run.id, run.number, str(run.state), len(run.losses)) for run in ws.runs]
    wanted: dict[str, tuple[object, object]] = {  # name: (token, what makes the part)
        MODEL: ((id(ws.inference_model()), len(ws.history), tuple(runs)), lambda: model_part(ws)),
        WORKSPACE: (workspace_part(ws), None),
        DIGITS: ((id(ws.digits), ws.digits.version), ws.digits.to_npz),
        PLACE: (place_part(extras.place), None),
    }
    if extras.drawing:
        wanted[DRAWING] = (id(extras.drawing), lambda: drawing_part(extras.drawing))
    for i, weights in enumerate(ws.undo_weights()):
        wanted[f"undo/{i}"] = (id(weights), lambda weights=weights: undo_part(weights, ws.model.arch))
    for run in list(ws.runs)[-SNAPSHOT_RUNS:]:
        active = run.active
        for snapshot in run.kept_snapshots():
            if not active or snapshot.accuracy is not None:  # written once, measured
                name = f"snapshot/{run.id}/{snapshot.step}"
                wanted[name] = (name, lambda snapshot=snapshot: snapshot_part(snapshot))
    if ws.training and now - kept.model_written_at < training_every_s:
        wanted.pop(MODEL)  # its weights change every chunk: written now and then
    if ws.origin == "pretrained" and not len(ws.runs) and not ws.lessons:
        del wanted[MODEL], wanted[WORKSPACE]  # the weights every learner starts from: 0.33 MB a visitor spared
    diff: dict[str, bytes | None] = {}
    tokens: dict[str, object] = {}
    for name, (token, make) in wanted.items():
        if kept.written.get(name) != token:
            diff[name] = token if make is None else make()
            tokens[name] = token
    if MODEL in diff:
        kept.model_written_at = now
    live = {run.id for run in ws.runs if run.active}
    for name in kept.stored - set(wanted):
        match = SNAPSHOT.fullmatch(name)
        if not (match and match[1] in live):
            diff[name] = None
    return diff, tokens


def untouched(ws: Workspace) -> bool:
    """Whether a workspace holds nothing of the learner's: the pretrained weights, no run, digit or lesson."""
    return ws.origin == "pretrained" and not len(ws.runs) and not len(ws.digits) and not ws.lessons


def restore(parts: Mapping[str, bytes]) -> Restored:
    """The learner's work from `parts`: each part checked, the ones that fail dropped (named in `dropped`)."""
    dropped: list[str] = []

    def read(name: str, reader, *errors: type[Exception]):
        if name not in parts:
            return None
        try:
            return reader(parts[name])
        except (SavedWorkError, *errors):
            dropped.append(name)
            return None

    checkpoint = read(MODEL, read_checkpoint, CheckpointError)
    facts = read(WORKSPACE, _facts) if checkpoint is not None else None
    ws = Workspace.from_checkpoint(checkpoint or pretrained(), facts["origin"] if facts else "pretrained")
    if facts:
        ws.init_seed = facts["init_seed"]
        ws.inherited_epochs = min(facts["inherited"], len(ws.history))
    interrupted = tuple(run.label for run in ws.runs if run.message == INTERRUPTED)
    _attach_snapshots(ws.runs, parts, dropped)

    def undo_of_this_network(raw: bytes) -> dict[str, torch.Tensor]:
        return _weights(raw, ws.model.arch)

    undo = [
        read(f"undo/{i}", undo_of_this_network, CheckpointError) for i in range(UNDO_LESSONS) if f"undo/{i}" in parts
    ]
    if facts:
        ws.resume(facts, [weights for weights in undo if weights is not None])
    if (digits := read(DIGITS, DigitSet.from_npz, DigitSetError)) is not None:
        ws.digits = digits
    extras = restore_extras(parts, dropped)
    dropped += [name for name in parts if not _known(name)]
    return Restored(ws, extras, interrupted, tuple(dropped))


def restore_extras(parts: Mapping[str, bytes], dropped: list[str] | None = None) -> Extras:
    """The drawing and the place alone (a new tab of a learner whose workspace is still in memory)."""
    read = {DRAWING: (_drawing, NotADigit), PLACE: (_place, SavedWorkError)}
    found = {}
    for name, (reader, error) in read.items():
        try:
            found[name] = reader(parts[name]) if name in parts else None
        except (SavedWorkError, error):
            found[name] = None
            if dropped is not None:
                dropped.append(name)
    return Extras(found[DRAWING] or None, found[PLACE] or ())


def _known(name: str) -> bool:
    return name in (MODEL, WORKSPACE, DIGITS, DRAWING, PLACE) or bool(SNAPSHOT.fullmatch(name) or UNDO.fullmatch(name))


def _attach_snapshots(runs: RunLog, parts: Mapping[str, bytes], dropped: list[str]) -> None:
    """Each kept run's snapshots, at most as many as a run takes, for the runs that keep them."""
    keeping = {run.id: run for run in list(runs)[-SNAPSHOT_RUNS:]}
    found: dict[str, list[Snapshot]] = {}
    for name, raw in sorted(parts.items()):
        if not (match := SNAPSHOT.fullmatch(name)):
            continue
        run = keeping.get(match[1])
        if run is None or len(found.get(run.id, [])) >= most_snapshots(run.architecture):
            dropped.append(name)
            continue
        try:
            weights = {k: v.to(torch.float16) for k, v in _weights(raw, run.architecture).items()}
        except CheckpointError:
            dropped.append(name)
            continue
        step = int(match[2])
        accuracy = dict(run.accuracy_points).get(step)
        found.setdefault(run.id, []).append(Snapshot(step, weights, accuracy, run.architecture))
    for run_id, snapshots in found.items():
        keeping[run_id].snapshots = sorted(snapshots, key=lambda snapshot: snapshot.step)


def _weights(raw: bytes, arch: Architecture) -> dict[str, torch.Tensor]:
    """Weights of network `arch` (a snapshot's, an undo's): `CheckpointError` for any other network's."""
    checkpoint = read_checkpoint(raw)
    if checkpoint.architecture != arch:
        raise CheckpointError(f"weights of {checkpoint.architecture.name}, not of {arch.name}")
    return {k: v.float() for k, v in checkpoint.weights.items()}


def _json(raw: bytes, most: int) -> object:
    if len(raw) > most:
        raise SavedWorkError(f"larger than {most:,} bytes")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise SavedWorkError(f"not JSON ({type(error).__name__})") from None


def _whole(value: object, low: int, high: int) -> bool:
    return type(value) is int and low <= value <= high


def _share(value: object) -> bool:
    return type(value) is float and 0.0 <= value <= 1.0  # NaN fails both comparisons


def _facts(raw: bytes) -> dict:
    facts = _json(raw, MAX_JSON_BYTES)
    keys = {
        "origin",
        "init_seed",
        "inherited",
        "lessons",
        "before_run",
        "undo_tested",
        "after",
        "before",
        "partial_steps",
    }
    if not isinstance(facts, dict) or set(facts) != keys:
        raise SavedWorkError("not the workspace's facts")
    undo = facts["undo_tested"]
    if not (
        is_clean(facts["origin"], MAX_ORIGIN)
        and (facts["init_seed"] is None or _whole(facts["init_seed"], 0, 2**31 - 1))
        and _whole(facts["inherited"], 0, MAX_HISTORY)
        and _whole(facts["lessons"], 0, 10**6)
        and _whole(facts["before_run"], 0, facts["lessons"])
        and _whole(facts["partial_steps"], 0, 10**9)
        and isinstance(undo, list)
        and len(undo) <= UNDO_LESSONS
        and all(map(_share, undo))
        and all(facts[key] is None or _share(facts[key]) for key in ("after", "before"))
    ):
        raise SavedWorkError("the workspace's facts are out of their bounds")
    return facts


def _drawing(raw: bytes) -> Strokes:
    return checked(_json(raw, MAX_DRAWING_BYTES))


def _place(raw: bytes) -> tuple[tuple[str, object], ...]:
    """Plain values by short names: the page checks each one it uses."""
    place = _json(raw, MAX_JSON_BYTES)
    if not isinstance(place, dict) or len(place) > 16 or not all(is_clean(key, 32) for key in place):
        raise SavedWorkError("not a place")
    plain = (str, int, float, bool, type(None))
    for value in place.values():
        if not (
            type(value) in plain
            or (isinstance(value, list) and len(value) <= 16 and all(type(item) in plain for item in value))
        ):
            raise SavedWorkError("a place holds only plain values")
    return tuple(sorted(place.items()))
