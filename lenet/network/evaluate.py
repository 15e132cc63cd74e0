"""Test-set accuracy and confusion counts, in large batches without autograd."""

import copy
from dataclasses import dataclass

import torch
from torch import nn

from lenet.network.data import normalise, to_pixels

NUM_CLASSES = 10


@dataclass(frozen=True)
class Evaluation:
    accuracy: float  # 0-1
    confusion: list[list[int]]  # confusion[true][predicted] counts
    predictions: torch.Tensor  # (N,) predicted labels, on the CPU


@torch.inference_mode()
def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int | None = None) -> Evaluation:
    """Accuracy on uint8 `images` (N, 1, 32, 32), normalised batch by batch (as many digits at a time as its
    network allows: 1,000 of the tutorial's); `model` is left as it is."""
    batch_size = batch_size or model.arch.digits_at_once  # a Net: its network says how many at a time
    if images.device.type == "cpu":  # channels-last weights are several times faster on the CPU (oneDNN)
        model = copy.deepcopy(model).to(memory_format=torch.channels_last)
    was_training = model.training
    model.eval()
    predictions = torch.cat(
        [model(normalise(images[i : i + batch_size])).argmax(1) for i in range(0, len(images), batch_size)]
    )
    model.train(was_training)
    confusion = torch.bincount(labels * NUM_CLASSES + predictions, minlength=NUM_CLASSES**2)
    return Evaluation(
        accuracy=(predictions == labels).float().mean().item(),
        confusion=confusion.view(NUM_CLASSES, NUM_CLASSES).tolist(),
        predictions=predictions.cpu(),
    )


def misclassified(
    evaluation: Evaluation, images: torch.Tensor, labels: torch.Tensor, limit: int
) -> list[tuple[torch.Tensor, int, int]]:
    """(28 x 28 uint8 pixels, true label, predicted label) of the first `limit` wrong predictions."""
    labels = labels.cpu()
    wrong = (evaluation.predictions != labels).nonzero().squeeze(1)[:limit]
    pixels = to_pixels(images.cpu()[wrong])
    return [(pixels[k], int(labels[i]), int(evaluation.predictions[i])) for k, i in enumerate(wrong.tolist())]
