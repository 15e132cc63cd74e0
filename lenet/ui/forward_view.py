"""Your digit through forward(): every step of the model's forward pass as a picture of its numbers, and
the arithmetic of the unit the learner picks, by click or by touch (`forward_view.js`).

The pictures come from one recorded forward pass (`anatomy.forward_steps`) of the learner's drawing or
a test digit, by the model at the time machine's step; a pick reruns only this part of the page and
asks `lenet.arithmetic` how the unit was made. Everything a browser sends back is checked first.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
import torch
from torch import nn

from lenet import arithmetic
from lenet.network.data import MNIST_MEAN, MNIST_STD, PAD, load_mnist, to_network_input
from lenet.network.preprocess import NotADigit, prepare
from lenet.network.strokes import BRUSH_PX, drawn
from lenet.ui import canvas, session, unit_html
from lenet.ui.flow import Flow, Stage, layout, png

HERE = Path(__file__).parent
VIEW = st.components.v2.component(
    "lenet.forward_view",
    html="<div class='flow' data-testid='forward-view'></div>",
    css=(HERE / "forward_view.css").read_text(),
    js=(HERE / "forward_view.js").read_text(),
)
ZOOM_PX = 300
PICKED = "forward_unit"  # the pick the browser last sent, in the session
KEY = "forward-view"


def digit() -> tuple[torch.Tensor, torch.Tensor, str]:
    """The digit to follow: the learner's drawing when there is one (and they want it), else a test digit
    they pick; as (the network input, the 28 x 28 digit, a sentence saying which)."""
    drawing = canvas.kept()
    choices = ["Your drawing", "A test digit"]
    if drawing is not None and st.radio("Digit", choices, horizontal=True, key="forward_digit") == choices[0]:
        try:  # once per drawing, not on every pick

            def prepared() -> tuple[torch.Tensor, torch.Tensor]:
                return prepare(drawn(drawing.strokes, BRUSH_PX), min_extent_px=2 * BRUSH_PX)

            ink, x = session.last("forward_drawing", drawing, prepared)
            return x, ink, "Your drawing from the Sketch pad, as the network sees it."
        except NotADigit as error:
            st.info(f"{error} A test digit instead:")
    picked = st.number_input("MNIST test digit", min_value=0, max_value=9_999, value=0, key="forward_test")
    index = min(max(int(picked), 0), 9_999)  # a crafted message may send any number
    mnist = load_mnist()
    ink = mnist.test_images[index, 0, PAD:-PAD, PAD:-PAD]
    said = f"MNIST test digit {index:,}, a {int(mnist.test_labels[index])}" + (
        "." if drawing is not None else ": draw your own on the Sketch pad to follow it here."
    )
    return to_network_input(ink[None]), ink, said


def _checked(sent: object, shown: list[Stage]) -> tuple[int, int, int, int] | None:
    """A pick the browser sent, if it names a cell of a stage; None for anything else."""
    if not isinstance(sent, dict):
        return None
    values = [sent.get(k) for k in ("stage", "tile", "row", "col")]
    if not all(type(v) is int for v in values):
        return None
    stage, tile, row, col = values
    if not 0 <= stage < len(shown):
        return None
    count, rows, cols = shown[stage].tiles.shape
    if not (0 <= tile < count and 0 <= row < rows and 0 <= col < cols) or shown[stage].tiles[tile, row, col].isnan():
        return None
    return stage, tile, row, col


@dataclass(frozen=True)
class Mark:
    """A rectangle the picture draws: the picked unit, the window it read, the inputs that weigh most."""

    stage: int
    tile: int
    row: int
    col: int
    rows: int = 1
    cols: int = 1
    kind: str = "unit"  # unit, window, input


def _unit(stage: Stage, row: int, col: int) -> int:
    return row * stage.tiles.shape[2] + col


def _input_name(shown: list[Stage], source: int) -> Callable[[int], str]:
    """What input k of a linear layer is, for its table: a flattened number names its map and place."""
    before = shown[source]
    if before.kind == "flatten":
        maps = tuple(shown[source - 1].tiles.shape)
        return lambda k: "x[{}]: map {} ({}, {})".format(k, *arithmetic.flatten_source(k, maps))
    return lambda k: f"{before.module} unit {k}"


def _activation(call: str) -> str:
    """ "F.relu" -> "relu", "torch.tanh" -> "tanh"."""
    return call.rsplit(".", 1)[-1]


def explain(model: nn.Module, made: Flow, pick: tuple[int, int, int, int]) -> tuple[str, list[Mark]]:
    """The arithmetic of the picked unit as HTML, and the rectangles that show where its numbers came from."""
    s, tile, row, col = pick
    shown, marks = made.stages, [Mark(s, tile, row, col)]
    stage = shown[s]
    if stage.kind == "input":
        inside = PAD <= row < stage.tiles.shape[1] - PAD and PAD <= col < stage.tiles.shape[2] - PAD
        ink = int(made.ink[row - PAD, col - PAD]) if inside and made.ink is not None else None
        value = float(stage.tiles[0, row, col])
        return unit_html.pixel(row, col, value, ink, MNIST_MEAN, MNIST_STD), marks
    if stage.kind in ("conv", "linear", "activation"):
        activated = (
            (_activation(stage.call), float(stage.tiles[tile, row, col])) if stage.kind == "activation" else None
        )
        layer_stage = s - 1 if activated else s
        source = layer_stage - 1
        if shown[layer_stage].kind == "conv":
            index = (tile, row, col)
            sum_ = arithmetic.unit_arithmetic(model, made.x, stage.module, index, made.steps)
            (top, left), (k_rows, k_cols) = sum_.window, sum_.inputs.shape[1:]
            marks += [Mark(source, t, top, left, k_rows, k_cols, "window") for t in range(sum_.inputs.shape[0])]
            return unit_html.convolution(sum_, activated), marks
        index = (_unit(stage, row, col),)
        sum_ = arithmetic.unit_arithmetic(model, made.x, stage.module, index, made.steps)
        width = shown[source].tiles.shape[2]
        top, _ = sum_.largest(unit_html.LISTED)
        marks += [Mark(source, 0, i // width, i % width, kind="input") for i, *_ in top]
        return unit_html.linear(sum_, activated, _input_name(shown, source)), marks
    if stage.kind == "pool":
        before = shown[s - 1].tiles
        mode = "avg" if "avg" in stage.call else "max"
        arith = arithmetic.pool_arithmetic(before, (tile, row, col), before.shape[1] // stage.tiles.shape[1], mode)
        size = arith.window.shape[0]
        marks.append(Mark(s - 1, tile, *arith.origin, size, size, "window"))
        return unit_html.pool(arith, (tile, row, col), shown[s - 1].call), marks
    if stage.kind == "flatten":
        unit, maps = _unit(stage, row, col), tuple(shown[s - 1].tiles.shape)
        came_from = arithmetic.flatten_source(unit, maps)
        marks.append(Mark(s - 1, came_from[0], came_from[1], came_from[2], kind="window"))
        return unit_html.flatten(unit, came_from, maps, float(stage.tiles[0, row, col])), marks
    marks.append(Mark(s - 1, 0, row, col, kind="window"))  # softmax: the score it came from
    return unit_html.softmax(arithmetic.softmax_arithmetic(made.steps[-1].output[0]), col), marks


def _default(shown: list[Stage]) -> tuple[int, int, int, int]:
    """conv1's first map where it responds most: a unit whose arithmetic is worth reading."""
    conv = next(i for i, stage in enumerate(shown) if stage.kind == "conv")
    row, col = divmod(int(shown[conv].tiles[0].argmax()), shown[conv].tiles.shape[2])
    return conv, 0, row, col


def _remember() -> None:
    """The pad of picks: the browser's latest, as it sent it (checked against the stages when used)."""
    state = st.session_state.get(KEY) or {}
    st.session_state[PICKED] = state.get("picked")


def show(model: nn.Module, made: Flow) -> tuple[int, int, int, int]:
    """The flow, the picked unit zoomed and its arithmetic under its step; returns the pick."""
    shown = made.stages
    pick = _checked(st.session_state.get(PICKED), shown) or _default(shown)
    html, marks = explain(model, made, pick)
    stage = shown[pick[0]]
    zoom = None
    if stage.cell < 12 and stage.kind not in ("flatten", "softmax", "linear"):
        _, rows, cols = stage.tiles.shape
        cell = min(24, ZOOM_PX // max(rows, cols))
        zoom = {"url": png(stage, cell, pick[1]), "cell": cell, "width": cols * cell, "height": rows * cell}
    VIEW(
        data={
            "stages": [layout(stage, url) for stage, url in zip(shown, made.urls, strict=True)],
            "picked": dict(zip(("stage", "tile", "row", "col"), pick, strict=True)),
            "zoom": zoom,
            "marks": [vars(mark) for mark in marks],
            "detail": html,
        },
        key=KEY,
        default={"picked": None},
        on_picked_change=_remember,
        width="stretch",
        height="content",
    )
    return pick
