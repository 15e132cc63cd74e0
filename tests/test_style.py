"""A hand's style measured on its digits, against a trusted reference: MNIST's own digits written in a
known style are measured back as that style, over their own."""

import pytest
import torch

from lenet.network.style import Style, measures, style_of, written_in


def inner(images: torch.Tensor) -> torch.Tensor:
    """The (N, 32, 32) pixels: the lean may carry ink into the padding MNIST's 28 x 28 leave around them."""
    return images[:, 0]


@pytest.mark.parametrize("known", [Style(skew=-0.5), Style(skew=0.3, width=0.8), Style(width=1.25)])
def test_a_style_written_on_mnist_is_measured_back(mnist, known):
    """Over the digits' own style: MNIST's digits come in runs by one writer, who leans their own way."""
    digits, labels = mnist.train_images[20_000:20_300], mnist.train_labels[20_000:20_300]
    reference = inner(mnist.train_images), mnist.train_labels
    own = style_of(inner(digits), labels, *reference)
    measured = style_of(inner(written_in(digits, known)), labels, *reference)
    assert measured.skew - own.skew == pytest.approx(known.skew, abs=0.05)
    assert measured.width / own.width == pytest.approx(known.width, rel=0.1)


def test_mnists_own_digits_have_no_style_of_their_own(mnist):
    measured = style_of(
        inner(mnist.test_images[:500]), mnist.test_labels[:500], inner(mnist.train_images), mnist.train_labels
    )
    assert abs(measured.skew) < 0.05 and measured.width == pytest.approx(1, abs=0.05)
    assert measured.ink == pytest.approx(1, abs=0.1)


def test_heavy_strokes_are_written_heavier(mnist):
    light, heavy = (inner(written_in(mnist.test_images[:50], Style(ink=ink))) for ink in (1.0, 1.8))
    assert measures(heavy)[2].mean() > 1.3 * measures(light)[2].mean()


def test_a_scribble_is_held_to_a_lean_of_45_degrees():
    scribble = torch.zeros(10, 28, 28, dtype=torch.uint8)
    for i in range(28):
        scribble[:, i, min(27, 2 * i) if i < 14 else 27] = 255
    reference = torch.zeros(600, 28, 28, dtype=torch.uint8)  # upright bars, every label in every 6th
    reference[:, 4:24, 13:15] = 255
    measured = style_of(scribble, torch.arange(10), reference, torch.arange(600) // 6 % 10)
    assert abs(measured.skew) <= 1.0 and 0.5 <= measured.width <= 2.0
