"""Predictions and feature maps for single digits, without autograd."""

import torch
import torch.nn.functional as F

from lenet.model import Net


@torch.inference_mode()
def probabilities(model: Net, x: torch.Tensor) -> torch.Tensor:
    """(N, 1, 32, 32) network input -> (N, 10) class probabilities."""
    return F.softmax(model(x), dim=1)


@torch.inference_mode()
def feature_maps(model: Net, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """What conv1 and conv2 see in one digit, after their ReLU: (6, 30, 30) and (16, 13, 13)."""
    conv1 = F.relu(model.conv1(x))
    conv2 = F.relu(model.conv2(F.max_pool2d(conv1, 2)))
    return {"conv1": conv1[0], "conv2": conv2[0]}
