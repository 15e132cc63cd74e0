import io
import os

import pytest
import torch

from lenet.checkpoint import (
    MAX_CHECKPOINT_BYTES,
    PRETRAINED,
    CheckpointError,
    checkpoint_bytes,
    load_checkpoint,
)
from lenet.evaluate import evaluate
from lenet.model import Net


def snapshot(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def assert_unchanged(model, before):
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])


def test_round_trip_keeps_weights_config_and_history():
    torch.manual_seed(0)
    source, target = Net(), Net()
    raw = checkpoint_bytes(source, config={"lr": 0.1}, history=[{"epoch": 1, "test_accuracy": 0.97}])
    checkpoint = load_checkpoint(raw, target)
    assert checkpoint["config"] == {"lr": 0.1} and checkpoint["history"][0]["epoch"] == 1
    for a, b in zip(source.parameters(), target.parameters(), strict=True):
        assert torch.equal(a, b)


class RunsCode:
    def __reduce__(self):
        return (os.system, ("touch /tmp/lenet-pwned",))


def test_a_pickle_that_would_run_code_is_refused():
    model = Net()
    before = snapshot(model)
    buffer = io.BytesIO()
    torch.save({"model": RunsCode()}, buffer)
    with pytest.raises(CheckpointError, match="safe to load"):
        load_checkpoint(buffer.getvalue(), model)
    assert not os.path.exists("/tmp/lenet-pwned")
    assert_unchanged(model, before)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"this is not a checkpoint", "not a PyTorch checkpoint"),
        ({"weights": {}}, 'expected a dict with a "model"'),
        ({"model": {"conv1.weight": torch.zeros(6, 1, 3, 3)}}, "weights missing"),
        ("wrong-shape", "LeNet needs"),
        ("extra-key", "unexpected weights"),
        ("nan", "not finite"),
    ],
)
def test_bad_checkpoints_give_a_clear_error_and_change_nothing(payload, message):
    model = Net()
    before = snapshot(model)
    if isinstance(payload, str):
        state = snapshot(Net())
        if payload == "wrong-shape":
            state["fc1.weight"] = torch.zeros(120, 400)
        elif payload == "extra-key":
            state["fc4.weight"] = torch.zeros(1)
        else:
            state["fc3.bias"][3] = float("nan")
        payload = {"model": state}
    if not isinstance(payload, bytes):
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        payload = buffer.getvalue()
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(payload, model)
    assert_unchanged(model, before)


def test_oversized_files_are_refused_unread():
    with pytest.raises(CheckpointError, match="MB"):
        load_checkpoint(b"\0" * (MAX_CHECKPOINT_BYTES + 1), Net())


def test_the_committed_pretrained_weights_score_99_percent(mnist):
    model = Net()
    checkpoint = load_checkpoint(PRETRAINED, model)
    assert PRETRAINED.stat().st_size < 500_000
    assert evaluate(model, mnist.test_images, mnist.test_labels).accuracy >= 0.99
    assert checkpoint["history"][-1]["test_accuracy"] >= 0.99
