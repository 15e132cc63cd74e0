"""A learner's work through the store and back: runs with snapshots, digits, lessons with undo, the
drawing; a run cut short by a stopped server; tampered parts dropped; the keeper's writes."""

import hashlib
import json
import random

import pytest
import torch
from fuzz import mutations
from test_runs import trained
from test_workspace import pretrained

from lenet.network.handwriting import DigitSet
from lenet.network.model import Net
from lenet.service.keeper import Keeper
from lenet.service.saved_work import INTERRUPTED, Extras, changes, restore
from lenet.service.slots import RunSlots
from lenet.service.workspace import Workspace
from lenet.store.learners import LearnerStore
from lenet.training.settings import preset

KEY = hashlib.sha256(b"a learner's secret").hexdigest()
STROKES = ((70, 60, 210, 60), (210, 60, 120, 255))


def same_weights(a: Net, b: Net) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


@pytest.fixture(scope="module")
def worked(mnist) -> Workspace:
    """A session's work: two runs from scratch, two lessons, three digits of the learner's own."""
    ws = trained(trained(Workspace.from_random_init(4)))
    x = torch.zeros(1, 1, 32, 32)
    x[..., 8:24, 15:17] = 1.0
    ws.teach(x, 1, 0.05)
    ws.teach(x, 1, 0.05)
    for label in (1, 7, 7):
        ws.digits.add(mnist.test_images[label, 0, 2:30, 2:30].clone(), label)
    return ws


def keeper(tmp_path, **kwargs) -> Keeper:
    return Keeper(LearnerStore(tmp_path / "learners.sqlite"), changes, **kwargs)


def test_the_work_comes_back_as_it_was(worked, tmp_path):
    saving = keeper(tmp_path)
    saving.keep(KEY, worked, Extras(STROKES, (("path", ["draw"]),)))
    saving.flush()
    back = restore(saving.load(KEY))
    ws = back.workspace
    assert back.dropped == () and back.interrupted == ()
    assert same_weights(ws.inference_model(), worked.inference_model())
    assert (ws.origin, ws.init_seed, ws.inherited_epochs) == ("random init", 4, 0)
    assert ws.history == worked.history
    assert [run.view().to_dict() for run in ws.runs] == [run.view().to_dict() for run in worked.runs]
    for old, new in zip(worked.runs, ws.runs, strict=True):
        assert [(s.step, s.accuracy) for s in old.kept_snapshots()] == [
            (s.step, s.accuracy) for s in new.kept_snapshots()
        ]
        for a, b in zip(old.kept_snapshots(), new.kept_snapshots(), strict=True):
            assert all(torch.equal(a.weights[k], b.weights[k]) for k in a.weights)
    assert torch.equal(ws.digits.pixels, worked.digits.pixels) and torch.equal(ws.digits.labels, worked.digits.labels)
    assert ws.facts() == worked.facts()
    assert back.extras == Extras(STROKES, (("path", ["draw"]),))
    ws.undo_lesson()  # undo works after the reload: the weights before the last lesson, bit for bit
    expected = Net()
    expected.load_state_dict(worked.undo_weights()[0])
    assert same_weights(ws.inference_model(), expected)


def test_each_snapshot_is_written_once_and_nothing_is_written_for_an_untouched_session(worked, tmp_path):
    saving = keeper(tmp_path)
    written: list[str] = []
    save = saving.store.save
    saving.store.save = lambda learner, parts: (written.extend(parts), save(learner, parts))[1]
    saving.keep(hashlib.sha256(b"idle").hexdigest(), pretrained(), Extras())
    saving.flush()
    assert written == []  # a visitor who changed nothing costs the store nothing
    saving.keep(KEY, worked, Extras(STROKES))
    saving.flush()
    snapshots = [name for name in written if name.startswith("snapshot/")]
    assert len(snapshots) == sum(len(run.kept_snapshots()) for run in worked.runs) > 0
    written.clear()
    saving.flush()
    saving.keep(KEY, worked, Extras(STROKES, (("path", ["draw", "replay"]),)))
    saving.flush()
    assert written == ["place"]  # only what changed


def test_a_run_the_server_stopped_comes_back_stopped_with_its_last_saved_weights(mnist, tmp_path):
    ws = Workspace.from_random_init(1)
    run = ws.start(preset("tutorial", epochs=3, device="cpu"), slots=RunSlots(1))  # long: it is cut short
    saving = keeper(tmp_path, training_every_s=0.0)
    saving.keep(KEY, ws, Extras())
    while len(run.view().losses) < 20:
        run.thread.join(0.05)
    saving.flush()  # the last save before the "server" stops
    saved = restore(saving.load(KEY))
    ws.stop(wait=30)
    back = saved.workspace
    (view,) = [r.view() for r in back.runs]
    assert view.state == "stopped" and view.message == INTERRUPTED and saved.interrupted == ("run 1",)
    assert 20 <= len(view.losses) < view.total_steps and not back.training


def test_a_tampered_part_is_dropped_and_the_rest_comes_back(worked, tmp_path):
    saving = keeper(tmp_path)
    saving.keep(KEY, worked, Extras(STROKES, (("path", ["draw"]),)))
    saving.flush()
    parts = saving.load(KEY)
    hostile = {
        "drawing": b"[[1e999, 5]]",
        "place": json.dumps({"path": [[[]]]}).encode(),
        "workspace": json.dumps({"origin": "x" * 10_000}).encode(),
        "digits": b"PK\x03\x04 not a set",
        "undo/0": parts["model"][:100],
    }
    back = restore({**parts, **hostile, "unknown": b"?"})
    assert set(back.dropped) == {*hostile, "unknown"}
    assert back.workspace.origin == "a saved model"  # the facts that name it were dropped: not "pretrained"
    assert same_weights(back.workspace.inference_model(), worked.inference_model())
    assert back.extras == Extras()
    assert [run.id for run in back.workspace.runs] == [run.id for run in worked.runs]


def test_fuzzed_parts_only_ever_drop(worked, tmp_path):
    saving = keeper(tmp_path)
    saving.keep(KEY, worked, Extras(STROKES, (("path", ["draw"]),)))
    saving.flush()
    parts = saving.load(KEY)
    rng = random.Random(0)
    names = sorted(parts)
    for trial in range(200):
        name = rng.choice(names)
        cut = list(mutations(parts[name], 3, seed=trial))[trial % 3]  # cut short, or bytes flipped
        back = restore({**parts, name: cut})  # never raises
        follows = {n for n in names if n.startswith("snapshot/")} if name == "model" else set()  # runs' snapshots
        assert set(back.dropped) <= {name} | follows
    deep = {"workspace": b"{" * 100_000, "place": b"[" * 5_000 + b"]" * 5_000, "drawing": b"9" * 5_000}
    assert set(restore({**parts, **deep}).dropped) == set(deep)


def test_a_failing_store_stops_the_saving_and_says_why(worked, tmp_path):
    saving = keeper(tmp_path)
    saving.store._db.execute("PRAGMA max_page_count = 4")  # the disk is full
    saving.keep(KEY, worked, Extras(STROKES))
    saving.flush()  # no exception reaches the page or the thread
    assert not saving.saving and "full" in saving.problem
    saving.keep(KEY, worked, Extras())  # a page still hands its work over: nothing happens
    assert saving.load(KEY) == {}


def test_forget_deletes_what_was_written_and_stops_watching(worked, tmp_path):
    saving = keeper(tmp_path)
    saving.keep(KEY, worked, Extras(STROKES))
    saving.flush()
    assert saving.load(KEY)
    saving.forget(KEY)
    saving.flush()
    assert saving.load(KEY) == {}


def test_digits_alone_round_trip_through_the_set_format():
    digits = DigitSet()
    digits.add(torch.full((28, 28), 255, dtype=torch.uint8), 3)
    back = restore({"digits": digits.to_npz()})
    assert back.workspace.origin == "pretrained" and len(back.workspace.digits) == 1


def test_a_tab_behind_another_hands_over_nothing_and_a_forgotten_learner_is_never_written_again(worked, tmp_path):
    saving = keeper(tmp_path)
    first = saving.keep(KEY, pretrained(), Extras(STROKES))
    newer = saving.keep(KEY, worked, Extras(STROKES), seen=first)  # a tab replaced the model
    assert newer == first + 1 and saving.live(KEY) == (worked, newer)
    assert saving.keep(KEY, pretrained(), Extras(), seen=first) == first  # a tab behind it: nothing changes
    assert saving.live(KEY) == (worked, newer)
    saving.flush()
    assert restore(saving.load(KEY)).extras.drawing == STROKES  # the stale tab's empty drawing was not taken
    assert saving.forget(KEY) and saving.forgotten(KEY)
    saving.keep(KEY, worked, Extras(STROKES), seen=newer)  # another tab of the forgotten learner
    saving.flush()
    assert saving.load(KEY) == {}


def test_a_learner_the_store_dropped_meanwhile_is_written_whole_again(worked, tmp_path):
    saving = keeper(tmp_path)
    saving.keep(KEY, worked, Extras(STROKES))
    saving.flush()
    whole = set(saving.load(KEY))
    saving.store.forget(KEY)  # as their days or the total cap would
    saving.keep(KEY, worked, Extras(((1, 2, 3, 4),)))  # one change
    saving.flush()
    saving.flush()
    assert set(saving.load(KEY)) == whole


def test_a_store_locked_for_a_while_makes_saving_wait_not_stop(worked, tmp_path):
    import sqlite3

    saving = keeper(tmp_path)
    holder = sqlite3.connect(saving.store.path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    saving.keep(KEY, worked, Extras(STROKES))
    saving.flush()  # busy for 2 s, then given up for this round
    assert saving.saving and saving.load(KEY) == {}
    holder.execute("ROLLBACK")
    holder.close()
    saving.flush()
    assert saving.saving and saving.load(KEY)
