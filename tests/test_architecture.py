"""Networks a learner makes from LeNet: every one within the bounds builds and runs with the shapes the
page shows, or is refused with its reason (PyTorch's own words where it has them), before any weight."""

import io
import random
import re
from dataclasses import replace

import pytest
import torch

from lenet.model import TUTORIAL, Architecture, ArchitectureError, Net, parameter_count
from lenet.network.anatomy import forward_steps, forward_table
from lenet.network.architecture import ACTIVATIONS, MAX_PARAMETERS, POOLINGS
from lenet.store.checkpoint import CheckpointError, checkpoint_bytes, read_checkpoint
from lenet.store.records import RunRecord, RunState
from lenet.training.settings import preset
from lenet.training.snapshots import MAX_SNAPSHOT_BYTES, most_snapshots
from lenet.training.train import fit


def expected_shapes(arch: Architecture) -> list[list[int]]:
    """Every step's output shape, worked out by hand from the fields."""
    conv1, pool1, conv2, pool2 = arch.map_sizes
    pooled = arch.pooling != "none"
    shapes = [[1, 1, 32, 32], [1, arch.conv1_channels, conv1, conv1], [1, arch.conv1_channels, conv1, conv1]]
    shapes += [[1, arch.conv1_channels, pool1, pool1]] * pooled
    shapes += [[1, arch.conv2_channels, conv2, conv2]] * 2
    shapes += [[1, arch.conv2_channels, pool2, pool2]] * pooled
    shapes += [[1, arch.flatten_size], [1, arch.fc1_units], [1, arch.fc1_units], [1, arch.fc2_units]]
    return [*shapes, [1, arch.fc2_units], [1, 10]]


def random_architecture(generator: random.Random) -> Architecture:
    return Architecture(
        conv1_channels=generator.choice([1, 2, 6, 16, 32, 64, generator.randint(1, 64)]),
        conv2_channels=generator.choice([1, 16, 64, generator.randint(1, 64)]),
        kernel_size=generator.choice([3, 5]),
        padding=generator.randint(0, 2),
        pooling=generator.choice(POOLINGS),
        activation=generator.choice(ACTIVATIONS),
        fc1_units=generator.choice([8, 120, 512, generator.randint(8, 512)]),
        fc2_units=generator.choice([8, 84, 512, generator.randint(8, 512)]),
        fc1_inputs=generator.choice([None] * 7 + [576, 400, generator.randint(1, 5000)]),
    )


def test_300_random_networks_build_and_run_with_the_tables_shapes_or_are_refused():
    generator, built, refused = random.Random(0), 0, {"mismatch": 0, "too big": 0}
    x = torch.randn(1, 1, 32, 32)
    for _ in range(300):
        arch = random_architecture(generator)
        try:
            net = Net(arch)
        except ArchitectureError as error:
            if arch.fc1_in != arch.flatten_size:
                assert "mat1 and mat2 shapes cannot be multiplied" in str(error)
                refused["mismatch"] += 1
            else:  # too many parameters, multiply-adds or numbers per digit for a shared server
                assert "on a shared server" in str(error) and "at most" in str(error)
                refused["too big"] += 1
            continue
        built += 1
        assert arch.parameter_count == parameter_count(net) <= MAX_PARAMETERS
        with torch.no_grad():
            assert net(x).shape == (1, 10)
        table = [row["output shape"] for row in forward_table(net).rows]
        assert table == [str(shape) for shape in expected_shapes(arch)], arch
    print(f"\n300 random networks: {built} built and ran, refused {refused}")
    assert built > 150 and refused["mismatch"] > 10 and refused["too big"] > 5


def test_a_pinned_fc1_that_disagrees_with_the_flatten_says_pytorchs_words_and_the_two_numbers():
    arch = Architecture(kernel_size=5, fc1_inputs=576)
    with pytest.raises(ArchitectureError) as caught:
        Net(arch)
    message = str(caught.value)
    assert "mat1 and mat2 shapes cannot be multiplied (1x400 and 576x120)" in message
    assert "16 x 5 x 5 = 400" in message and "fc1 expects 576" in message
    assert isinstance(caught.value, ValueError)
    Net(replace(arch, fc1_inputs=None))  # following the flatten: 400, it runs
    assert Net(replace(arch, fc1_inputs=None)).fc1.in_features == 400


@pytest.mark.parametrize(
    "fields",
    [
        {"conv1_channels": 0},
        {"conv2_channels": 65},
        {"kernel_size": 4},
        {"padding": 3},
        {"pooling": "min"},
        {"activation": "gelu"},
        {"fc1_units": 7},
        {"fc2_units": 10**9},
        {"fc1_inputs": 0},
        {"conv1_channels": True},
        {"kernel_size": 3.0},
        {"fc1_inputs": "576"},
    ],
)
def test_a_field_out_of_bounds_is_refused_before_anything_is_built(fields):
    with pytest.raises(ArchitectureError):
        Architecture(**fields)


def test_the_biggest_networks_are_refused_by_their_counts_before_a_weight_is_allocated():
    huge = Architecture(conv1_channels=64, conv2_channels=64, padding=2, pooling="none", fc1_units=512)
    assert huge.parameter_count > 30_000_000
    with pytest.raises(ArchitectureError, match="at most 1,500,000 train"):
        Net(huge)
    slow = Architecture(conv1_channels=64, conv2_channels=64, kernel_size=5, padding=2, pooling="none", fc1_units=8)
    assert slow.parameter_count < MAX_PARAMETERS and slow.multiply_adds > 100 * TUTORIAL.multiply_adds
    with pytest.raises(ArchitectureError, match="multiply-adds per digit: at most 10,000,000"):
        Net(slow)
    wide = Architecture(conv1_channels=64, conv2_channels=16, padding=2, fc1_units=8)
    assert wide.multiply_adds < 10_000_000 and wide.values > 160_000
    with pytest.raises(ArchitectureError, match="numbers per digit"):
        Net(wide)
    biggest = Architecture(conv1_channels=64, conv2_channels=64, fc1_units=512, fc2_units=512)
    assert Net(biggest) and biggest.digits_at_once == 128 and TUTORIAL.digits_at_once == 1000


def test_the_tutorials_network_is_unchanged_and_a_variant_prints_what_it_is():
    assert Net().arch == TUTORIAL and parameter_count(Net()) == 81_194 == TUTORIAL.parameter_count
    variant = Net(Architecture(kernel_size=5, padding=2, pooling="avg", activation="tanh"))
    printed = str(variant)
    assert "activation=tanh, pooling=avg" in printed
    assert "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))" in printed
    steps = forward_steps(variant, torch.zeros(1, 1, 32, 32))
    assert [step.call for step in steps[:3]] == ["self.conv1 (a Conv2d)", "torch.tanh", "F.avg_pool2d"]
    assert steps[0].source == "x = F.avg_pool2d(torch.tanh(self.conv1(x)), 2)"
    no_pool = forward_steps(Net(Architecture(pooling="none", fc1_units=8)), torch.zeros(1, 1, 32, 32))
    assert "max_pool2d" not in [step.operation for step in no_pool] and no_pool[0].source == "x = F.relu(self.conv1(x))"


LENET5 = Architecture(kernel_size=5, padding=2)  # LeNet-5's 5 x 5 kernels, maps kept 32 x 32 by the padding


def test_a_networks_checkpoint_carries_it_and_reads_back_the_same_model():
    torch.manual_seed(0)
    variant = Net(Architecture(conv1_channels=12, kernel_size=5, pooling="avg", activation="tanh", fc2_units=40))
    checkpoint = read_checkpoint(checkpoint_bytes(variant))
    assert checkpoint.architecture == variant.arch
    back, x = checkpoint.model(), torch.randn(2, 1, 32, 32)
    torch.testing.assert_close(back(x), variant(x))
    raw = checkpoint_bytes(Net())  # the tutorial's network writes the file it always wrote
    assert "architecture" not in torch.load(io.BytesIO(raw), weights_only=True)
    assert read_checkpoint(raw).architecture == TUTORIAL


def saved(checkpoint: dict) -> bytes:
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("architecture", "reason"),
    [
        ({"fc1_inputs": 1_000_000, "fc1_units": 512}, "mat1 and mat2"),
        ({"conv2_channels": 64, "padding": 2, "pooling": "none", "fc1_units": 512}, "at most 1,500,000"),
        ({"conv1_channels": 10**9}, "conv1_channels must be"),
        ({"pooling": "__import__('os')"}, "pooling must be"),
        ({"weights_of": 1}, "no such field"),
        ([6, 16], "a dict of its fields"),
    ],
)
def test_a_hostile_network_in_a_checkpoint_is_refused_before_any_model_is_built(monkeypatch, architecture, reason):
    state = {k: v for k, v in Net().state_dict().items()}
    built = []
    monkeypatch.setattr(Net, "__init__", lambda *args, **kwargs: built.append(args))
    with pytest.raises(CheckpointError, match=re.escape(reason)):
        read_checkpoint(saved({"model": state, "config": {}, "architecture": architecture}))
    assert not built


def test_weights_that_do_not_fit_the_network_a_file_declares_are_refused():
    state = Net().state_dict()
    with pytest.raises(
        CheckpointError, match=r"conv1.weight has shape \(6, 1, 3, 3\), its network needs \(6, 1, 5, 5\)"
    ):
        read_checkpoint(saved({"model": state, "config": {}, "architecture": {"kernel_size": 5}}))


def test_a_run_records_its_network_and_a_big_network_keeps_fewer_snapshots():
    record = RunRecord(preset("fast"), id="a", number=1, state=RunState.COMPLETED, architecture=LENET5)
    assert RunRecord.from_dict(record.to_dict()).architecture == LENET5
    assert "architecture" not in RunRecord(preset("fast"), id="b", number=1, state=RunState.COMPLETED).to_dict()
    with pytest.raises(ValueError, match="at most 1,500,000"):
        RunRecord.from_dict({**record.to_dict(), "architecture": {"conv2_channels": 64, "pooling": "none"}})
    biggest = Architecture(conv1_channels=64, conv2_channels=64, kernel_size=3, fc1_units=512, fc2_units=512)
    assert 1_000_000 < biggest.parameter_count <= MAX_PARAMETERS
    assert most_snapshots() == 25 and most_snapshots(biggest) == 1
    for arch in (LENET5, biggest, TUTORIAL):
        assert most_snapshots(arch) == 1 or most_snapshots(arch) * 2 * arch.parameter_count <= MAX_SNAPSHOT_BYTES


@pytest.mark.slow
def test_a_lenet5_like_network_trains_to_985_in_three_epochs(mnist):
    torch.manual_seed(0)
    model = Net(LENET5)
    *_, finished = fit(model, preset("fast", epochs=3, device="cpu"), mnist)
    print(f"\nkernel 5, padding 2, the fast preset's 3 epochs: {finished.evaluation.accuracy:.2%}")
    assert finished.evaluation.accuracy >= 0.985


def test_every_why_panel_and_the_replay_work_on_a_network_of_the_learners_making(mnist):
    """The explanations take any network: where it looked, what if, fooling it, a lesson, look-alikes' layer,
    and the replay of a run's snapshots."""
    from lenet.explain.evidence import evidence, fool
    from lenet.explain.journey import journey
    from lenet.explain.likeness import representation
    from lenet.explain.step import sgd_step
    from lenet.explain.whatif import neutral, what_if
    from lenet.network.inference import read_digit

    arch = Architecture(conv1_channels=8, kernel_size=5, padding=1, pooling="avg", activation="tanh", fc2_units=32)
    torch.manual_seed(0)
    model = Net(arch)
    config = preset("fast", epochs=1, train_subset=2_048, device="cpu")
    events = list(fit(model, config, mnist, snapshots=True))
    snapshots = [event for event in events if type(event).__name__ == "Snapshot"]
    assert snapshots and all(snapshot.arch == arch for snapshot in snapshots)
    model = model.cpu().eval()
    digit = mnist.test_images[0, 0, 2:-2, 2:-2]
    image = torch.nn.functional.pad(digit, (30, 30, 30, 30)).numpy()
    reading = read_digit(model, image)
    assert reading.feature_maps["conv1"].shape == (8, 30, 30)  # its own maps: 32 + 2 - 5 + 1
    assert evidence(model, reading.x, (reading.prediction,)).shape[-2:] == (28, 28)  # per pixel of the digit
    assert what_if(model, reading.digit, neutral(), "rotation").sweep.shape[1] == 10
    assert fool(model, reading.x, reading.prediction, 0.1) is not None
    assert representation(model, reading.x).shape == (1, 32)
    tested = (mnist.test_images[:100], mnist.test_labels[:100])
    assert sgd_step(model, reading.x, 7, 0.01, tested).loss > 0
    replay = journey(snapshots, reading.x, model)
    assert replay.probabilities.shape == (len(snapshots) + 1, 10)


def test_a_big_network_costs_a_shared_server_no_more_than_its_bounds():
    """The hostile visitor's findings: batches, readings, look-alikes, snapshots and undo follow the network."""
    from lenet.explain.likeness import searched
    from lenet.service.slots import largest_batch, refusal
    from lenet.service.undo import undo_kept
    from lenet.service.workspace import Refused, Workspace
    from lenet.training.snapshots import plan

    biggest = Architecture(conv1_channels=64, conv2_channels=64, fc1_units=512, fc2_units=512)
    assert largest_batch(TUTORIAL) == 1_024 and largest_batch(biggest) == 122
    assert refusal(preset("fast", batch_size=1_024), TUTORIAL) is None
    assert "at most 122" in refusal(preset("fast", batch_size=128), biggest)
    assert refusal(preset("fast", batch_size=64), biggest) is None
    assert searched(TUTORIAL) == 60_000 and searched(biggest) == 8_785
    assert searched(Architecture(fc2_units=512)) == 9_843  # its codes stay within the tutorial's 5 MB
    assert undo_kept(TUTORIAL) == 5 and undo_kept(biggest) == 1
    assert plan(78, 78, most_snapshots(biggest)) == [78] and plan(780, 78, 3) == [0, 32, 780]
    assert Architecture(kernel_size=5, fc1_inputs=400) == Architecture(kernel_size=5)  # pinned to what it follows
    record = RunRecord(preset("fast"), id="a", number=1, start="the pretrained weights", architecture=LENET5)
    with pytest.raises(Refused, match="only a run from scratch or from the pretrained weights"):
        Workspace.as_run_started(record)
