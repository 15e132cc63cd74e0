"""The model a reset, a loaded file or a new network replaced: brought back as it was, kept across a reload."""

import hashlib
import json
import sys
import threading

import pytest
import torch
from fuzz import mutations
from test_runs import QUICK, trained
from test_saved_work import keeper, same_weights
from test_workspace import pretrained

from lenet.network.architecture import TUTORIAL, Architecture
from lenet.network.model import Net
from lenet.service.saved_work import Extras, restore
from lenet.service.slots import RunSlots
from lenet.service.workspace import Busy, Refused, Workspace
from lenet.store.checkpoint import checkpoint_bytes
from lenet.training.settings import preset

KEY = hashlib.sha256(b"a learner who presses reset").hexdigest()
SMALL = Architecture(conv1_channels=4, conv2_channels=8, kernel_size=5, fc1_units=32, fc2_units=16)


def taught(ws: Workspace) -> Workspace:
    x = torch.zeros(1, 1, 32, 32)
    x[..., 8:24, 15:17] = 1.0
    ws.teach(x, 1, 0.05)
    return ws


@pytest.fixture(scope="module")
def replaced(mnist) -> Workspace:
    """A trained and taught model, replaced by a fresh network of the learner's own."""
    return taught(trained(Workspace.from_random_init(3))).replaced_by(Workspace.from_random_init(0, SMALL))


def facts_but_undo(ws: Workspace) -> dict:
    return {**ws.facts(), "undo_tested": None}


def test_a_replaced_model_comes_back_as_it_was_and_the_one_it_replaced_is_kept_in_turn(mnist):
    old = taught(trained(Workspace.from_random_init(3)))
    seen = (old.origin, old.init_seed, old.inherited_epochs, old.history, old.last_accuracy, facts_but_undo(old))
    new = trained(old.replaced_by(Workspace.from_random_init(0, SMALL)))
    assert new.replaced is not None and new.replaced.arch == TUTORIAL and new.replaced.accuracy == old.last_accuracy
    back = new.replaced_by(Workspace.from_replaced(new.replaced))
    assert same_weights(back.inference_model(), old.inference_model())  # bit for bit
    assert (back.origin, back.init_seed, back.inherited_epochs, back.history, back.last_accuracy) == seen[:5]
    assert facts_but_undo(back) == seen[5] and not back.can_undo_lesson  # the lessons' undo stays behind
    assert back.replaced.arch == SMALL and same_weights(back.replaced.model(), new.inference_model())  # a swap
    assert [run.number for run in back.runs] == [1, 2]  # the session's runs stay with whichever model it has
    run = back.start(preset("fast", epochs=1, train_subset=1_280, device="cpu"))
    run.thread.join(120)
    assert (run.start, run.init_seed) == ("where run 1 ended, then 1 lesson", None)  # not "from scratch"
    again = back.replaced_by(Workspace.from_random_init(1))
    assert same_weights(again.replaced.model(), back.inference_model())  # one model kept, the latest replaced
    fresh = again.replaced_by(Workspace.from_random_init(2))  # a fresh model holds nothing to keep:
    assert fresh.replaced is again.replaced  # the trained one stays the one to bring back
    assert fresh.replaced_by(Workspace.from_replaced(fresh.replaced)).replaced is None  # and nothing is left


def test_a_model_with_nothing_learned_in_it_is_not_kept_but_a_loaded_file_is(mnist):
    assert pretrained().replaced_by(Workspace.from_random_init(1)).replaced is None
    assert Workspace.from_random_init(1).replaced_by(pretrained()).replaced is None
    loaded = Workspace.from_upload(pretrained().download(), "mine.pt")
    assert loaded.replaced_by(pretrained()).replaced.origin == "uploaded mine.pt"


def test_nothing_is_replaced_while_a_run_trains_and_a_closed_session_lets_the_replaced_model_go(mnist):
    ws = Workspace.from_random_init(0)
    run = ws.start(preset("tutorial", epochs=3, device="cpu"))
    while len(run.view().losses) < 3:
        run.thread.join(0.05)
    with pytest.raises(Busy):
        ws.replaced_by(Workspace.from_random_init(1))
    ws.stop(wait=30)
    stopped_at = ws.last_accuracy  # a stopped run's own test, not an epoch's
    new = ws.replaced_by(Workspace.from_random_init(1))
    assert new.replaced is not None and new.replaced.accuracy == stopped_at is not None
    with pytest.raises(Refused, match="Another tab of yours changed your model"):  # a page still holding it
        ws.replaced_by(Workspace.from_random_init(2))
    with pytest.raises(Refused, match="Another tab of yours changed your model"):
        ws.start(preset("tutorial", epochs=1, device="cpu"))
    assert new.replaced_by(Workspace.from_replaced(new.replaced)).last_accuracy == stopped_at
    new.owner_alive = lambda: False
    assert new.release_if_abandoned(after_s=0.0) and new.replaced is None


def test_after_a_reload_the_next_run_starts_where_the_last_one_ended(mnist, tmp_path):
    ws = trained(Workspace.from_random_init(2))
    saving = keeper(tmp_path)
    saving.keep(KEY, ws, Extras())
    saving.flush()
    back = restore(saving.load(KEY)).workspace
    assert back.run is None and back.ended == "run 1"
    run = back.start(preset("fast", epochs=1, train_subset=1_280, device="cpu"))
    run.thread.join(120)
    assert (run.start, run.init_seed) == ("where run 1 ended", None)


def test_the_replaced_model_comes_back_after_a_reload(replaced, tmp_path):
    saving = keeper(tmp_path)
    saving.keep(KEY, replaced, Extras())
    saving.flush()
    parts = saving.load(KEY)
    back = restore(parts)
    assert back.dropped == ()
    kept, old = back.workspace.replaced, replaced.replaced
    assert same_weights(kept.model(), old.model()) and kept.arch == TUTORIAL and back.workspace.model.arch == SMALL
    assert (kept.origin, kept.init_seed, kept.inherited_epochs, kept.history, dict(kept.facts)) == (
        old.origin,
        old.init_seed,
        old.inherited_epochs,
        old.history,
        dict(old.facts),
    )
    # a store written before models were kept: its facts read back, without a model to bring back
    facts = json.loads(parts["workspace"])
    del facts["replaced"], facts["ended"]
    earlier = restore({**{k: v for k, v in parts.items() if k != "replaced"}, "workspace": json.dumps(facts).encode()})
    assert earlier.dropped == () and earlier.workspace.replaced is None and earlier.workspace.lessons == 0


def test_a_tampered_replaced_model_is_dropped_alone(replaced, tmp_path):
    saving = keeper(tmp_path)
    saving.keep(KEY, replaced, Extras())
    saving.flush()
    parts = saving.load(KEY)
    facts = json.loads(parts["workspace"])
    for trial in range(60):
        cut = list(mutations(parts["replaced"], 3, seed=trial))[trial % 3]
        back = restore({**parts, "replaced": cut})  # never raises
        assert set(back.dropped) <= {"replaced"} and back.workspace.model.arch == SMALL
    nested = facts["replaced"]
    wrong = (
        {"origin": 5}, {"ended": "run 0; drop"}, {"lessons": -1}, {"replaced": {}}, {"extra": 1}, {"accuracy": 2.0},
        {"after": 0.5, "before": None},  # a lesson's accuracy after it, without the one before: no lesson sets that
        {"lessons": 0, "before_run": 0, "undo_tested": [0.5]},  # a lesson to undo that was never taught
    )  # fmt: skip
    for change in wrong:
        hostile = {**facts, "replaced": {**nested, **change}}
        back = restore({**parts, "workspace": json.dumps(hostile).encode()})
        assert back.dropped == ("replaced",) and back.workspace.replaced is None and back.workspace.lessons == 0
    for wrong in (None, [], "x" * 100):
        back = restore({**parts, "workspace": json.dumps({**facts, "replaced": wrong}).encode()})
        assert back.dropped == ("replaced",) and back.workspace.replaced is None and back.workspace.lessons == 0
    other = Net(Architecture(conv1_channels=2))
    back = restore({**parts, "replaced": checkpoint_bytes(other)})  # another network's weights: they are its
    assert back.dropped == () and back.workspace.replaced.arch == other.arch


def test_tampered_facts_of_the_workspace_itself_are_dropped_and_its_weights_are_not_called_pretrained(
    replaced, tmp_path
):
    saving = keeper(tmp_path)
    saving.keep(KEY, replaced, Extras())
    saving.flush()
    parts = saving.load(KEY)
    facts = json.loads(parts["workspace"])
    for change in ({"after": 0.5, "before": None}, {"lessons": 1, "before_run": 1, "undo_tested": [0.5]}):
        back = restore({**parts, "workspace": json.dumps({**facts, **change}).encode()})
        assert "workspace" in back.dropped and back.workspace.origin == "a saved model"
        assert same_weights(back.workspace.inference_model(), replaced.inference_model())


def test_a_learner_with_a_thousand_tabs_makes_no_chain_of_liveness_checks():
    from lenet.ui.session import MOST_SHARED, AnyAlive

    alive = lambda: False  # noqa: E731
    for tab in range(5_000):
        alive = AnyAlive.joined(alive, lambda tab=tab: tab == 4_999)
    assert alive() and len(alive.checks) == MOST_SHARED  # a nested chain ran out of stack at about 1,000
    same = alive.checks[-1]
    assert AnyAlive.joined(alive, same).checks.count(same) == 1  # a session that comes back is there once


def test_a_replaced_model_asks_for_one_full_collection():
    from lenet.memory import collect_if_asked, collect_soon

    collect_if_asked()
    collect_soon()
    assert collect_if_asked() and not collect_if_asked()


def pressed_at_once(ws: Workspace) -> dict[str, object]:
    """Start and a replacement of `ws`, from two threads released together (two tabs of one learner)."""
    results: dict[str, object] = {}
    barrier = threading.Barrier(2)
    other = Workspace.from_random_init(99)  # made beforehand: the press itself is all that races

    def press(name: str, action) -> None:
        barrier.wait()
        try:
            results[name] = action()
        except Refused as error:  # Busy included
            results[name] = error

    tabs = [
        threading.Thread(target=press, args=("start", lambda: ws.start(QUICK, slots=RunSlots(1)))),
        threading.Thread(target=press, args=("swap", lambda: ws.replaced_by(other))),
    ]
    for tab in tabs:
        tab.start()
    for tab in tabs:
        tab.join()
    ws.stop(wait=30)
    return results


def test_start_and_a_replacement_pressed_at_once_in_two_tabs_never_both_go_through(mnist):
    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # the threads take turns every microsecond: every interleaving has its chance
    try:
        outcomes = [pressed_at_once(Workspace.from_random_init(trial)) for trial in range(30)]
    finally:
        sys.setswitchinterval(switching)
    went_through = [sum(not isinstance(result, Refused) for result in outcome.values()) for outcome in outcomes]
    assert went_through == [1] * 30
