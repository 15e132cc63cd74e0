"""The LeNet of PyTorch's "Neural Networks" tutorial, unchanged."""

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (1, 32, 32)  # channels, height, width: MNIST's 28 x 28 padded by 2 on each side


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


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
