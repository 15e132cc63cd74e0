"""The LeNet of PyTorch's "Neural Networks" tutorial, unchanged."""

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (1, 32, 32)  # channels, height, width: MNIST's 28 x 28 padded by 2 on each side
# Weights up to this size give finite outputs for any input in the normalised range: through the five
# layers the largest activation stays under 1e30, float32 reaches 3e38 (a test checks it). Training
# ends a run before its weights pass it, so every model the app makes can be saved and loaded back.
MAX_WEIGHT = 1e4


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3)  # 1 input channel, 6 output channels, 3x3 kernel
        self.conv2 = nn.Conv2d(6, 16, 3)
        self.fc1 = nn.Linear(16 * 6 * 6, 120)  # 6x6 is the spatial size after conv2 + pool
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)  # (N, 1, 32, 32) -> (N, 6, 30, 30) -> (N, 6, 15, 15)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)  # -> (N, 16, 13, 13) -> (N, 16, 6, 6)
        x = torch.flatten(x, 1)  # -> (N, 576)
        x = F.relu(self.fc1(x))  # -> (N, 120)
        x = F.relu(self.fc2(x))  # -> (N, 84)
        return self.fc3(x)  # -> (N, 10) logits


def within_bounds(tensor: torch.Tensor) -> torch.Tensor:
    """A 0-d bool tensor on `tensor`'s device: every value finite and within ±MAX_WEIGHT (no host sync)."""
    return (tensor.abs() <= MAX_WEIGHT).all()


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
