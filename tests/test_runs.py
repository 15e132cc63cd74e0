"""A session's runs: the same start from the same seed, what each run keeps, and runs in checkpoints."""

import copy
import dataclasses
import io
import math
import random

import pytest
import torch
from test_workspace import pretrained

from lenet.network.model import Net
from lenet.service.runlog import SNAPSHOT_RUNS, RunLog, lineage
from lenet.service.runs import TrainingRun
from lenet.service.slots import RunSlots
from lenet.service.workspace import Refused, Workspace
from lenet.store.checkpoint import MAX_CHECKPOINT_BYTES, CheckpointError, read_checkpoint
from lenet.store.records import MAX_CURVE_POINTS, MAX_RUNS, EpochRecord, RunRecord, RunState
from lenet.training.events import Steps
from lenet.training.settings import TrainConfig, preset
from lenet.training.snapshots import MAX_SNAPSHOT_BYTES, PROBE

QUICK = preset("fast", epochs=1, train_subset=1_280, device="cpu")  # 10 steps


def trained(ws: Workspace, config=QUICK) -> Workspace:
    run = ws.start(config, slots=RunSlots(1))
    run.thread.join(120)
    assert run.state == "completed"
    return ws


def test_the_same_start_seed_gives_bit_identical_weights_and_another_seed_does_not():
    a, b, c = Workspace.from_random_init(7), Workspace.from_random_init(7), Workspace.from_random_init(8)
    for pa, pb, pc in zip(a.model.parameters(), b.model.parameters(), c.model.parameters(), strict=True):
        assert torch.equal(pa, pb) and not torch.equal(pa, pc)
    rng_before = torch.random.get_rng_state()
    Workspace.from_random_init(7)
    assert torch.equal(torch.random.get_rng_state(), rng_before)  # the process's own random stream is untouched


@pytest.mark.slow
def test_two_runs_from_the_same_seed_start_alike_and_differ_only_by_their_setting(mnist):
    first = trained(Workspace.from_random_init(3))
    again = Workspace.as_run_started(first.run)
    assert again.init_seed == 3
    trained(again, preset("fast", epochs=1, train_subset=1_280, device="cpu", lr=0.02))
    start_a, start_b = first.run.snapshots[0].weights, again.run.snapshots[0].weights
    assert all(torch.equal(start_a[k], start_b[k]) for k in start_a)
    assert first.run.start == again.run.start == "from scratch, start seed 3"
    assert first.run.losses[0] == again.run.losses[0]  # the same first batch through the same weights
    assert first.run.losses[-1] != again.run.losses[-1]


@pytest.mark.slow
def test_only_a_reproducible_start_can_be_started_again(mnist):
    ws = trained(pretrained())
    assert ws.run.start == "the pretrained weights" and ws.run.init_seed is None
    again = Workspace.as_run_started(ws.run)
    expected = pretrained().model.state_dict()
    assert all(torch.equal(again.model.state_dict()[k], expected[k]) for k in expected)
    trained(ws)
    assert ws.run.start == "where run 1 ended"
    with pytest.raises(Refused, match="only a run from scratch or from the pretrained weights"):
        Workspace.as_run_started(ws.run)


@pytest.mark.slow
def test_a_session_keeps_its_runs_and_the_snapshots_of_the_last_three(mnist):
    ws = pretrained()
    for _ in range(SNAPSHOT_RUNS + 1):
        trained(ws)
    assert PROBE.wait(timeout=60)
    assert [run.number for run in ws.runs] == [1, 2, 3, 4]
    assert [bool(run.snapshots) for run in ws.runs] == [False, True, True, True]
    assert all(run.accuracy_points and run.end_accuracy for run in ws.runs)  # a comparison keeps these
    assert all(run.evaluation is None and run.optimizer_state is None for run in list(ws.runs)[:-1])  # 330 KB each
    latest = list(ws.runs)[-1]
    assert [step for step, _ in latest.accuracy_points] == latest.snapshot_steps() == [0, 1, 2, 4, 8, 10]
    assert all(s.accuracy is not None for s in latest.snapshots)
    assert sum(s.nbytes for s in latest.snapshots) < MAX_SNAPSHOT_BYTES
    # a reset or a new model from scratch keeps the session's runs, and numbers on from them
    fresh = ws.replaced_by(Workspace.from_random_init(1))
    trained(fresh)
    assert [run.number for run in fresh.runs] == [1, 2, 3, 4, 5]
    assert [bool(run.snapshots) for run in fresh.runs] == [False, False, True, True, True]


@pytest.mark.slow
def test_runs_travel_in_the_checkpoint_without_their_snapshots(mnist):
    ws = trained(trained(Workspace.from_random_init(5)))
    assert PROBE.wait(timeout=60)
    raw = ws.download()
    checkpoint = read_checkpoint(raw)
    assert [record.number for record in checkpoint.runs] == [1, 2]
    assert all("snapshots" not in record.to_dict() for record in checkpoint.runs)
    loaded = Workspace.from_upload(raw, "mine.pt")
    for mine, back in zip(ws.runs, loaded.runs, strict=True):
        assert (back.id, back.start, back.config, back.state) == (mine.id, mine.start, mine.config, mine.state)
        assert back.losses.tolist() == pytest.approx(mine.losses.tolist())
        assert back.accuracy_points == mine.accuracy_points and back.end_accuracy == mine.end_accuracy
        assert back.init_seed == mine.init_seed and not back.snapshots
    # uploaded into a session that has runs of its own: appended and numbered on, once each
    other = trained(pretrained())
    merged = other.replaced_by(Workspace.from_upload(raw, "mine.pt"))
    assert [(run.number, run.start) for run in merged.runs] == [
        (1, "the pretrained weights"),
        (2, "from scratch, start seed 5"),
        (3, "where run 1 ended"),
    ]
    assert len(merged.replaced_by(Workspace.from_upload(raw, "mine.pt")).runs) == 3


@pytest.mark.slow
def test_a_long_run_keeps_its_curve_averaged_down_in_the_checkpoint(mnist):
    ws = trained(pretrained())
    run = ws.run
    run.losses.extend([0.5] * 2_490)  # as if it had trained 2,500 steps
    record = run.view().to_dict()
    assert record["loss_stride"] == 3 and len(record["losses"]) == math.ceil(2_500 / 3) <= MAX_CURVE_POINTS
    assert RunRecord.from_dict(record).steps_trained >= 2_500


@pytest.fixture(scope="module")
def run_record(mnist) -> dict:
    """A real run's record, trained once for every case that spoils it."""
    return trained(Workspace.from_random_init(2)).run.view().to_dict()


HOSTILE = [
    ("losses", [float("nan")]),
    ("losses", [-1.0]),
    ("losses", [0.1] * (MAX_CURVE_POINTS + 1)),
    ("losses", "0.1"),
    ("accuracy_points", [[1, 1.5]]),
    ("accuracy_points", [[1]]),
    ("accuracy_points", [["1", 0.5]]),
    ("accuracy_points", [[1, 0.5]] * 65),
    ("state", "training"),
    ("number", 0),
    ("number", True),
    ("total_steps", -1),
    ("loss_stride", 0),
    ("init_seed", 2**40),
    ("start", "x" * 10_000),
    ("id", 7),
    ("end_accuracy", float("inf")),
    ("config", {"lr": "fast"}),
    ("config", {"epochs": 2.5}),
    ("config", {"lr": -1.0}),
    ("config", {"rm -rf": 1}),
    ("config", []),
    ("epochs", [{"epoch": 1}]),
    ("epochs", [{"epoch": 1, "test_accuracy": 0.5}] * 101),
]


@pytest.mark.parametrize(("key", "value"), HOSTILE)
def test_a_malformed_run_record_is_refused_with_its_reason(run_record, key, value):
    with pytest.raises(ValueError, match=r"run|config|epoch|setting|Learning rate|history"):
        RunRecord.from_dict({**run_record, key: value})


def checkpoint_with_runs(runs: object) -> bytes:
    buffer = io.BytesIO()
    torch.save({"model": Net().state_dict(), "config": {}, "history": [], "runs": runs}, buffer)
    return buffer.getvalue()


@pytest.mark.slow
def test_a_checkpoint_with_a_malformed_or_huge_runs_record_is_refused(run_record):
    record = run_record
    for runs, reason in [
        ([record] * (MAX_RUNS + 1), "at most 20 are kept"),
        ([{**record, "losses": [float("nan")]}], "runs is not valid"),
        ({"a": record}, "not a list"),
        ([{**record, "extra": 1}], "unknown entries"),
        ([{**record, "losses": [0.5] * 400_000}], "unpacks to"),  # huge: refused before it is unpacked
    ]:
        with pytest.raises(CheckpointError, match=reason):
            Workspace.from_upload(checkpoint_with_runs(runs), "bad.pt")
    # the huge one passes the file's own size cap: what refuses it is what its pickle unpacks to
    assert len(checkpoint_with_runs([{**record, "losses": [0.5] * 400_000}])) < MAX_CHECKPOINT_BYTES


@pytest.mark.slow
def test_fuzzed_run_records_raise_only_a_checkpoint_error(run_record):
    """Random changes to every part of a real record: a `CheckpointError` or a workspace, nothing else."""
    record, counted = run_record, {"refused": 0, "read": 0}
    rng = random.Random(0)
    odd = [None, -1, 0, 2**63, 1e308, float("nan"), "", "x" * 300, [], {}, [[]], [None], True, b"\x00", (1, 2)]
    for _ in range(300):
        mutated = copy.deepcopy(record)
        for _ in range(rng.randint(1, 3)):
            key = rng.choice(sorted(mutated))
            mutated[key] = rng.choice(odd)
        try:
            Workspace.from_upload(checkpoint_with_runs([mutated]), "fuzzed.pt")
            counted["read"] += 1
        except CheckpointError:
            counted["refused"] += 1
    print(f"\nfuzzed run records: {counted}")
    assert counted["refused"] >= 250 and counted["read"] > 0  # measured: 289 refused, 11 read


def test_a_view_of_a_live_run_cannot_change_it_nor_be_changed():
    run = TrainingRun(TrainConfig(), number=1)
    run.record(Steps(epoch=1, first_step=0, losses=[2.3, 2.2], total_steps=10, images_per_second=100.0))
    run.record_hand(1, 0.5)
    view = run.view()
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.state = RunState.COMPLETED
    with pytest.raises(TypeError):
        view.losses[0] = 0.0
    with pytest.raises(TypeError):
        view.hand_by_epoch[2] = 1.0
    run.record(Steps(epoch=1, first_step=2, losses=[2.1], total_steps=10, images_per_second=100.0))
    assert view.losses.tolist() == pytest.approx([2.3, 2.2]) and len(run.view().losses) == 3  # a copy, taken once
    assert RunRecord.from_dict({**view.to_dict(), "state": "completed"}).losses.tolist() == view.losses.tolist()


def test_the_accuracy_on_my_digits_is_found_by_the_epoch_in_the_models_history():
    run = TrainingRun(TrainConfig(), first_epoch=4, number=2)  # a model that came with 3 epochs
    run.record_hand(1, 0.5)
    view = run.view()
    assert view.hand_at(EpochRecord(epoch=4, test_accuracy=0.9)) == 0.5
    assert view.hand_at(EpochRecord(epoch=1, test_accuracy=0.9)) is None


def test_the_runs_a_model_carries_on_from_are_followed_back_to_a_fresh_start():
    starts = [
        "from scratch, start seed 0",
        "where run 1 ended",
        "from scratch, start seed 1",
        "where run 3 ended, then 2 lessons",
        "step 4 of run 1",
        "where run 5 ended",
        "where run 7 ended",  # a record that names a run the log lacks (a file's): the chain stops there
    ]
    log = RunLog([TrainingRun(QUICK, number=n, start=start) for n, start in enumerate(starts, start=1)])
    assert lineage(log, "run 4") == {"run 4", "run 3"}
    assert lineage(log, "run 2") == {"run 2", "run 1"}
    assert lineage(log, "run 6") == {"run 6", "run 5"}  # a step of run 1 is not where run 1 ended
    assert lineage(log, "run 7") == {"run 7"} and lineage(log, None) == set() and lineage(log, "run 99") == set()
    looped = RunLog([TrainingRun(QUICK, number=1, start="where run 2 ended"),
                     TrainingRun(QUICK, number=2, start="where run 1 ended")])  # fmt: skip
    assert lineage(looped, "run 1") == {"run 1", "run 2"}  # a tampered record cannot loop it forever
