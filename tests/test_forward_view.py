"""Your digit through forward(), without a browser: every step laid out, every kind of unit explained, and
whatever a browser sends as a pick either names a cell or is refused."""

import random
import re

import pytest
import torch

from lenet.model import Architecture, Net
from lenet.network.anatomy import forward_table
from lenet.network.data import to_network_input
from lenet.store.checkpoint import pretrained
from lenet.ui import flow, forward_view


@pytest.fixture(scope="module")
def made(mnist):
    model = Net()
    model.load_state_dict(pretrained().weights)
    ink = mnist.test_images[0, 0, 2:-2, 2:-2]
    x = to_network_input(ink[None])
    shown, steps = flow.stages(model.eval(), x)
    return model, flow.Flow(shown, steps, ["" for _ in shown], x, ink)


def test_every_step_is_shown_with_the_shape_forward_gives_and_fits_a_phone(made):
    _, walked = made
    table = [row["output shape"] for row in forward_table(Net()).rows]
    assert [str(stage.shape) for stage in walked.stages] == [*table, "[1, 10]"]
    assert [stage.kind for stage in walked.stages][-2:] == ["linear", "softmax"]
    for stage in walked.stages:
        layout = flow.layout(stage, "")
        assert layout["width"] <= flow.WIDTH_PX, stage.call
        assert int(torch.isfinite(stage.tiles).sum()) == stage.count  # every number once, blanks past the end
    assert walked.stages[7].tiles.shape == (1, 16, 36)  # the flatten: a row per map of 6 x 6


def numbers(html: str) -> list[float]:
    return [float(n.replace("&minus;", "-")) for n in re.findall(r"(?:&minus;)?\d+\.\d{3}(?!\d)", html)]


def test_every_kind_of_unit_is_explained_and_its_marks_lie_on_the_pictures(made):
    model, walked = made
    for s, stage in enumerate(walked.stages):
        count, rows, cols = stage.tiles.shape
        for pick in ((s, 0, 0, 0), (s, count - 1, rows // 2, cols // 2)):
            if stage.tiles[pick[1:]].isnan():
                continue
            html, marks = forward_view.explain(model, walked, pick)
            assert "data-testid=unit-" in html, stage.call
            assert marks[0] == forward_view.Mark(*pick)
            for mark in marks:
                assert 0 <= mark.stage < len(walked.stages)
                assert 0 <= mark.tile < walked.stages[mark.stage].tiles.shape[0]


def test_a_convolution_units_numbers_add_up_on_screen(made):
    model, walked = made
    html, _ = forward_view.explain(model, walked, (4, 3, 6, 6))  # conv2: six input channels
    assert html.count("data-testid=unit-channel") == 6
    total = float(re.search(r"data-testid=unit-total>([^<]+)<", html)[1].replace("&minus;", "-"))
    assert total == pytest.approx(float(walked.steps[3].output[0, 3, 6, 6]), abs=5e-4)


def test_the_input_pixel_says_how_it_was_normalised(made):
    model, walked = made
    html, _ = forward_view.explain(model, walked, (0, 0, 0, 0))
    assert "border" in html and "&minus;0.424" in html
    row, col = next((r, c) for r in range(28) for c in range(28) if walked.ink[r, c] > 200)
    html, _ = forward_view.explain(model, walked, (0, 0, row + 2, col + 2))
    assert f"ink {int(walked.ink[row, col])} of 255" in html


JUNK = [None, 3, "1", [], {}, {"stage": 1}, {"stage": True, "tile": 0, "row": 0, "col": 0}]


def test_a_pick_from_the_browser_names_a_cell_or_is_refused(made):
    _, walked = made
    shown = walked.stages
    assert forward_view._checked({"stage": 1, "tile": 5, "row": 29, "col": 29}, shown) == (1, 5, 29, 29)
    for sent in JUNK:
        assert forward_view._checked(sent, shown) is None
    assert forward_view._checked({"stage": 8, "tile": 0, "row": 4, "col": 23}, shown) == (8, 0, 4, 23)
    generator = random.Random(0)
    junk = [-1, 30, 10**30, -(10**30), 1.0, float("nan"), "0", None, [0], True]

    def value() -> object:
        return generator.randrange(16) if generator.random() < 0.9 else generator.choice(junk)

    accepted = refused = 0
    for _ in range(2_000):
        sent = {key: value() for key in ("stage", "tile", "row", "col") if generator.random() < 0.98}
        pick = forward_view._checked(sent, shown)
        if pick is None:
            refused += 1
            continue
        accepted += 1
        stage, tile, row, col = pick
        assert torch.isfinite(shown[stage].tiles[tile, row, col])
    assert accepted > 50 and refused > 1_000


@pytest.mark.parametrize(
    "arch",
    [
        Architecture(conv1_channels=16, conv2_channels=32, padding=1, pooling="none", fc1_units=8),
        Architecture(conv1_channels=64, conv2_channels=64, fc1_units=512, fc2_units=512, activation="tanh"),
        Architecture(kernel_size=5, pooling="avg", activation="sigmoid", conv1_channels=1, conv2_channels=1),
    ],
)
def test_any_network_is_followed_step_by_step_within_a_phones_width(mnist, arch):
    torch.manual_seed(0)
    model = Net(arch).eval()
    ink = mnist.test_images[0, 0, 2:-2, 2:-2]
    x = to_network_input(ink[None])
    shown, steps = flow.stages(model, x)
    walked = flow.Flow(shown, steps, ["" for _ in shown], x, ink)
    for s, stage in enumerate(shown):
        assert flow.layout(stage, "")["width"] <= flow.WIDTH_PX, stage.call
        count, rows, cols = stage.tiles.shape
        pick = next(
            (s, t, r, c)
            for t in range(count)
            for r in range(rows)
            for c in range(cols)
            if torch.isfinite(stage.tiles[t, r, c])
        )
        html, _ = forward_view.explain(model, walked, pick)
        if stage.kind in ("conv", "linear", "activation"):
            total = float(re.search(r"data-testid=unit-total>([^<]+)<", html)[1].replace("&minus;", "-"))
            module_stage = s if stage.kind != "activation" else s - 1
            assert total == pytest.approx(float(shown[module_stage].tiles[pick[1:]]), abs=5e-4), stage.call
        if stage.kind == "pool" and arch.pooling == "avg":
            assert "mean of a 2 x 2" in html
