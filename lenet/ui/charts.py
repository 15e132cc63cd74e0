"""Plotly charts for the pages, built from plain data, so pages only display them."""

import math
from html import escape

import numpy as np

# plotly checks values against pandas' types when pandas is in `sys.modules`, and the warm-up thread
# imports pandas in the background: a figure built meanwhile met a half-imported pandas
# ("partially initialized module 'pandas' has no attribute 'Series"). An import here waits for it.
import pandas  # noqa: F401
import plotly.graph_objects as go

SMOOTHING = 0.95  # exponential moving average of the step loss
LOSS_TITLE = "loss (cross-entropy; 0 = sure and right)"
# plotly's toolbar covered the top of every chart on a phone, where it always shows; drag still zooms, and a
# double click zooms back out
NO_TOOLBAR = {"displayModeBar": False}


def smoothed(values: np.ndarray, alpha: float = SMOOTHING) -> np.ndarray:
    """Exponential moving average, started at the first value."""
    out = np.empty(len(values))
    average = values[0] if len(values) else 0.0
    for i, value in enumerate(values):
        average = alpha * average + (1 - alpha) * value
        out[i] = average
    return out


MAX_CHART_POINTS = 2_000  # per line; a 30-epoch run has up to 28,000 steps


def thinned(losses, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(step, value) of at most `MAX_CHART_POINTS` losses, every k-th counted back from the latest;
    `stride` steps per recorded value (a run read from a checkpoint keeps averages of several)."""
    y = np.asarray(losses, dtype=float)
    k = max(1, -(-len(y) // MAX_CHART_POINTS))
    shown = np.arange(len(y) - 1, -1, -k)[::-1]
    return (shown + 1) * stride, shown


def _accuracy_arrays(points: list[tuple[int, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Steps and accuracies in percent, as numpy arrays: plotly checks each item of a list against
    pandas' types, which fails while the warm-up thread is still importing pandas."""
    table = np.asarray(points, dtype=float).reshape(-1, 2)
    return table[:, 0], 100 * table[:, 1]


GUESSING_LOSS = math.log(10)  # the loss of a network that gives every digit 10 %: ln 10 = 2.30
ACCURACY_AXIS = {  # its own ticks, 0-100 %: plotly syncs an overlaying axis's ticks to the first one's otherwise
    "title": "test accuracy (1,000 digits)",
    "overlaying": "y",
    "side": "right",
    "range": [0, 100],
    "autorange": False,
    "tickmode": "linear",
    "tick0": 0,
    "dtick": 20,
    "ticksuffix": " %",
    "showgrid": False,
}


def loss_top(lines: list[np.ndarray]) -> float:
    """The top of a loss axis that starts at 0: above the guess (2.30) and every line's highest finite
    value, so a flat run reads flat, a falling one falls towards 0 and a diverging one is seen to climb."""
    finite = [line[np.isfinite(line)] for line in lines]
    return 1.1 * max([GUESSING_LOSS, *(line.max() for line in finite if len(line))])


def loss_and_accuracy_axes(loss_title: str, top: float, height: int) -> dict:
    """The layout both charts share: steps across, the loss on a linear axis from 0 with the guess marked,
    the accuracy on the right, the legend under the chart (above it, a phone's chart toolbar hid it)."""
    return {
        "xaxis_title": "step",
        "yaxis": {"title": loss_title, "range": [0, top], "autorange": False, "nticks": 8},
        "yaxis2": ACCURACY_AXIS,
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
        "legend": {"orientation": "h", "x": 0, "y": -0.2, "yanchor": "top"},
    }


def guessing_line() -> tuple[dict, dict]:
    """A dotted line at the loss of a guess, and its label: under it, the network knows something."""
    line = {
        "type": "line",
        "xref": "paper",
        "x0": 0,
        "x1": 1,
        "y0": GUESSING_LOSS,
        "y1": GUESSING_LOSS,
        "line": {"dash": "dot", "color": "gray", "width": 1},
    }
    label = {  # at the left: the chart's toolbar shows at the top right
        "xref": "paper",
        "x": 0.01,
        "y": GUESSING_LOSS,
        "text": f"guessing: {GUESSING_LOSS:.2f}",
        "showarrow": False,
        "xanchor": "left",
        "yanchor": "bottom",
        "font": {"color": "gray", "size": 11},
    }
    return line, label


def loss_chart(
    losses, steps_per_epoch: int, accuracy_points: list[tuple[int, float]] = (), stride: int = 1
) -> go.Figure:
    """Per-step loss, its moving average, the accuracy at each snapshot on a second axis, and a
    dashed line at each epoch boundary.

    Rebuilt twice a second while training, in the training process: numpy arrays and plain layout
    shapes keep it cheap, where lists and `add_vline` were slow enough to slow training. SVG lines,
    not WebGL: without a GPU, WebGL kept the browser far busier redrawing than SVG does.
    Long runs show every k-th step, counted back from the latest, so the browser's redraw stays small.
    """
    y = np.asarray(losses, dtype=float)
    x, shown = thinned(y, stride)
    trend = smoothed(y)  # a Python loop over every step, twice a second while a run trains: once
    every = int(shown[1] - shown[0]) if len(shown) > 1 else 1
    boundaries = range(steps_per_epoch, len(y) * stride, steps_per_epoch) if steps_per_epoch else []
    traces = [
        go.Scatter(
            x=x,
            y=y[shown],
            mode="lines",
            name="step loss" if every * stride == 1 else f"loss, every {every * stride}th step",
            line={"width": 1, "color": "rgba(99,110,250,0.35)"},
        ),
        go.Scatter(x=x, y=trend[shown], mode="lines", name="smoothed", line={"width": 2.5, "color": "rgb(239,85,59)"}),
    ]
    if accuracy_points:
        steps, percent = _accuracy_arrays(accuracy_points)
        traces.append(
            go.Scatter(
                x=steps,
                y=percent,
                mode="lines+markers",
                name="test accuracy",
                yaxis="y2",
                line={"width": 2, "color": "rgb(0,160,110)"},
                hovertemplate="step %{x}: %{y:.1f} %<extra></extra>",
            )
        )
    figure = go.Figure(traces)
    line, label = guessing_line()
    epoch_lines = [
        {
            "type": "line",
            "x0": b + 0.5,
            "x1": b + 0.5,
            "y0": 0,
            "y1": 1,
            "yref": "paper",
            "line": {"dash": "dash", "color": "gray", "width": 1},
        }
        for b in boundaries
    ]
    epoch_labels = [
        {
            "x": b + 0.5,
            "y": 1,
            "yref": "paper",
            "text": f"epoch {b // steps_per_epoch + 1}",
            "showarrow": False,
            "xanchor": "left",
            "yanchor": "top",
            "font": {"color": "gray"},
        }
        for b in boundaries
    ]
    figure.update_layout(
        shapes=[line, *epoch_lines],
        annotations=[label, *epoch_labels],
        **loss_and_accuracy_axes(LOSS_TITLE, loss_top([y[:1], trend]), height=380),
    )
    return figure


LEGEND_CHARS = 60  # a run's name in the legend: longer ones ran off the chart
RUN_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def runs_chart(runs: list, names: list[str]) -> go.Figure:
    """Several runs over each other: each one's smoothed loss (solid) and accuracy (dotted, right
    axis) in its own colour; `runs` are `TrainingRun` views, `names` what each is called."""
    traces = []
    for i, (run, shown) in enumerate(zip(runs, names, strict=True)):
        # plotly draws a subset of HTML in trace names (a checkpoint's text stays text; it shows &quot; as is)
        name = escape(shown if len(shown) <= LEGEND_CHARS else shown[: LEGEND_CHARS - 1] + "…", quote=False)
        colour = RUN_COLOURS[i % len(RUN_COLOURS)]
        y = np.asarray(run.losses, dtype=float)
        x, shown = thinned(y, run.loss_stride)
        traces.append(
            go.Scatter(
                x=x, y=smoothed(y)[shown], mode="lines", name=f"{name}: loss", line={"width": 2, "color": colour}
            )
        )
        if run.accuracy_points:
            steps, percent = _accuracy_arrays(run.accuracy_points)
            traces.append(
                go.Scatter(
                    x=steps,
                    y=percent,
                    mode="lines+markers",
                    name=f"{name}: accuracy",
                    yaxis="y2",
                    line={"width": 1.5, "color": colour, "dash": "dot"},
                    hovertemplate="step %{x}: %{y:.1f} %",  # the trace's name beside it: not a template
                )
            )
    figure = go.Figure(traces)
    line, label = guessing_line()
    top = loss_top([trace.y for trace in traces if trace.yaxis != "y2"])
    figure.update_layout(
        shapes=[line], annotations=[label], **loss_and_accuracy_axes(LOSS_TITLE + ", smoothed", top, height=400)
    )
    return figure


def confusion_heatmap(confusion: list[list[int]]) -> go.Figure:
    figure = go.Figure(
        go.Heatmap(
            z=confusion,
            x=list(range(10)),
            y=list(range(10)),
            colorscale="Blues",
            text=confusion,
            texttemplate="%{text}",
            showscale=False,
            hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>",
        )
    )
    figure.update_layout(
        xaxis_title="predicted",
        yaxis_title="true digit",
        yaxis_autorange="reversed",
        height=420,
        xaxis={"dtick": 1},
        yaxis={"dtick": 1},
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
    )
    return figure
