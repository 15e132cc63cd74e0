"""Sessions' workspaces: isolation, the server-wide run limit and its line, runs that outlive their session."""

import threading
import time

import pytest
import torch

from lenet.checkpoint import PRETRAINED, read_checkpoint
from lenet.model import Net
from lenet.runs import expected_wait_s, place_in_line
from lenet.settings import preset
from lenet.slots import RunSlots
from lenet.snapshots import PROBE
from lenet.workspace import OWNER_GRACE_S, Workspace

LONG = preset("tutorial", epochs=5)  # minutes of work: every test here stops it


def pretrained() -> Workspace:
    checkpoint = read_checkpoint(PRETRAINED, Net())
    return Workspace.from_checkpoint(checkpoint, "pretrained")


def wait_until(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


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


def test_runs_beyond_the_limit_wait_in_line(mnist):
    slots = RunSlots(1)
    first, second, third = pretrained(), pretrained(), pretrained()
    first.start(LONG, slots=slots)
    wait_until(lambda: first.run.state == "training")
    second.start(LONG, slots=slots)
    third.start(LONG, slots=slots)
    wait_until(lambda: slots.place(third.run) == 2)
    assert second.run.state == third.run.state == "queued"
    assert slots.place(second.run) == 1 and slots.busy() == (1, 2)
    wait_until(lambda: first.run.images_per_second > 0)
    # the wait is the images still ahead at the speed the first run trains: the third waits a whole run longer
    one_run = LONG.epochs * (60_000 // LONG.batch_size) * LONG.batch_size / first.run.images_per_second
    assert 0 < expected_wait_s(second.run, slots) <= one_run
    assert expected_wait_s(third.run, slots) == pytest.approx(expected_wait_s(second.run, slots) + one_run, rel=0.05)
    assert expected_wait_s(first.run, slots) == 0.0 and place_in_line(first.run, slots) is None  # it trains

    third.stop(wait=10)  # leaving the line
    assert third.run.state == "stopped" and slots.busy() == (1, 1)
    first.stop(wait=30)
    wait_until(lambda: second.run.state == "training")
    assert slots.place(second.run) is None
    second.stop(wait=30)
    assert slots.busy() == (0, 0)


def test_a_run_stops_soon_after_its_session_ends(mnist):
    threads_before = threading.active_count()
    session_connected = True
    ws = pretrained()
    ws.owner_alive = lambda: session_connected
    run = ws.start(LONG, slots=RunSlots(1))
    wait_until(lambda: len(run.losses) > 0)
    session_connected = False
    ended = time.monotonic()
    run.thread.join(OWNER_GRACE_S + 10)
    assert not run.thread.is_alive(), "the training thread outlived its session"
    print(f"\ntraining thread ended {time.monotonic() - ended:.1f} s after its session")
    assert run.state == "stopped"
    assert PROBE.wait(timeout=30)  # the snapshots' accuracies, measured after the run: then that thread ends too
    assert threading.active_count() == threads_before
    assert all(torch.isfinite(p).all() for p in ws.inference_model().parameters())


def test_an_abandoned_workspace_gives_its_memory_back():
    from lenet.workspace import live_workspaces

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


def test_a_training_workspace_is_not_released(mnist):
    ws = pretrained()
    ws.owner_alive = lambda: False
    run = ws.start(LONG, slots=RunSlots(1))
    wait_until(lambda: run.state == "training")
    assert not ws.release_if_abandoned(after_s=0.0)
    ws.stop(wait=30)
