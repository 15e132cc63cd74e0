"""The time machine's engine: which steps are kept, that they are the weights of those steps, their accuracy."""

import itertools
import threading

import pytest
import torch

from lenet.network.evaluate import evaluate
from lenet.network.model import Net
from lenet.training.events import Finished, Steps
from lenet.training.settings import preset
from lenet.training.snapshots import (
    MAX_SNAPSHOT_BYTES,
    MAX_SNAPSHOTS,
    PROBE,
    Snapshot,
    SnapshotTaker,
    plan,
    probe,
)
from lenet.training.train import fit

TUTORIAL_BYTES = 2 * 81_194  # float16
SHORT = preset("fast", epochs=2, train_subset=2_048, schedule="constant", lr=0.05, device="cpu")  # 16 steps an epoch


def train(config, mnist, stop_after_steps: int | None = None):
    """A seeded model trained with snapshots: (initial weights, final model, snapshots, events)."""
    torch.manual_seed(config.seed)
    model = Net()
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    stop = threading.Event()
    events = []
    for event in fit(model, config, mnist, stop=stop, snapshots=True):
        events.append(event)
        trained = sum(len(e.losses) for e in events if isinstance(e, Steps))
        if stop_after_steps is not None and trained >= stop_after_steps:
            stop.set()
    return initial, model, [e for e in events if isinstance(e, Snapshot)], events


def as_float16(weights) -> dict:
    return {k: v.detach().to(torch.float16) for k, v in weights.items()}


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_the_plan_is_dense_early_keeps_every_epoch_end_and_the_last_step():
    assert plan(1404, 468) == [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 468, 512, 936, 1024, 1404]
    assert plan(3, 3) == [0, 1, 2, 3]
    assert plan(1, 1) == [0, 1]


@pytest.mark.parametrize(("epochs", "steps_per_epoch"), [(30, 60_000), (30, 3_750), (30, 1), (7, 469), (1, 2)])
def test_the_plan_never_passes_its_limit_and_thins_epoch_ends_evenly(epochs, steps_per_epoch):
    total = epochs * steps_per_epoch
    steps = plan(total, steps_per_epoch)
    assert len(steps) <= MAX_SNAPSHOTS and MAX_SNAPSHOTS * TUTORIAL_BYTES <= MAX_SNAPSHOT_BYTES
    assert steps == sorted(set(steps)) and steps[0] == 0 and steps[-1] == total
    assert {0, 1, 2} & set(range(total + 1)) <= set(steps)  # the first steps, as far as the run goes
    assert all(2**k in steps for k in range(total.bit_length()) if 2**k < total)
    ends = [s for s in steps if s % steps_per_epoch == 0 and s & (s - 1)]  # epoch ends that are no power of two
    assert len(ends) >= min(epochs - total.bit_length(), 3)  # thinned, never dropped
    gaps = [b - a for a, b in itertools.pairwise(ends)]
    assert not gaps or max(gaps) - min(gaps) <= 2 * steps_per_epoch  # evenly


@pytest.mark.slow
def test_snapshots_are_the_weights_at_their_steps(mnist):
    initial, model, snapshots, events = train(SHORT, mnist)
    assert [s.step for s in snapshots] == plan(32, 16) == [0, 1, 2, 4, 8, 16, 32]
    assert same(snapshots[0].weights, as_float16(initial))
    assert same(snapshots[-1].weights, as_float16(model.state_dict()))
    # the reference for a step inside the run: a one-epoch run from the same seed ends where the first epoch did
    _, one_epoch, _, _ = train(SHORT.__class__(**{**SHORT.__dict__, "epochs": 1}), mnist)
    assert same(snapshots[5].weights, as_float16(one_epoch.state_dict()))
    assert all(s.nbytes == TUTORIAL_BYTES and s.accuracy is None for s in snapshots)
    assert isinstance(events[-1], Finished)
    # taking them changes nothing: the same run without snapshots ends with the same weights, bit for bit
    torch.manual_seed(SHORT.seed)
    plain = Net()
    list(fit(plain, SHORT, mnist))
    assert same(plain.state_dict(), model.state_dict())


@pytest.mark.slow
def test_a_stopped_run_keeps_its_snapshots_and_ends_with_its_last_weights(mnist):
    config = preset("tutorial", epochs=2, device="cpu")  # 1,874 steps: stopped long before
    _, model, snapshots, events = train(config, mnist, stop_after_steps=40)
    trained = sum(len(e.losses) for e in events if isinstance(e, Steps))
    assert events[-1].reason == "stopped"
    assert [s.step for s in snapshots][:7] == [0, 1, 2, 4, 8, 16, 32]
    assert snapshots[-1].step == trained and same(snapshots[-1].weights, as_float16(model.state_dict()))


@pytest.mark.slow
def test_a_diverged_run_keeps_only_finite_snapshots_and_ends_with_the_restored_weights(mnist):
    config = preset("fast", epochs=1, train_subset=4_096, lr=100.0, device="cpu")
    _, model, snapshots, events = train(config, mnist)
    assert events[-1].reason == "diverged"
    assert all(torch.isfinite(t.float()).all() for s in snapshots for t in s.weights.values())
    assert same(snapshots[-1].weights, as_float16(model.state_dict()))
    assert len({s.step for s in snapshots}) == len(snapshots)


def test_a_snapshot_is_kept_only_if_its_own_weights_are_finite_whatever_the_loss_says():
    """On some CPUs the weights overflow before the loss shows it: each snapshot is judged by its weights."""
    model = Net()
    taker = SnapshotTaker(model, [0, 1, 2, 3])
    taker.take(0)
    with torch.no_grad():
        model.fc1.weight[0, 0] = 70_000.0  # finite in float32, infinite in a float16 snapshot
    taker.take(1)
    with torch.no_grad():
        model.fc1.weight[0, 0] = float("nan")
    taker.take(2)
    with torch.no_grad():
        model.fc1.weight[0, 0] = 0.5
    taker.take(3)
    kept = taker.collect(finite=True)  # the loss looked finite throughout
    assert [snapshot.step for snapshot in kept] == [0, 3]
    assert all(torch.isfinite(t.float()).all() for snapshot in kept for t in snapshot.weights.values())


@pytest.mark.slow
def test_the_probe_measures_each_snapshot_on_the_fixed_thousand_test_digits(mnist):
    _, _, snapshots, _ = train(preset("fast", epochs=1, train_subset=12_800, device="cpu"), mnist)  # 100 steps
    images, labels = probe(mnist.test_images, mnist.test_labels)
    assert len(images) == 1_000 and torch.equal(images[1], mnist.test_images[10])
    measured: list[Snapshot] = []
    for snapshot in snapshots:
        PROBE.submit(snapshot, images, labels, measured.append)
    assert PROBE.wait(timeout=60)
    assert [s.step for s in measured] == [s.step for s in snapshots]
    for snapshot in (measured[0], measured[-1]):
        reference = Net()
        reference.load_state_dict({k: v.float() for k, v in snapshot.weights.items()})
        assert snapshot.accuracy == pytest.approx(evaluate(reference, images, labels).accuracy, abs=1e-6)
    assert measured[0].accuracy < 0.25 < 0.6 < measured[-1].accuracy  # chance, then reading digits (80-90 %)
