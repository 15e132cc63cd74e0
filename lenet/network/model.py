"""The LeNet of PyTorch's "Neural Networks" tutorial, unchanged; and the networks a learner makes from it.

`Net()` is the tutorial's module, weight for weight and line for line of `print(net)`. `Net(arch)` builds
another `Architecture` (its channels, kernels, padding, pooling, activation, widths), checked before any
weight is allocated. The activation and the pooling are plain functions, not modules, so `print(net)`
stays the tutorial's; `forward()` as the tutorial would write each network is `arch.forward_lines()`.
"""

import torch
import torch.nn.functional as F
from torch import nn

from lenet.network.architecture import TUTORIAL, Architecture

INPUT_SHAPE = (1, 32, 32)  # channels, height, width: MNIST's 28 x 28 padded by 2 on each side
# Weights up to this size give finite outputs for any input in the normalised range: through the five
# layers the largest activation stays under 1e30, float32 reaches 3e38 (a test checks it). Training
# ends a run before its weights pass it, so every model the app makes can be saved and loaded back.
MAX_WEIGHT = 1e4


def _no_pooling(x: torch.Tensor, kernel: int) -> torch.Tensor:
    return x


ACTIVATE = {"relu": F.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}
POOL = {"max": F.max_pool2d, "avg": F.avg_pool2d, "none": _no_pooling}


class Net(nn.Module):
    def __init__(self, arch: Architecture = TUTORIAL) -> None:
        super().__init__()
        arch.check()  # ArchitectureError before a weight is allocated
        k, pad = arch.kernel_size, arch.padding
        self.conv1 = nn.Conv2d(1, arch.conv1_channels, k, padding=pad)  # 1 input channel, 6 output channels, 3x3
        self.conv2 = nn.Conv2d(arch.conv1_channels, arch.conv2_channels, k, padding=pad)
        self.fc1 = nn.Linear(arch.fc1_in, arch.fc1_units)  # 16 * 6 * 6: 6x6 is the spatial size after conv2 + pool
        self.fc2 = nn.Linear(arch.fc1_units, arch.fc2_units)
        self.fc3 = nn.Linear(arch.fc2_units, 10)
        self.arch = arch
        self.activate, self.pool = ACTIVATE[arch.activation], POOL[arch.pooling]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.activate(self.conv1(x)), 2)  # the tutorial: F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = self.pool(self.activate(self.conv2(x)), 2)  # -> (N, 16, 13, 13) -> (N, 16, 6, 6)
        x = torch.flatten(x, 1)  # -> (N, 576)
        x = self.activate(self.fc1(x))  # -> (N, 120)
        x = self.activate(self.fc2(x))  # -> (N, 84)
        return self.fc3(x)  # -> (N, 10) logits

    def extra_repr(self) -> str:
        """Nothing for the tutorial's network (its print stays the tutorial's); else what print cannot show."""
        hidden = [f"{name}={getattr(self.arch, name)}" for name in ("activation", "pooling")]
        return ", ".join(hidden) if self.arch != TUTORIAL else ""


def within_bounds(tensor: torch.Tensor) -> torch.Tensor:
    """A 0-d bool tensor on `tensor`'s device: every value finite and within ±MAX_WEIGHT (no host sync)."""
    return (tensor.abs() <= MAX_WEIGHT).all()


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
