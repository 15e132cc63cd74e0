"""The loss charts as Chromium draws them (plotly.js, from the figure the page sends): the ticks a
learner reads for a run that stays at a guess, one that learns and one that diverges, at 1280 and 390 px."""

import os

import numpy as np
import pytest
from browser import CHROMIUM, CHROMIUM_FLAGS

from lenet.ui import charts

pytestmark = pytest.mark.browser

if os.environ.get("CI"):  # in CI a missing Playwright fails the run: never a skip
    from playwright.sync_api import sync_playwright
else:
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright

STEPS = np.arange(300)
NOISE = np.random.default_rng(0).normal(0, 0.05, len(STEPS))
RUNS = {
    "flat": 2.303 + NOISE / 5,  # a learning rate too small: it stays at a guess
    "falling": 2.2 * np.exp(-STEPS / 40) + 0.1 + NOISE,
    "diverging": np.concatenate([2.3 - STEPS[:100] / 200, np.geomspace(1.8, 60, 150), np.full(50, np.nan)]),
}


@pytest.fixture(scope="module")
def chromium():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def drawn(chromium, figure, width: int, tmp_path) -> dict:
    """The loss axis's tick labels, the loss line's height on screen, and whether the legend stays clear
    of the plot and of the chart's toolbar."""
    page = chromium.new_page(viewport={"width": width, "height": 800})
    html = tmp_path / "chart.html"
    html.write_text(figure.to_html(include_plotlyjs=True, full_html=True, default_width="100%"))
    page.goto(html.as_uri())
    page.locator(".ytick text").first.wait_for()
    box = lambda selector: page.locator(selector).first.bounding_box()  # noqa: E731
    smoothed = page.locator(".scatterlayer .trace").nth(1).locator("path.js-line")
    line = smoothed.bounding_box()
    seen = {
        "ticks": page.locator(".ytick text").evaluate_all("texts => texts.map(t => t.textContent)"),
        "line_height": line["height"] / box(".nsewdrag")["height"],
        "legend_clear": box(".legend")["y"] >= box(".nsewdrag")["y"] + box(".nsewdrag")["height"],
        "toolbar_clear": box(".legend")["y"] > box(".modebar")["y"] + box(".modebar")["height"],
    }
    page.close()
    return seen


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("run", RUNS)
def test_the_loss_chart_says_its_values_for_any_run(chromium, tmp_path, run, width):
    losses = RUNS[run]
    seen = drawn(chromium, charts.loss_chart(losses, 100, [(0, 0.1), (299, 0.5)]), width, tmp_path)
    print(f"\n{run} at {width} px: ticks {seen['ticks']}, the smoothed line is {seen['line_height']:.0%} of the height")
    values = [float(tick) for tick in seen["ticks"]]
    assert values[0] == 0 and len(values) >= 4, "the axis starts at 0 with enough labels to read a value"
    assert seen["legend_clear"] and seen["toolbar_clear"]
    if run != "diverging":
        assert any(1 <= value <= 2.5 for value in values), "a value near the guess (2.30) is labelled"
    if run == "flat":
        assert seen["line_height"] < 0.05, "a run that stays at a guess reads flat"
    if run == "falling":
        assert seen["line_height"] > 0.6, "a run that learns falls most of the height"
    if run == "diverging":
        assert max(values) >= 40, "a diverging run is seen to climb"


class Run:
    """What `runs_chart` reads of a `TrainingRun` view."""

    def __init__(self, losses):
        self.losses, self.loss_stride, self.accuracy_points, self.label = list(losses), 1, [(0, 0.1)], "run"


def test_the_comparison_chart_shares_the_axis(chromium, tmp_path):
    figure = charts.runs_chart([Run(RUNS["flat"]), Run(RUNS["falling"])], ["run 1: lr 0.0001", "run 2: lr 0.1"])
    seen = drawn(chromium, figure, 390, tmp_path)
    values = [float(tick) for tick in seen["ticks"]]
    assert values[0] == 0 and len(values) >= 4 and seen["legend_clear"] and seen["toolbar_clear"]
