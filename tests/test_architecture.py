"""Networks a learner makes from LeNet: every one within the bounds builds and runs with the shapes the
page shows, or is refused with its reason (PyTorch's own words where it has them), before any weight."""

import random
from dataclasses import replace

import pytest
import torch

from lenet.model import TUTORIAL, Architecture, ArchitectureError, Net, parameter_count
from lenet.network.anatomy import forward_steps, forward_table
from lenet.network.architecture import ACTIVATIONS, MAX_PARAMETERS, POOLINGS


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
            else:
                assert arch.parameter_count > MAX_PARAMETERS and "parameters" in str(error)
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


def test_the_biggest_networks_are_refused_by_their_count_before_a_weight_is_allocated():
    huge = Architecture(conv1_channels=64, conv2_channels=64, padding=2, pooling="none", fc1_units=512)
    assert huge.parameter_count > 30_000_000
    with pytest.raises(ArchitectureError, match="at most 1,500,000 train"):
        Net(huge)


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
