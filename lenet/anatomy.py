"""The model taken apart for the Architecture page: parameters, layer shapes, the tutorial's steps."""

import copy
from dataclasses import dataclass

import torch
from torch import nn

from lenet.model import INPUT_SHAPE, Net


def parameter_table(model: nn.Module) -> list[dict]:
    return [{"name": name, "shape": str(list(p.shape)), "count": p.numel()} for name, p in model.named_parameters()]


@torch.inference_mode()
def layer_shapes(model: Net) -> list[dict]:
    """Output shape of every layer for one (1, 1, 32, 32) input, recorded by forward hooks."""
    rows: list[dict] = [{"layer": "input", "output shape": str([1, *INPUT_SHAPE])}]
    hooks = [
        module.register_forward_hook(
            lambda m, inputs, output, name=name: rows.append({"layer": name, "output shape": str(list(output.shape))})
        )
        for name, module in model.named_children()
    ]
    try:
        model(torch.zeros(1, *INPUT_SHAPE))
    finally:
        for hook in hooks:
            hook.remove()
    return rows


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
