"""Whatever the app writes, it reads back: every setting at its extremes, the longest texts, runs that
blew up, lessons that would have."""

import dataclasses
import io
import math
from enum import StrEnum
from pathlib import Path

import numpy as np
import pytest
import torch
from test_workspace import pretrained

from lenet.network.handwriting import DigitSet
from lenet.network.model import MAX_WEIGHT, Net
from lenet.service.finetune import teach_my_hand
from lenet.service.runlog import RunLog, start_description
from lenet.service.runs import TrainingRun
from lenet.service.slots import RunSlots
from lenet.service.workspace import Refused, Workspace
from lenet.store.checkpoint import CheckpointError, read_checkpoint
from lenet.store.records import (
    MAX_ACCURACY_POINTS,
    MAX_CURVE_POINTS,
    MAX_RUN_EPOCHS,
    MAX_TEXT,
    EpochRecord,
    RunRecord,
    RunState,
)
from lenet.training.settings import TrainConfig, preset, settings

DRAWN = Path(__file__).parent / "data" / "drawn_digits.npz"  # made by tools/draw_set.py in Chromium
HOSTILE_NAME = "[Session expired, log in](https:evil.example) <img src=x> \ud800 " + "x" * 300 + ".pt"


def extremes() -> list[TrainConfig]:
    """A config per extreme value of every setting: its bounds, its options, each choice."""
    configs = []
    for f, how in settings():
        if how.low is not None:
            values = [how.low, how.high, *how.options]
        elif f.type is bool:
            values = [False, True]
        elif isinstance(f.type, type) and issubclass(f.type, StrEnum):
            values = list(f.type)
        else:
            values = [f.default]
        for value in values:
            value = type(f.default)(value) if not isinstance(f.default, StrEnum) else value
            fixes = {"nesterov": False} if f.name == "momentum" and value == 0 else {}
            configs.append(dataclasses.replace(TrainConfig(), **{f.name: value}, **fixes))
    return configs


def record_of_the_largest_run(config: TrainConfig | None = None) -> dict:
    """A run as a checkpoint keeps it, every list and text at its longest."""
    start = start_description("uploaded " + "s" * 1_000, None, None, 10**6)
    run = TrainingRun(config or TrainConfig(), start=start, number=1)
    run.total_steps = 10**6
    run.set_state(RunState.DIVERGED, "m\ud800\n" * 1_000)
    run.losses.extend(np.linspace(2.3, 0.01, 3 * MAX_CURVE_POINTS, dtype=np.float32).tolist())
    run.accuracy_points = [(step, 0.5) for step in range(2 * MAX_ACCURACY_POINTS)]
    run.epochs = [EpochRecord(epoch=i + 1, test_accuracy=0.5) for i in range(2 * MAX_RUN_EPOCHS)]
    return run.view().to_dict()


def test_every_setting_at_its_extremes_and_the_longest_texts_round_trip():
    configs = extremes()
    ws = Workspace.from_upload(pretrained().download(), HOSTILE_NAME)
    for number, config in enumerate(configs, start=1):
        start = start_description(ws.origin, None, None, 10**6, note=HOSTILE_NAME)
        run = TrainingRun(config, number=number, start=start)
        run.set_state(RunState.COMPLETED, HOSTILE_NAME * 3)
        ws.runs = RunLog([*ws.runs, run])
        raw = ws.download()
        back = {run.id: run for run in Workspace.from_upload(raw, HOSTILE_NAME).runs}
        assert back[run.id].config == config
        assert back[run.id].start == run.start and len(run.start) <= MAX_TEXT
        assert back[run.id].message == run.message and "\ud800" not in run.message
    print(f"\n{len(configs)} extreme settings round-tripped, each in a checkpoint of the session's runs")


def test_the_largest_run_record_round_trips():
    record = record_of_the_largest_run()
    ws = pretrained()
    ws.runs = RunLog.from_records([RunRecord.from_dict(record)] * 20)
    back = read_checkpoint(ws.download()).runs
    assert len(back) == 20 and back[0].losses.tolist() == pytest.approx(record["losses"], rel=1e-6)  # float32 in a run


@pytest.mark.parametrize("name", ["fast", "quick", "tutorial"])
@pytest.mark.slow
def test_a_run_at_the_highest_learning_rate_the_form_allows_downloads_and_loads_back(mnist, name):
    ws = pretrained()
    run = ws.start(preset(name, lr=100.0, epochs=1, train_subset=2_560, device="cpu"), slots=RunSlots(1))
    run.thread.join(120)
    print(f"\nlr 100 ({name}): {run.state}, {run.message}")
    assert run.state in ("diverged", "completed")
    assert all(p.abs().max() <= MAX_WEIGHT for p in ws.inference_model().parameters())
    assert all(torch.isfinite(t.float()).all() for s in run.snapshots for t in s.weights.values())
    back = Workspace.from_upload(ws.download(), "lenet_mnist.pt")
    for mine, loaded in zip(ws.inference_model().parameters(), back.model.parameters(), strict=True):
        assert torch.equal(mine, loaded)


@pytest.mark.slow
def test_a_long_file_name_then_training_and_teaching_my_hand_still_download(mnist):
    ws = Workspace.from_upload(pretrained().download(), HOSTILE_NAME)
    assert "\ud800" not in ws.origin and len(ws.origin) <= 100
    run = ws.start(preset("fast", epochs=1, train_subset=1_280, device="cpu"), slots=RunSlots(1))
    run.thread.join(120)
    assert run.state == "completed" and len(run.start) <= MAX_TEXT
    with np.load(DRAWN) as drawn:
        pixels, labels = torch.from_numpy(drawn["digits"][:12]), torch.from_numpy(drawn["labels"][:12].astype(np.int64))
    ws.digits.replace_with(DigitSet(pixels, labels))
    taught, _, _ = teach_my_hand(ws, slots=RunSlots(1))
    taught.thread.join(120)
    assert taught.state == "completed" and len(taught.start) <= MAX_TEXT
    back = Workspace.from_upload(ws.download(), HOSTILE_NAME)
    assert [r.start for r in back.runs] == [r.start for r in ws.runs]


def test_text_that_cannot_be_encoded_is_refused_in_an_upload():
    """A lone surrogate in a run's text once broke every later rerun of the Train page."""
    for key in ("start", "message", "device", "id"):
        buffer = io.BytesIO()
        tampered = {**record_of_the_largest_run(), key: "a\ud800b"}
        torch.save({"model": Net().state_dict(), "config": {}, "history": [], "runs": [tampered]}, buffer)
        with pytest.raises(CheckpointError, match=f"run's {key} is not plain text"):
            read_checkpoint(buffer.getvalue())


def test_a_lesson_that_would_blow_the_weights_up_is_undone():
    ws = pretrained()
    with torch.no_grad():
        for p in ws.model.parameters():
            p.fill_(MAX_WEIGHT * 0.9)
    ws.publish()
    before = {k: v.clone() for k, v in ws.model.state_dict().items()}
    x = torch.rand(1, 1, 32, 32)
    with pytest.raises(Refused, match="smaller learning rate"):
        ws.teach(x, 3, 1.0)
    assert all(torch.equal(v, before[k]) for k, v in ws.model.state_dict().items())
    assert ws.lessons == 0 and not ws.can_undo_lesson
    assert read_checkpoint(ws.download())


def test_losses_beyond_float32_are_refused_on_the_way_in_and_never_written():
    """A loss of 3.5e38 is finite, but float32 holds it as inf: the download would then be refused."""
    record = record_of_the_largest_run()
    with pytest.raises(ValueError, match="float32"):
        RunRecord.from_dict({**record, "losses": [3.5e38]})
    run = TrainingRun(TrainConfig(), number=1)
    run.losses.extend([1.0, float("inf"), float("nan")])
    run.set_state(RunState.DIVERGED)
    written = run.view().to_dict()
    assert RunRecord.from_dict(written).losses.tolist()[0] == 1.0 and all(map(math.isfinite, written["losses"]))


def test_the_replaced_model_at_its_extremes_round_trips_through_the_store(tmp_path):
    """The largest network, loaded from a file of the most hostile name with the longest history, replaced."""
    import hashlib

    from lenet.network.architecture import Architecture
    from lenet.service.keeper import Keeper
    from lenet.service.saved_work import Extras, changes, restore
    from lenet.store.checkpoint import checkpoint_bytes
    from lenet.store.learners import LearnerStore

    biggest = Architecture(conv1_channels=64, conv2_channels=64, fc1_units=512, fc2_units=512)
    history = [EpochRecord(epoch=i + 1, test_accuracy=i / 1_000) for i in range(1_000)]
    loaded = Workspace.from_upload(checkpoint_bytes(Net(biggest), history=history), HOSTILE_NAME)
    ws = loaded.replaced_by(pretrained())
    key = hashlib.sha256(b"extremes").hexdigest()
    keeper = Keeper(LearnerStore(tmp_path / "learners.sqlite"), changes)
    keeper.keep(key, ws, Extras())
    keeper.flush()
    back = restore(keeper.load(key))
    old, kept = ws.replaced, back.workspace.replaced
    assert back.dropped == () and kept.arch == biggest and len(kept.history) == 1_000
    assert (kept.origin, kept.history, kept.accuracy) == (old.origin, old.history, 0.999)
    assert len(kept.origin) <= 120 and "\ud800" not in kept.origin
    assert all(torch.equal(kept.weights[name], old.weights[name]) for name in old.weights)
