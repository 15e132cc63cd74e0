"""Filter and feature-map pictures: each weight lands in its own cell, in the colour of its sign and size."""

import base64
import io
import re

import numpy as np
import pytest
import torch
from PIL import Image

from lenet.network.model import Net
from lenet.ui.charts import MAX_CHART_POINTS, loss_chart, smoothed
from lenet.ui.html import ANSWER, BAR_PX, DIGIT_COLOURS, OTHERS, colour_key, probability_bars, sweep_chart
from lenet.ui.pictures import AGAINST, FOR, GAP_PX, NEGATIVE, POSITIVE, attribution, colour, data_url, filters, picture

WHITE = (255, 255, 255)


def test_colour_ends_and_middle():
    diverging = colour(torch.tensor([-1.0, 0.0, 1.0, 0.5]), diverging=True).tolist()
    assert diverging[:3] == [list(NEGATIVE), list(WHITE), list(POSITIVE)]
    assert diverging[3] == [round(255 + 0.5 * (c - 255)) for c in POSITIVE]  # half way from white to blue
    assert colour(torch.tensor([0.0, 1.0, 2.0]), diverging=False).tolist() == [[0] * 3, [255] * 3, [255] * 3]


def test_each_weight_is_a_cell_of_its_own_colour():
    weight = torch.zeros(6, 1, 3, 3)
    weight[0, 0, 0, 0] = 2.0  # the largest magnitude: full blue
    weight[5, 0, 2, 1] = -1.0  # half the largest, negative: half red
    cell = 24
    image = filters(weight)
    tile = 3 * cell + GAP_PX
    assert image.shape == (3 * cell, 6 * tile - GAP_PX, 3)
    assert tuple(image[0, 0]) == tuple(image[cell - 1, cell - 1]) == POSITIVE
    assert tuple(image[cell, cell]) == WHITE  # the next cell of the same filter is zero
    half_red = tuple(round(255 + 0.5 * (c - 255)) for c in NEGATIVE)
    assert tuple(image[2 * cell + 5, 5 * tile + cell + 5]) == half_red
    assert (image[:, 3 * cell : 3 * cell + GAP_PX] == 255).all()  # the gap after filter 0


def test_conv2_filters_are_a_row_per_filter_and_a_column_per_input_channel():
    weight = Net().conv2.weight.detach()
    image = filters(weight)
    cell = 12
    assert image.shape == (16 * (3 * cell + GAP_PX) - GAP_PX, 6 * (3 * cell + GAP_PX) - GAP_PX, 3)
    filter_, channel = 9, 4
    top, left = filter_ * (3 * cell + GAP_PX), channel * (3 * cell + GAP_PX)
    value = weight[filter_, channel, 1, 2] / weight.abs().max()
    expected = colour(value, diverging=True).tolist()
    assert image[top + cell + 1, left + 2 * cell + 1].tolist() == expected


def test_feature_maps_share_one_grey_scale():
    maps = torch.stack([torch.full((13, 13), 4.0), torch.full((13, 13), 1.0), torch.zeros(13, 13)])
    image = picture(maps, columns=2, diverging=False, cell_px=5)
    assert image.shape == (2 * 65 + GAP_PX, 2 * 65 + GAP_PX, 3)
    assert image[0, 0].tolist() == [255] * 3  # the brightest map
    assert image[0, 65 + GAP_PX].tolist() == [64] * 3  # a quarter as bright
    assert image[65 + GAP_PX, 0].tolist() == [0] * 3  # nothing: black
    assert (image[65 + GAP_PX :, 65 + GAP_PX :] == 255).all()  # no fourth map: background
    assert image.dtype == np.uint8


def test_a_data_url_holds_the_exact_pixels():
    for pixels in (filters(Net().conv1.weight), np.arange(28 * 28, dtype=np.uint8).reshape(28, 28)):
        url = data_url(pixels)
        assert url.startswith("data:image/png;base64,")
        decoded = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))
        np.testing.assert_array_equal(decoded, pixels)


def test_probability_bars_are_as_tall_as_likely_and_the_likeliest_is_red():
    probabilities = [0.0, 0.002, 0.05, 0.0, 0.0, 0.0, 0.0, 0.9, 0.048, 0.0]
    html = probability_bars(probabilities)
    bars = re.findall(r"title='(\d): [\d.]+%' style='[^']*height:(\d+)px;background:([^']+)'", html)
    assert [int(digit) for digit, _, _ in bars] == list(range(10))
    heights = [int(height) for _, height, _ in bars]
    assert heights[7] == round(0.9 * BAR_PX) and heights[2] == round(0.05 * BAR_PX)
    assert heights[0] == 1  # a hairline, so every digit has a bar
    assert [colour for _, _, colour in bars].count(ANSWER) == 1 and bars[7][2] == ANSWER
    assert ">90%<" in html and ">5%<" in html and "><1%<" in html
    no_answer = probability_bars([0.12, *[0.88 / 9] * 9])  # a random network's: no digit is its answer
    assert ANSWER not in no_answer and no_answer.count(OTHERS) == 10


def test_a_long_run_shows_every_kth_step_up_to_the_latest():
    losses = list(np.linspace(2.3, 0.05, 9_371))
    chart = loss_chart(losses, steps_per_epoch=937)
    raw, trend = chart.data
    assert len(raw.x) <= MAX_CHART_POINTS and raw.x[-1] == 9_371  # the latest step is always drawn
    assert np.all(np.diff(raw.x) == 5) and "every 5th step" in raw.name
    np.testing.assert_allclose(raw.y, np.asarray(losses)[raw.x - 1])
    assert trend.y[-1] == smoothed(np.asarray(losses))[-1]  # the average still covers every step
    assert len(chart.layout.shapes) == 1 + 10  # the guess's line, and one at each of the 10 epoch boundaries


def test_a_short_run_shows_every_step():
    chart = loss_chart([2.3, 2.0, 1.5], steps_per_epoch=2)
    assert list(chart.data[0].x) == [1, 2, 3] and chart.data[0].name == "step loss"
    assert len(chart.layout.shapes) == 1 + 1


def test_the_sweep_chart_has_a_line_per_digit_and_marks_the_slider():
    values = np.linspace(-45, 45, 41)
    probabilities = np.zeros((41, 10))
    probabilities[:, 7] = np.linspace(1, 0, 41)
    probabilities[:, 1] = 1 - probabilities[:, 7]
    svg = sweep_chart(values.tolist(), probabilities.tolist(), current=0.0, label="Rotate", unit="°")
    lines = dict(re.findall(r"<polyline data-digit='(\d)' points='[^']*' fill='none' stroke='([^']+)'", svg))
    assert sorted(lines) == [str(d) for d in range(10)]
    assert {d for d, colour in lines.items() if colour != "lightgray"} == {"1", "7"}  # the others never pass 5 %
    assert lines["7"] == DIGIT_COLOURS[7]
    seven = re.search(r"data-digit='7' points='([^']*)'", svg).group(1).split()
    (x0, y0), (x1, y1) = (map(float, seven[0].split(",")), map(float, seven[-1].split(",")))
    assert x0 < x1 and y0 < y1  # from 100 % at the left to 0 % at the right (SVG's y grows downwards)
    now = float(re.search(r"data-testid='sweep-now' x1='([\d.]+)'", svg).group(1))
    assert now == pytest.approx((x0 + x1) / 2, abs=0.2)  # 0 degrees: half way


def test_attributions_are_blue_for_and_red_against_over_a_grey_digit():
    digit = torch.zeros(28, 28, dtype=torch.uint8)
    digit[10, 10] = 255
    shares = torch.zeros(28, 28)
    shares[0, 0], shares[0, 1], shares[5, 5] = 2.0, -2.0, 0.5
    pixels = attribution(digit, shares, scale=2.0, cell_px=1)
    assert pixels.shape == (28, 28, 3)
    assert tuple(pixels[0, 0]) == FOR and tuple(pixels[0, 1]) == AGAINST  # full strength: the colour itself
    assert tuple(pixels[27, 27]) == WHITE  # nothing, no ink: white
    assert pixels[10, 10].tolist() == [166] * 3  # ink without a share: light grey
    assert pixels[5, 5][2] > pixels[5, 5][0]  # a weaker push for: a paler blue


def test_one_colour_language_on_every_picture():
    """Blue is more (a positive weight, a push for the digit, brighter), red is less, in the pictures and
    in the keys under them."""
    assert (FOR, AGAINST) == (POSITIVE, NEGATIVE) == ((33, 102, 172), (178, 24, 43))
    key = colour_key(0.42, "lowered its score", "raised it")
    gradient = re.search(r"linear-gradient\(to right, ([^)]*\)), #fff, ([^)]*\))\)", key).groups()
    assert gradient == (f"rgb{NEGATIVE}".replace(" ", ""), f"rgb{POSITIVE}".replace(" ", ""))
    assert "&minus;0.42 lowered its score" in key and "+0.42 raised it" in key
    assert "0 no response" in colour_key(3.5, "no response", "strongest", diverging=False)
    assert "&lt;b&gt;" in colour_key(1, "<b>", "x")
