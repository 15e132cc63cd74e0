"""What-if knobs: each changes the digit the way its name says, and the sweep is the model's own answers."""

import pytest
import torch
import torch.nn.functional as F

from lenet.explain.whatif import KNOB, KNOBS, SWEEP_POINTS, changed_digits, neutral, what_if
from lenet.network.data import to_network_input, to_pixels
from lenet.network.model import Net
from lenet.store.checkpoint import pretrained


@pytest.fixture(scope="module")
def model():
    net = Net()
    net.load_state_dict(pretrained().weights)
    return net


def bar() -> torch.Tensor:
    """A horizontal bar above the centre: easy to follow when it moves or turns."""
    digit = torch.zeros(28, 28, dtype=torch.uint8)
    digit[5:8, 10:18] = 255
    return digit


def centre(pixels: torch.Tensor) -> tuple[float, float]:
    """Centre of mass (x, y) in pixels; y grows downwards as on the screen."""
    ys, xs = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    mass = pixels.sum()
    return float((pixels * xs).sum() / mass), float((pixels * ys).sum() / mass)


def test_neutral_knobs_leave_the_digit_as_it_is(mnist):
    digit = to_pixels(mnist.test_images[:1])[0]
    torch.testing.assert_close(changed_digits(digit, [neutral()])[0], digit.float(), atol=1e-3, rtol=0)


@pytest.mark.parametrize(("knob", "value", "dx", "dy"), [("shift_x", 3.0, 3.0, 0.0), ("shift_y", -2.0, 0.0, -2.0)])
def test_moving_moves_the_centre_by_as_many_pixels(knob, value, dx, dy):
    x0, y0 = centre(bar().float())
    x1, y1 = centre(changed_digits(bar(), [{knob: value}])[0])
    assert (x1 - x0, y1 - y0) == pytest.approx((dx, dy), abs=0.05)


def test_rotating_turns_counterclockwise_about_the_centre():
    """The bar's centre sits 7.5 px above the field's centre (13.5, 13.5: pixel centres 0-27); turned 45 degrees
    counterclockwise it moves up and to the left, along the diagonal."""
    x, y = centre(changed_digits(bar(), [{"rotation": 45.0}])[0])
    assert (x, y) == pytest.approx((13.5 - 7.5 * 0.7071, 13.5 - 7.5 * 0.7071), abs=0.3)


def test_scaling_up_moves_the_bar_away_from_the_centre_and_grows_it():
    grown = changed_digits(bar(), [{"scale": 1.5}])[0]
    assert centre(grown)[1] == pytest.approx(13.5 - 7.5 * 1.5, abs=0.3)
    assert grown.sum() == pytest.approx(bar().float().sum() * 1.5**2, rel=0.1)


def test_whole_pixels_of_stroke_are_a_dilation_or_an_erosion(mnist):
    digit = to_pixels(mnist.test_images[:1])[0].float()
    thicker, thinner = changed_digits(digit.to(torch.uint8), [{"thickness": 1.0}, {"thickness": -1.0}])
    torch.testing.assert_close(thicker, F.max_pool2d(digit[None], 3, stride=1, padding=1)[0], atol=1e-3, rtol=0)
    torch.testing.assert_close(thinner, -F.max_pool2d(-digit[None], 3, stride=1, padding=1)[0], atol=1e-3, rtol=0)
    half = changed_digits(digit.to(torch.uint8), [{"thickness": 0.5}])[0]
    torch.testing.assert_close(half, (digit + thicker) / 2, atol=1e-3, rtol=0)


def test_knobs_stay_within_their_range():
    turned_far, turned_most = changed_digits(bar(), [{"rotation": 400.0}, {"rotation": KNOB["rotation"].high}])
    assert torch.equal(turned_far, turned_most)


@pytest.mark.parametrize("swept", [knob.name for knob in KNOBS])
def test_the_sweep_is_the_model_on_each_changed_digit(model, mnist, swept):
    digit = to_pixels(mnist.test_images[:1])[0]
    settings = {**neutral(), "rotation": 10.0}
    result = what_if(model, digit, settings, swept)
    assert result.values.shape == (SWEEP_POINTS,) and result.sweep.shape == (SWEEP_POINTS, 10)
    assert result.values[0] == KNOB[swept].low and result.values[-1] == KNOB[swept].high
    for i in (0, SWEEP_POINTS // 2, SWEEP_POINTS - 1):
        one = changed_digits(digit, [{**settings, swept: float(result.values[i])}]).clamp(0, 255)
        with torch.no_grad():
            expected = F.softmax(model(to_network_input(one)), dim=1)[0]
        torch.testing.assert_close(result.sweep[i], expected, atol=1e-5, rtol=1e-4)
    with torch.no_grad():
        shown = F.softmax(model(to_network_input(result.digit[None])), dim=1)[0]
    torch.testing.assert_close(result.probabilities, shown, atol=0.02, rtol=0)  # the picture is rounded to uint8


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1e30, "12", None])
def test_what_if_takes_any_knob_value_without_an_error(model, mnist, value):
    digit = to_pixels(mnist.test_images[:1])[0]
    settings = {name: value for name in neutral()} if value is not None else {}
    changed = what_if(model, digit, settings, "scale")
    assert changed.digit.shape == (28, 28) and torch.isfinite(changed.sweep).all()
