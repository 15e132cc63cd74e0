"""The model taken apart for the Architecture page: parameters, every step of forward(), the tutorial's steps."""

import copy
import functools
import inspect
import itertools
import sys
from dataclasses import dataclass

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from lenet.network.architecture import Architecture
from lenet.network.model import INPUT_SHAPE, Net


def parameter_table(model: nn.Module) -> list[dict]:
    return [{"name": name, "shape": str(list(p.shape)), "count": p.numel()} for name, p in model.named_parameters()]


@dataclass(frozen=True)
class ForwardStep:
    """One operation of `Net.forward`, with what it gave for one input."""

    operation: str  # the torch function: conv2d, relu, max_pool2d, flatten, linear
    module: str | None  # the submodule that called it (conv1, fc2...); None where forward calls it itself
    line: int  # its line in model.py
    source: str  # that line of `forward`, its comment left out
    output: torch.Tensor
    parameters: int  # weights of `module`; 0 for a function
    call: str  # as `forward` writes it: self.conv1 (a Conv2d), F.relu, torch.flatten...


class _Recorder(TorchFunctionMode):
    """Notes every torch function `Net.forward` calls, with the line that called it.

    A torch-function mode is local to its thread, so a run training in another thread is not
    disturbed (torch.fx tracing would be: it patches `Module.__call__` for every thread).
    """

    def __init__(self, model: Net):
        super().__init__()
        self.names = {id(module): name for name, module in model.named_children()}
        self.steps: list[ForwardStep] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        output = func(*args, **(kwargs or {}))
        frame, module = sys._getframe(1), None
        while frame is not None and frame.f_code is not Net.forward.__code__:
            module = self.names.get(id(frame.f_locals.get("self")), module)
            frame = frame.f_back
        if frame is not None and isinstance(output, torch.Tensor):
            line, source = _forward_line(frame.f_locals["self"].arch, frame.f_lineno)
            owner = frame.f_locals["self"].get_submodule(module) if module else None
            if owner is not None:
                weights, call = sum(p.numel() for p in owner.parameters()), f"self.{module} (a {type(owner).__name__})"
            else:
                prefix = next((p for p in ("F.", "torch.") if f"{p}{func.__name__}(" in source), "")
                weights, call = 0, prefix + func.__name__
            self.steps.append(ForwardStep(func.__name__, module, line, source, output, weights, call))
        return output


@functools.lru_cache(maxsize=256)  # a learner trying networks in the editor makes a new one at each change
def _forward_line(arch: Architecture, number: int) -> tuple[int, str]:
    """Line `number` of `Net.forward` as the tutorial would write it for `arch` (its own line for the tutorial's
    network: F.max_pool2d(F.relu(...)) where the code says self.pool(self.activate(...)))."""
    _, first = inspect.getsourcelines(Net.forward)
    return number, arch.forward_lines()[number - first - 1]


@torch.inference_mode()
def forward_steps(model: Net, x: torch.Tensor) -> list[ForwardStep]:
    """Every operation `model.forward` does to `x`, in order, with its output.

    Recorded as the model runs, so a change to `forward` shows here without anyone typing the steps in.
    """
    recorder = _Recorder(model)
    with recorder:
        model(x)
    return recorder.steps


ACTIVATIONS = ("relu", "tanh", "sigmoid")


def after_relu(steps: list[ForwardStep]) -> dict[str, torch.Tensor]:
    """What each layer passes on after its ReLU (or the network's other activation), by layer name: conv1,
    conv2, fc1, fc2 (the whole batch)."""
    return {
        previous.module: step.output for previous, step in itertools.pairwise(steps) if step.operation in ACTIVATIONS
    }


@dataclass(frozen=True)
class ForwardTable:
    """`forward()` for one (1, 1, 32, 32) digit, as the Architecture page shows it."""

    rows: list[dict]  # per step: the line (on its first step only), the call, its output shape, its weights
    flatten_in: list[int]  # the shape `flatten` takes in, per digit: [16, 6, 6]
    flatten_out: int  # the length it gives: 576


def forward_table(model: Net) -> ForwardTable:
    """Every step of `forward()` for one digit, from one recorded forward pass."""
    steps = forward_steps(model, torch.zeros(1, *INPUT_SHAPE))
    rows = [{"forward() line": "def forward(self, x):", "step": "input x", "output shape": str([1, *INPUT_SHAPE])}]
    last_line = None
    for step in steps:
        rows.append(
            {
                "forward() line": step.source if step.line != last_line else "",
                "step": step.call,
                "output shape": str(list(step.output.shape)),
                "parameters": step.parameters,
            }
        )
        last_line = step.line
    rows[0]["parameters"] = 0
    index = next(i for i, step in enumerate(steps) if step.operation == "flatten")
    return ForwardTable(rows, list(steps[index - 1].output.shape[1:]), steps[index].output.shape[1])


@dataclass(frozen=True)
class Walkthrough:
    """The tutorial's steps, run on a copy of a model: forward, loss, backward, one SGD step."""

    input: torch.Tensor  # (1, 1, 32, 32)
    output: torch.Tensor  # (1, 10)
    target: torch.Tensor  # (1, 10)
    loss: float
    bias_grad_before: torch.Tensor  # conv1.bias.grad after zero_grad: zeros
    bias_grad_after: torch.Tensor  # ... after backward()
    parameter_change: list[dict]  # per tensor: how far one SGD step moved it


def walkthrough(model: nn.Module, seed: int = 0, lr: float = 0.01) -> Walkthrough:
    """As in PyTorch's "Neural Networks" tutorial, on a copy so the model itself never changes."""
    net = copy.deepcopy(model).cpu()
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(1, *INPUT_SHAPE, generator=generator)
    target = torch.randn(1, 10, generator=generator)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    for p in net.parameters():  # the tutorial's net.zero_grad() after an earlier backward: zeros
        p.grad = torch.zeros_like(p)
    before = net.conv1.bias.grad.clone()
    output = net(x)
    loss = nn.MSELoss()(output, target)
    loss.backward()
    after = net.conv1.bias.grad.clone()
    old = {name: p.detach().clone() for name, p in net.named_parameters()}
    optimizer.step()
    change = [
        {
            "name": name,
            "largest change": (p.detach() - old[name]).abs().max().item(),
            "mean change": (p.detach() - old[name]).abs().mean().item(),
        }
        for name, p in net.named_parameters()
    ]
    return Walkthrough(x, output.detach(), target, loss.item(), before, after, change)
