"""A hand's style, measured on its digits, and MNIST's digits written in it.

Thirty digits are too few to learn a hand from by themselves: a network shown them many times
remembers those thirty. What they do say is how the hand differs from MNIST's: how far it leans
(the skew of its ink, label by label against MNIST's), how wide it writes, how heavy its strokes are.
Written in that style, thousands of MNIST digits teach the network the hand, not the thirty
(docs/measurements/2026-12-01-readable-panels.md has the figures).
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from lenet.network.evaluate import NUM_CLASSES

EVERY = 6  # each label's usual style is measured on every 6th training digit: MNIST's digits come in runs
# by one writer, who leans their own way (the first 10,000 lean 0.1 less than digits 20,000-30,000)
MAX_SKEW = 1.0  # a lean of 45 degrees: more is not a style but a scribble
WIDTH_RANGE = (0.5, 2.0)
HEAVY = 1.2  # more ink than this times MNIST's: strokes are drawn thicker


@dataclass(frozen=True)
class Style:
    """How a hand differs from MNIST's: extra lean (pixels across per pixel down), width and ink ratios."""

    skew: float = 0.0
    width: float = 1.0
    ink: float = 1.0


def measures(pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(N, H, W) uint8 digits -> each one's skew (from its second moments), width once unskewed, ink share."""
    x = pixels.float()
    ys, xs = torch.meshgrid(torch.arange(x.shape[1]).float(), torch.arange(x.shape[2]).float(), indexing="ij")
    mass = x.sum((1, 2)).clamp(min=1.0)
    dx = xs - ((x * xs).sum((1, 2)) / mass)[:, None, None]
    dy = ys - ((x * ys).sum((1, 2)) / mass)[:, None, None]
    mu11, mu02, mu20 = ((x * a * b).sum((1, 2)) / mass for a, b in ((dx, dy), (dy, dy), (dx, dx)))
    skew = mu11 / mu02.clamp(min=1e-3)
    return skew, (mu20 - skew * mu11).clamp(min=1e-3).sqrt(), (x > 127).float().mean((1, 2))


def style_of(
    pixels: torch.Tensor, labels: torch.Tensor, mnist_pixels: torch.Tensor, mnist_labels: torch.Tensor
) -> Style:
    """The style of the learner's (N, 28, 28) digits: each measure against MNIST's for its label. Medians,
    not means: a digit with little height (a flat 2, a dash) has a skew that runs off to large values."""
    mine, usual = measures(pixels), measures(mnist_pixels[::EVERY])
    reference = mnist_labels[::EVERY]
    per_label = [torch.stack([m[reference == d].median() for d in range(NUM_CLASSES)])[labels] for m in usual]
    skew = float((mine[0] - per_label[0]).median().clamp(-MAX_SKEW, MAX_SKEW))
    width = float((mine[1] / per_label[1]).median().clamp(*WIDTH_RANGE))
    return Style(skew, width, float((mine[2] / per_label[2]).median()))


def written_in(images: torch.Tensor, style: Style) -> torch.Tensor:
    """uint8 digits (N, 1, H, W) as the style writes them: heavier strokes, leaned and widened."""
    x = images.float()
    if style.ink > HEAVY:
        thicker = min(1.0, style.ink - 1)
        x = F.max_pool2d(x, 3, stride=1, padding=1) * thicker + x * (1 - thicker)
    # each output pixel reads the input where the lean and the width put it (grid units, same aspect)
    theta = torch.tensor([[1 / style.width, -style.skew / style.width, 0.0], [0.0, 1.0, 0.0]])
    grid = F.affine_grid(theta.expand(len(x), 2, 3), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False).round().clamp(0, 255).to(torch.uint8)
