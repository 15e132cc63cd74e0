"""What if the digit were turned, moved, resized, drawn thicker or thinner: the same digit changed,
and what the model makes of every change along one knob's range, in one batched forward pass."""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from lenet.network.data import to_network_input
from lenet.network.model import Net
from lenet.network.preprocess import FIELD


@dataclass(frozen=True)
class Knob:
    name: str
    label: str
    low: float
    high: float
    step: float
    neutral: float  # the value that leaves the digit as it is
    unit: str


KNOBS = (
    Knob("rotation", "Rotate (counterclockwise)", -45.0, 45.0, 1.0, 0.0, "°"),
    Knob("shift_x", "Move right", -6.0, 6.0, 0.5, 0.0, " px"),
    Knob("shift_y", "Move down", -6.0, 6.0, 0.5, 0.0, " px"),
    Knob("scale", "Scale", 0.5, 1.5, 0.05, 1.0, "x"),
    Knob("thickness", "Thicker strokes (negative: thinner)", -2.0, 2.0, 0.25, 0.0, " px"),
)
KNOB = {knob.name: knob for knob in KNOBS}
SWEEP_POINTS = 41


def neutral() -> dict[str, float]:
    return {knob.name: knob.neutral for knob in KNOBS}


def _stroke_levels(digit: torch.Tensor, most: int) -> torch.Tensor:
    """(2 * most + 1, 28, 28): the digit eroded `most` times ... as it is ... dilated `most` times
    (each one pixel all round: a 3 x 3 minimum or maximum)."""
    levels = {0: digit}
    for n in range(1, most + 1):
        levels[n] = F.max_pool2d(levels[n - 1][None], 3, stride=1, padding=1)[0]
        levels[-n] = -F.max_pool2d(-levels[-n + 1][None], 3, stride=1, padding=1)[0]
    return torch.stack([levels[n] for n in range(-most, most + 1)])


def changed_digits(digit: torch.Tensor, settings: list[dict[str, float]]) -> torch.Tensor:
    """The (28, 28) uint8 digit, changed as each of `settings` says: (N, 28, 28) float, 0-255.

    Strokes first (fractional widths blend the two nearest whole ones), then one affine warp:
    rotation about the centre, scale, shift.
    """
    values = {}
    for name, knob in KNOB.items():  # kept within each knob's range; anything but a number leaves the digit as is
        column = torch.tensor([float(s.get(name, knob.neutral)) for s in settings], dtype=torch.float32)
        values[name] = column.nan_to_num(nan=knob.neutral).clamp(knob.low, knob.high)
    most = int(KNOB["thickness"].high)
    levels = _stroke_levels(digit.float(), most)
    position = values["thickness"] + most
    below = position.floor().long().clamp(max=2 * most - 1)
    share = (position - below).view(-1, 1, 1)
    stroked = levels[below] * (1 - share) + levels[below + 1] * share

    angle, scale = torch.deg2rad(values["rotation"]), values["scale"]
    cos, sin = torch.cos(angle), torch.sin(angle)
    shift_x, shift_y = values["shift_x"] * 2 / FIELD, values["shift_y"] * 2 / FIELD  # in grid units (-1..1)
    # affine_grid maps each output pixel back to where it comes from: the inverse of rotate-scale-shift
    # (counterclockwise on the screen, where y points down).
    theta = torch.stack(
        [
            torch.stack([cos / scale, -sin / scale, -(cos * shift_x - sin * shift_y) / scale], dim=1),
            torch.stack([sin / scale, cos / scale, -(sin * shift_x + cos * shift_y) / scale], dim=1),
        ],
        dim=1,
    )
    grid = F.affine_grid(theta, (len(settings), 1, FIELD, FIELD), align_corners=False)
    return F.grid_sample(stroked[:, None], grid, mode="bilinear", padding_mode="zeros", align_corners=False)[:, 0]


@dataclass(frozen=True)
class WhatIf:
    digit: torch.Tensor  # (28, 28) uint8: the digit changed as the knobs say
    probabilities: torch.Tensor  # (10,) what the model makes of it
    knob: Knob  # the knob swept
    values: torch.Tensor  # (SWEEP_POINTS,) its range
    sweep: torch.Tensor  # (SWEEP_POINTS, 10) the probabilities along it, the other knobs as set


@torch.inference_mode()
def what_if(model: Net, digit: torch.Tensor, settings: dict[str, float], swept: str) -> WhatIf:
    """The digit as `settings` change it, and `swept`'s whole range: one forward pass of 1 + 41 digits."""
    knob = KNOB[swept]
    values = torch.linspace(knob.low, knob.high, SWEEP_POINTS)
    batch = [settings] + [{**settings, swept: float(v)} for v in values]
    pixels = changed_digits(digit, batch).clamp(0, 255)
    probabilities = F.softmax(model(to_network_input(pixels)), dim=1)
    return WhatIf(pixels[0].round().to(torch.uint8), probabilities[0], knob, values, probabilities[1:])
