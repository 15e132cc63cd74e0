"""Random affine transforms of a whole batch on its device: rotation, shift, scale and a small shear.

MNIST's digits are centred, upright and of one size; people's are not. Each training digit gets
its own random transform, all of them in one `affine_grid` + `grid_sample` (never image by image
in Python), drawn from the run's own generator, so a seeded run is repeatable.
"""

import functools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from lenet.network.data import BACKGROUND


@dataclass(frozen=True)
class Affine:
    """The largest change each random transform may make."""

    degrees: float = 15.0  # rotation, either way
    shift_px: float = 3.0  # either way, on each axis
    scale: float = 0.15  # 1 - scale to 1 + scale
    shear_degrees: float = 10.0  # horizontal shear, either way


AUGMENTATION = Affine()


def matrices(n: int, limits: Affine, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """(n, 2, 3) `affine_grid` matrices, each a random rotation, shear, scale and shift.

    `affine_grid` maps each output pixel to where it reads the input, so each matrix is the
    inverse of the change a learner would see (worked out by hand: the 2 x 2 inverse is four
    numbers over a determinant, far cheaper for small batches than `torch.linalg.inv`).
    """
    u = torch.rand(5, n, generator=generator, device=generator.device).to(device) * 2 - 1  # uniform in [-1, 1)
    angle, shear = u[0] * math.radians(limits.degrees), u[1] * math.radians(limits.shear_degrees)
    scale, shift = 1 + u[2] * limits.scale, u[3:] * (2 * limits.shift_px / 32)  # pixels of 32 in grid units
    cos, sin, tan = torch.cos(angle), torch.sin(angle), torch.tan(shear)
    # the change seen: rotate (counterclockwise on screen, where y grows downwards) @ shear @ scale
    a, b = scale * cos, -scale * (cos * tan - sin)
    c, d = -scale * sin, scale * (sin * tan + cos)
    det = a * d - b * c
    i00, i01, i10, i11 = d / det, -b / det, -c / det, a / det
    tx, ty = shift
    rows = [i00, i01, -(i00 * tx + i01 * ty), i10, i11, -(i10 * tx + i11 * ty)]
    return torch.stack(rows, dim=1).view(n, 2, 3)


@functools.cache
def _pixel_centres(height: int, width: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(H, W, 3): each output pixel's centre in grid units, and a 1: what `affine_grid` multiplies."""
    identity = torch.eye(2, 3, device=device, dtype=dtype).unsqueeze(0)
    centres = F.affine_grid(identity, [1, 1, height, width], align_corners=False)[0]
    return torch.cat([centres, torch.ones_like(centres[..., :1])], dim=-1)


def augment(
    x: torch.Tensor, generator: torch.Generator, limits: Affine = AUGMENTATION, background: float = BACKGROUND
) -> torch.Tensor:
    """Digits (N, 1, 32, 32), normalised unless `background` says otherwise, each randomly
    transformed; what comes in from outside the picture is `background`, black.

    The grid is `affine_grid`'s, as one matmul (an einsum) on pixel centres worked out once: on
    the CPU, `affine_grid` took 11 times as long, rebuilding them for every batch.
    """
    n, _, height, width = x.shape
    theta = matrices(n, limits, generator, x.device).to(x.dtype)
    grid = torch.einsum("hwk,njk->nhwj", _pixel_centres(height, width, x.device, x.dtype), theta)
    moved = F.grid_sample(x - background, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return moved + background


TEST_CHANGES = Affine(degrees=25.0, shift_px=3.0, scale=0.0, shear_degrees=0.0)  # the transformed test set's


def transformed(images: torch.Tensor, seed: int = 0, limits: Affine = TEST_CHANGES) -> torch.Tensor:
    """uint8 digits (N, 1, 32, 32), each turned and moved at random, as uint8: a harder test set."""
    draws = torch.Generator(device=images.device).manual_seed(seed)
    return augment(images.float(), draws, limits, background=0.0).round().clamp(0, 255).to(torch.uint8)
