"""How any number in `forward()` is made, from the model's own numbers: the arithmetic of one unit.

A convolution unit is its input window times the filter, summed, plus the bias; a linear unit is its
inputs times its weight row, summed, plus the bias; a max-pool unit is the largest of its window; the
flatten only moves numbers; softmax turns ten scores into probabilities. Each function here takes the
numbers a real forward pass used (`anatomy.forward_steps`) and says how the unit's value came out of
them, so a page can show the sum and a test can hold it to the module's own output.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from lenet.network.anatomy import ForwardStep, forward_steps

LAYERS = ("conv1", "conv2", "fc1", "fc2", "fc3")  # the modules whose units compute a weighted sum


@dataclass(frozen=True)
class UnitArithmetic:
    """One unit of a convolution or linear layer: `total` = (inputs x weights).sum() + bias."""

    layer: str
    index: tuple[int, ...]  # (channel, row, col) for a convolution, (unit,) for a linear layer
    inputs: torch.Tensor  # what it reads: the window (in_channels, k, k), zeros where it hangs over the
    # padding; or the whole input vector (in_features,)
    weights: torch.Tensor  # the same shape: the filter, or the unit's row of the weight matrix
    bias: float
    total: float  # the unit's value before any ReLU, summed in float64 from the float32 numbers shown
    window: tuple[int, int] | None  # a convolution's window: its top-left (row, col) on the input map
    over_the_edge: bool = False  # the window reaches past the map: those inputs are the padding's zeros

    @property
    def products(self) -> torch.Tensor:
        return self.inputs.double() * self.weights.double()

    @property
    def after_relu(self) -> float:
        return max(0.0, self.total)

    def largest(self, count: int) -> tuple[list[tuple[int, float, float, float]], float]:
        """The `count` products largest in size as (flat input index, input, weight, product), largest
        first, and the sum of all the others: what a page lists for a unit with hundreds of inputs."""
        products = self.products.flatten()
        order = products.abs().argsort(descending=True)
        top = order[:count].tolist()
        rest = float(products[order[count:]].sum())
        inputs, weights = self.inputs.flatten(), self.weights.flatten()
        return [(i, float(inputs[i]), float(weights[i]), float(products[i])) for i in top], rest


def layer_input(steps: list[ForwardStep], x: torch.Tensor, layer: str) -> torch.Tensor:
    """What module `layer` was given in the forward pass `steps` recorded for input `x`."""
    first = next(i for i, step in enumerate(steps) if step.module == layer)
    return x if first == 0 else steps[first - 1].output


def unit_arithmetic(
    model: nn.Module, x: torch.Tensor, layer: str, index: tuple[int, ...], steps: list[ForwardStep] | None = None
) -> UnitArithmetic:
    """How unit `index` of module `layer` (conv1, conv2, fc1, fc2 or fc3) is computed for the one digit
    `x` (1, 1, 32, 32); `steps`, when given, are `forward_steps(model, x)` already recorded."""
    if layer not in LAYERS:
        raise ValueError(f"{layer!r} is not one of {', '.join(LAYERS)}")
    steps = steps if steps is not None else forward_steps(model, x)
    module = model.get_submodule(layer)
    given = layer_input(steps, x, layer)[0].detach().cpu()
    bias = float(module.bias.detach()[index[0]]) if module.bias is not None else 0.0
    if isinstance(module, nn.Conv2d):
        channel, row, col = index
        (pad_h, pad_w), (stride_h, stride_w), (k_h, k_w) = module.padding, module.stride, module.kernel_size
        top, left = row * stride_h, col * stride_w  # on the padded map
        padded = F.pad(given, (pad_w, pad_w, pad_h, pad_h))
        inputs = padded[:, top : top + k_h, left : left + k_w]
        weights = module.weight[channel].detach().cpu()
        window = (top - pad_h, left - pad_w)
        height, width = given.shape[1:]
        over = window[0] < 0 or window[1] < 0 or window[0] + k_h > height or window[1] + k_w > width
    else:
        (unit,) = index
        inputs, weights, window, over = given, module.weight[unit].detach().cpu(), None, False
    total = float((inputs.double() * weights.double()).sum()) + bias
    return UnitArithmetic(layer, tuple(index), inputs.clone(), weights.clone(), bias, total, window, over)


@dataclass(frozen=True)
class PoolArithmetic:
    """One pooling unit: the largest number of its window on the map before it (max), or their mean (avg)."""

    window: torch.Tensor  # (k, k), the numbers it pools
    origin: tuple[int, int]  # the window's top-left (row, col) on that map
    winner: tuple[int, int] | None  # max: where the largest is, within the window; avg: None

    @property
    def value(self) -> float:
        return float(self.window[self.winner]) if self.winner is not None else float(self.window.double().mean())


def pool_arithmetic(
    before: torch.Tensor, index: tuple[int, int, int], kernel: int = 2, mode: str = "max"
) -> PoolArithmetic:
    """Pooling unit `index` (channel, row, col) over `before` (channels, H, W), `kernel` x `kernel` windows
    side by side, as `F.max_pool2d(x, kernel)` (or `F.avg_pool2d` for `mode` "avg") takes them."""
    channel, row, col = index
    top, left = row * kernel, col * kernel
    window = before[channel, top : top + kernel, left : left + kernel].detach().cpu()
    winner = divmod(int(window.flatten().argmax()), kernel) if mode == "max" else None
    return PoolArithmetic(window.clone(), (top, left), winner)


def flatten_source(unit: int, shape: tuple[int, int, int]) -> tuple[int, int, int]:
    """Where number `unit` of `torch.flatten(x, 1)` came from on a (channels, rows, cols) map: channel by
    channel, each row by row, so unit = channel x rows x cols + row x cols + col."""
    _, rows, cols = shape
    channel, rest = divmod(unit, rows * cols)
    return (channel, *divmod(rest, cols))


@dataclass(frozen=True)
class SoftmaxArithmetic:
    """Ten scores to ten probabilities: exp(score - largest), each divided by their sum."""

    scores: torch.Tensor  # (10,) fc3's output
    exps: torch.Tensor  # exp(score - largest): the largest is 1, nothing overflows
    probabilities: torch.Tensor

    @property
    def total(self) -> float:
        return float(self.exps.sum())


def softmax_arithmetic(scores: torch.Tensor) -> SoftmaxArithmetic:
    """The steps of `F.softmax(scores)`, for one digit's (10,) scores, in float64."""
    scores = scores.detach().cpu().double()
    exps = (scores - scores.max()).exp()
    return SoftmaxArithmetic(scores, exps, exps / exps.sum())
