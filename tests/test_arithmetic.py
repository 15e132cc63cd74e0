"""The arithmetic of a unit, held to the model's own forward pass: the sum shown is the number forward() made."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lenet.arithmetic import (
    LAYERS,
    flatten_source,
    layer_input,
    pool_arithmetic,
    softmax_arithmetic,
    unit_arithmetic,
)
from lenet.network.anatomy import forward_steps
from lenet.network.data import to_network_input
from lenet.network.inference import read_digit
from lenet.network.model import Net
from lenet.store.checkpoint import pretrained

UNITS = 200


def models() -> dict[str, Net]:
    trained = Net()
    trained.load_state_dict(pretrained().weights)
    torch.manual_seed(3)
    return {"pretrained": trained.eval(), "random": Net().eval()}


def a_digit(mnist, i: int = 0) -> torch.Tensor:
    return to_network_input(mnist.test_images[i : i + 1, 0, 2:-2, 2:-2])


def random_units(output: torch.Tensor, count: int, generator: torch.Generator) -> list[tuple[int, ...]]:
    shape = output.shape[1:]
    flat = torch.randint(0, shape.numel(), (count,), generator=generator).tolist()
    return [tuple(np.unravel_index(i, tuple(shape))) for i in flat]


@pytest.mark.parametrize("which", ["pretrained", "random"])
def test_the_total_shown_is_the_modules_own_output_at_200_units_of_every_layer(mnist, which):
    model = models()[which]
    generator = torch.Generator().manual_seed(0)
    for digit in (0, 1):
        x = a_digit(mnist, digit)
        steps = forward_steps(model, x)
        outputs = {step.module: step.output for step in steps if step.module}
        for layer in LAYERS:
            worst = 0.0
            for index in random_units(outputs[layer], UNITS, generator):
                sum_ = unit_arithmetic(model, x, layer, index, steps)
                assert sum_.inputs.shape == sum_.weights.shape
                assert sum_.total == pytest.approx(float(sum_.products.sum()) + sum_.bias)
                worst = max(worst, abs(sum_.total - float(outputs[layer][(0, *index)])))
            assert worst < 1e-4, (which, layer, worst)


def test_a_convolution_unit_reads_its_window_and_its_filter(mnist):
    model = models()["pretrained"]
    x = a_digit(mnist)
    steps = forward_steps(model, x)
    sum_ = unit_arithmetic(model, x, "conv2", (5, 7, 3), steps)
    assert sum_.window == (7, 3) and sum_.inputs.shape == (6, 3, 3)
    assert torch.equal(sum_.inputs, layer_input(steps, x, "conv2")[0, :, 7:10, 3:6])
    assert torch.equal(sum_.weights, model.conv2.weight[5].detach())
    assert sum_.bias == float(model.conv2.bias.detach()[5])
    first = unit_arithmetic(model, x, "conv1", (2, 0, 29))
    assert torch.equal(first.inputs, x[0, :, 0:3, 29:32]) and first.after_relu == max(0.0, first.total)


def test_a_linear_unit_lists_its_largest_products_and_sums_the_rest(mnist):
    model = models()["pretrained"]
    sum_ = unit_arithmetic(model, a_digit(mnist), "fc1", (17,))
    assert sum_.inputs.shape == (576,) and sum_.window is None
    top, rest = sum_.largest(8)
    assert len(top) == 8
    sizes = [abs(product) for *_, product in top]
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[-1] >= float(sum_.products.abs().sort(descending=True).values[8])
    assert sum(product for *_, product in top) + rest + sum_.bias == pytest.approx(sum_.total)
    assert all(sum_.inputs[i] == value and sum_.weights[i] == weight for i, value, weight, _ in top)


def test_every_max_pool_unit_is_the_largest_of_its_window(mnist):
    model = models()["pretrained"]
    steps = forward_steps(model, a_digit(mnist))
    pools = [i for i, step in enumerate(steps) if step.operation == "max_pool2d"]
    for i in pools:
        before, after = steps[i - 1].output[0], steps[i].output[0]
        for index in np.ndindex(*after.shape):
            pool = pool_arithmetic(before, index)
            assert pool.value == float(after[index])
            assert pool.window.shape == (2, 2) and pool.origin == (index[1] * 2, index[2] * 2)
            assert pool.window[pool.winner] == pool.window.max()


def test_the_flatten_mapping_is_torch_flattens():
    maps = torch.randn(1, 16, 6, 6)
    flat = torch.flatten(maps, 1)[0]
    for unit in range(576):
        assert flat[unit] == maps[(0, *flatten_source(unit, (16, 6, 6)))]
    assert flatten_source(575, (16, 6, 6)) == (15, 5, 5) and flatten_source(37, (16, 6, 6)) == (1, 0, 1)


@pytest.mark.parametrize("which", ["pretrained", "random"])
def test_the_softmax_shown_is_the_sketch_pads_probabilities(which):
    model = models()[which]
    image = np.zeros((280, 280), dtype=np.uint8)
    image[60:220, 130:150] = 255  # a 1
    image[60:80, 100:150] = 255
    reading = read_digit(model, image)
    steps = forward_steps(model, reading.x)
    softmax = softmax_arithmetic(steps[-1].output[0])
    assert torch.allclose(softmax.probabilities.float(), reading.probabilities, atol=1e-6)
    assert softmax.exps.max() == 1.0 and softmax.total == pytest.approx(float(softmax.exps.sum()))
    assert torch.allclose(softmax.probabilities, F.softmax(softmax.scores, 0))


def test_a_unit_of_no_such_layer_is_refused(mnist):
    with pytest.raises(ValueError, match="not one of conv1"):
        unit_arithmetic(Net(), a_digit(mnist), "relu", (0,))
