"""A learner's work as the store's parts, and back, every part checked as an upload would be.

The parts: `model` (a checkpoint: the weights, their history, the runs), `workspace` (which model it
is, the lessons), a `snapshot/<run>/<step>` per snapshot the time machine keeps, an `undo/<i>` per
lesson that can be undone, `replaced` (the model a reset or a new network replaced: weights and history,
its facts in `workspace`), `digits` (a digit set), `drawing` (the pad's strokes) and `place` (where
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
from lenet.network.strokes import NotADigit, Strokes
from lenet.service.keeper import Written
from lenet.service.runlog import SNAPSHOT_RUNS, RunLog
from lenet.service.saved_facts import (
    REPLACED,
    SavedWorkError,
    checked_facts,
    read_drawing,
    read_facts,
    read_place,
)
from lenet.service.undo import UNDO_LESSONS, Replaced
from lenet.service.workspace import Workspace
from lenet.store.checkpoint import CheckpointError, checkpoint_bytes, pretrained, read_checkpoint, weights_bytes
from lenet.store.records import RunState
from lenet.training.snapshots import Snapshot, most_snapshots

MODEL, WORKSPACE, DIGITS, DRAWING, PLACE = "model", "workspace", "digits", "drawing", "place"
SNAPSHOT = re.compile(r"snapshot/([0-9a-f]{12})/([0-9]{1,9})")
UNDO = re.compile(r"undo/([0-9])")
INTERRUPTED = "The server stopped while this run trained: it came back stopped, with the weights and losses saved then."


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
    if (old := ws.replaced) is not None:  # its weights and history are the `replaced` part
        facts[REPLACED] = {
            "origin": old.origin,
            "init_seed": old.init_seed,
            "inherited": old.inherited_epochs,
            **old.facts,
        }
    return json.dumps(facts).encode()


def replaced_part(old: Replaced) -> bytes:
    return checkpoint_bytes(old.model(), history=old.history)


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
    if ws.replaced is not None:
        wanted[REPLACED] = (id(ws.replaced), lambda: replaced_part(ws.replaced))
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
    if ws.origin == "pretrained" and not len(ws.runs) and not ws.lessons and ws.replaced is None:
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
    """Whether a workspace holds nothing of the learner's: the pretrained weights, no run, digit, lesson or
    model to bring back."""
    return (
        ws.origin == "pretrained" and not len(ws.runs) and not len(ws.digits) and not ws.lessons and ws.replaced is None
    )


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
    facts = read(WORKSPACE, read_facts) if checkpoint is not None else None
    origin = facts["origin"] if facts else "a saved model" if checkpoint is not None else "pretrained"
    ws = Workspace.from_checkpoint(checkpoint or pretrained(), origin)  # with its facts dropped, not "pretrained"
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
    if facts and REPLACED in facts:
        ws.replaced = read(REPLACED, lambda raw: _replaced(raw, facts[REPLACED]), CheckpointError)
    elif REPLACED in parts:
        dropped.append(REPLACED)  # without the facts that say what it is
    if (digits := read(DIGITS, DigitSet.from_npz, DigitSetError)) is not None:
        ws.digits = digits
    extras = restore_extras(parts, dropped)
    dropped += [name for name in parts if not _known(name)]
    return Restored(ws, extras, interrupted, tuple(dropped))


def restore_extras(parts: Mapping[str, bytes], dropped: list[str] | None = None) -> Extras:
    """The drawing and the place alone (a new tab of a learner whose workspace is still in memory)."""
    read = {DRAWING: (read_drawing, NotADigit), PLACE: (read_place, SavedWorkError)}
    found = {}
    for name, (reader, error) in read.items():
        try:
            found[name] = reader(parts[name]) if name in parts else None
        except (SavedWorkError, error):
            found[name] = None
            if dropped is not None:
                dropped.append(name)
    return Extras(found[DRAWING] or None, found[PLACE] or ())


def _replaced(raw: bytes, facts: dict) -> Replaced:
    checkpoint = read_checkpoint(raw)
    weights = {name: tensor.float() for name, tensor in checkpoint.weights.items()}
    facts = checked_facts(dict(facts) if isinstance(facts, dict) else facts, nested=True)
    origin, init_seed, inherited = facts.pop("origin"), facts.pop("init_seed"), facts.pop("inherited")
    inherited = min(inherited, len(checkpoint.history))
    return Replaced(weights, checkpoint.architecture, origin, init_seed, inherited, checkpoint.history, facts)


def _known(name: str) -> bool:
    return name in (MODEL, WORKSPACE, DIGITS, DRAWING, PLACE, REPLACED) or bool(
        SNAPSHOT.fullmatch(name) or UNDO.fullmatch(name)
    )


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
