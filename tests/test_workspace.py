"""Sessions' workspaces: isolation, the server-wide run limit and its line, runs that outlive their session."""

import threading
import time

import pytest
import torch

from lenet.service.runs import expected_wait_s, place_in_line
from lenet.service.slots import RunSlots
from lenet.service.workspace import Refused, Workspace
from lenet.store.checkpoint import PRETRAINED, read_checkpoint
from lenet.training.settings import preset
from lenet.training.snapshots import PROBE

LONG = preset("tutorial", epochs=5)  # minutes of work: every test here stops it


def pretrained() -> Workspace:
    checkpoint = read_checkpoint(PRETRAINED)
    return Workspace.from_checkpoint(checkpoint, "pretrained")


def wait_until(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.slow
def test_two_sessions_training_at_once_share_nothing(mnist):
    slots = RunSlots(2)
    a, b = pretrained(), Workspace.from_random_init()
    run_a = a.start(preset("fast", epochs=1, train_subset=2_560, seed=1), slots=slots)
    run_b = b.start(preset("tutorial", epochs=2, train_subset=1_280, seed=2), slots=slots)
    run_a.thread.join(120)
    run_b.thread.join(120)
    assert run_a.state == run_b.state == "completed"
    assert a.model is not b.model and a.history is not b.history
    assert [r.config["lr"] for r in a.history[a.inherited_epochs :]] == [0.1]
    assert [r.config["lr"] for r in b.history] == [0.01, 0.01]
    assert a.run.optimizer_state["param_groups"][0]["momentum"] == 0.9
    assert b.run.optimizer_state["param_groups"][0]["momentum"] == 0.0
    for pa, pb in zip(a.model.parameters(), b.model.parameters(), strict=True):
        assert not torch.equal(pa, pb)


@pytest.mark.slow
def test_runs_beyond_the_limit_wait_in_line_and_take_turns(mnist):
    slots = RunSlots(1, turn_s=1.0)
    first, second, third = pretrained(), pretrained(), pretrained()
    first.start(LONG, slots=slots)
    wait_until(lambda: first.run.state == "training")
    second.start(LONG, slots=slots)
    third.start(LONG, slots=slots)
    wait_until(lambda: slots.place(third.run) == 2)
    assert slots.place(second.run) == 1 and slots.busy() == (1, 2)
    # each run ahead takes a turn of at most turn_s (the one training, what is left of it): the third
    # waits a turn longer than the second, and the wait counts down
    assert 0 <= expected_wait_s(second.run, slots) <= slots.turn_s
    second_waits = expected_wait_s(second.run, slots)
    assert expected_wait_s(third.run, slots) == pytest.approx(second_waits + slots.turn_s, abs=0.05)
    time.sleep(0.2)
    assert expected_wait_s(second.run, slots) < second_waits or slots.place(second.run) is None  # it counts down
    assert expected_wait_s(first.run, slots) == 0.0 and place_in_line(first.run, slots) is None  # it trains

    # after its turn the first run waits at the back of the line, halfway through its work
    wait_until(lambda: second.run.state == "training", timeout=30)
    assert first.run.state == "queued" and len(first.run.losses) > 0 and slots.place(first.run) == 2
    third.stop(wait=10)  # leaving the line
    assert third.run.state == "stopped" and not third.run.losses
    wait_until(lambda: first.run.state == "training", timeout=30)  # round and round: its turn again
    first.stop(wait=30)
    second.stop(wait=30)
    assert first.run.state == second.run.state == "stopped"
    assert slots.busy() == (0, 0)


@pytest.mark.slow
def test_a_class_pressing_start_together_each_sees_its_run_train_soon(mnist):
    """Three sessions on one slot: one asks for the most the form allows (30 epochs of 60,000 digits at
    batch 16, half an hour here); the two who press Start after it train within a turn or two each,
    and the big run goes on afterwards."""
    slots = RunSlots(1, turn_s=1.0)
    big, small = pretrained(), [pretrained(), pretrained()]
    big.start(preset("fast", epochs=30, batch_size=16), slots=slots)
    wait_until(lambda: len(big.run.losses) > 0)
    pressed = time.monotonic()
    for ws in small:
        ws.start(preset("fast", epochs=1, train_subset=5_120), slots=slots)
    first_steps = []
    for ws in small:
        wait_until(lambda ws=ws: len(ws.run.losses) > 0, timeout=30)
        first_steps.append(time.monotonic() - pressed)
    print(f"\nthe two small runs' first steps: {first_steps[0]:.1f} s and {first_steps[1]:.1f} s after Start")
    assert first_steps[1] < 4 * slots.turn_s + 2  # the big run's turn, the first small one's, then its own
    for ws in small:
        ws.run.thread.join(60)
        assert ws.run.state == "completed"
    steps_then = len(big.run.losses)
    wait_until(lambda: len(big.run.losses) > steps_then)  # it trains again: no run is starved
    big.stop(wait=30)
    assert big.run.state == "stopped"


@pytest.mark.slow
def test_a_run_larger_than_the_form_allows_is_refused_before_the_line(mnist):
    ws = pretrained()
    with pytest.raises(Refused, match="at most 112,500"):
        ws.start(preset("fast", epochs=30, batch_size=1), slots=RunSlots(1))
    with pytest.raises(Refused, match="at most 1,024"):  # a step's memory grows with its batch
        ws.start(preset("fast", epochs=1, batch_size=60_000), slots=RunSlots(1))
    assert ws.run is None
    run = ws.start(preset("fast", epochs=30, batch_size=16), slots=RunSlots(1))  # the most the form allows
    ws.stop(wait=30)
    assert run.state == "stopped"


@pytest.mark.slow
def test_a_run_stops_soon_after_its_session_ends(mnist):
    threads_before = threading.active_count()
    session_connected = True
    ws = pretrained()
    ws.owner_alive, ws.owner_grace_s = (lambda: session_connected), 3.0
    run = ws.start(LONG, slots=RunSlots(1))
    wait_until(lambda: len(run.losses) > 0)
    session_connected = False
    ended = time.monotonic()
    run.thread.join(ws.owner_grace_s + 10)
    assert not run.thread.is_alive(), "the training thread outlived its session"
    print(f"\ntraining thread ended {time.monotonic() - ended:.1f} s after its session")
    assert run.state == "stopped"
    assert PROBE.wait(timeout=30)  # the snapshots' accuracies, measured after the run: then that thread ends too
    assert threading.active_count() == threads_before
    assert all(torch.isfinite(p).all() for p in ws.inference_model().parameters())


def test_an_abandoned_workspace_gives_its_memory_back():
    from lenet.service.workspace import live_workspaces

    connected = True
    ws = pretrained()
    ws.owner_alive = lambda: connected
    assert ws in live_workspaces()
    assert not ws.release_if_abandoned(after_s=0.2)  # its session is there
    connected = False
    assert not ws.release_if_abandoned(after_s=0.2)  # gone, but only just: it may reconnect
    time.sleep(0.3)
    assert ws.release_if_abandoned(after_s=0.2)
    assert ws.model is None and ws.history == [] and ws not in live_workspaces()


@pytest.mark.slow
def test_a_training_workspace_is_not_released(mnist):
    ws = pretrained()
    ws.owner_alive = lambda: False
    run = ws.start(LONG, slots=RunSlots(1))
    wait_until(lambda: run.state == "training")
    assert not ws.release_if_abandoned(after_s=0.0)
    ws.stop(wait=30)
