"""What the model makes of one digit: its probabilities and what its convolution layers see."""

import functools
import hashlib
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from lenet.network.anatomy import ForwardStep, after_relu, forward_steps
from lenet.network.model import Net
from lenet.network.preprocess import prepare


def _feature_maps(steps: list[ForwardStep]) -> dict[str, torch.Tensor]:
    """What conv1 and conv2 see in one digit, after their ReLU: (6, 30, 30) and (16, 13, 13)."""
    after = after_relu(steps)
    return {"conv1": after["conv1"][0], "conv2": after["conv2"][0]}


# Under this, the likeliest digit is no answer: a random network puts 8-13 % on every digit, 10 % is chance.
NO_ANSWER_BELOW = 0.2


@dataclass(frozen=True)
class Reading:
    """A digit as the network read it."""

    digit: torch.Tensor  # (28, 28) uint8: what the network sees, before padding
    x: torch.Tensor  # (1, 1, 32, 32) the normalised network input
    probabilities: torch.Tensor  # (10,)
    feature_maps: dict[str, torch.Tensor]  # "conv1" (6, 30, 30) and "conv2" (16, 13, 13), after their ReLU

    @property
    def prediction(self) -> int:
        return int(self.probabilities.argmax())

    @functools.cached_property
    def fingerprint(self) -> str:
        """The network input's digest: what caches of work done for one drawing are keyed by."""
        return hashlib.sha1(self.x.numpy().tobytes()).hexdigest()

    @property
    def answered(self) -> bool:
        """Whether the model has an answer at all: its likeliest digit well above chance."""
        return float(self.probabilities.max()) >= NO_ANSWER_BELOW

    @property
    def runner_up(self) -> int:
        """The second likeliest digit."""
        return int(self.probabilities.topk(2).indices[1])


class OutputNotFinite(ValueError):
    """The model's output is not a number: weights grown too large (a learning rate far too high)."""


def read_digit(model: Net, image: np.ndarray, detect_inversion: bool = False, min_extent_px: float = 0) -> Reading:
    """A drawing or photo -> what `model` reads in it.

    `NotADigit` when there is nothing to read; `OutputNotFinite` when the model cannot give a number.
    """
    digit, x = prepare(image, detect_inversion=detect_inversion, min_extent_px=min_extent_px)
    steps = forward_steps(model, x)  # one forward pass for the prediction and the feature maps
    probs = F.softmax(steps[-1].output, dim=1)[0]
    if not torch.isfinite(probs).all():
        raise OutputNotFinite(
            "Your model's output is not a number: its weights have grown too large, most likely from a learning "
            "rate that was too high. Reset it on the Train page."
        )
    return Reading(digit, x, probs, _feature_maps(steps))
