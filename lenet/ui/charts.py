"""Plotly charts for the pages, built from plain data, so pages only display them."""

import numpy as np
import plotly.graph_objects as go

SMOOTHING = 0.95  # exponential moving average of the step loss


def smoothed(values: np.ndarray, alpha: float = SMOOTHING) -> np.ndarray:
    """Exponential moving average, started at the first value."""
    out = np.empty(len(values))
    average = values[0] if len(values) else 0.0
    for i, value in enumerate(values):
        average = alpha * average + (1 - alpha) * value
        out[i] = average
    return out


MAX_CHART_POINTS = 2_000  # per line; a 30-epoch run has up to 28,000 steps


def loss_chart(losses: list[float], steps_per_epoch: int) -> go.Figure:
    """Per-step loss, its moving average, and a dashed line at each epoch boundary.

    Rebuilt twice a second while training, in the training process: numpy arrays and plain layout
    shapes keep it cheap, where lists and `add_vline` were slow enough to slow training. SVG lines,
    not WebGL: without a GPU, WebGL kept the browser far busier redrawing than SVG does.
    Long runs show every k-th step, counted back from the latest, so the browser's redraw stays small.
    """
    y = np.asarray(losses)
    stride = max(1, -(-len(y) // MAX_CHART_POINTS))
    shown = np.arange(len(y) - 1, -1, -stride)[::-1]
    x = shown + 1
    boundaries = range(steps_per_epoch, len(y), steps_per_epoch) if steps_per_epoch else []
    figure = go.Figure(
        [
            go.Scatter(
                x=x,
                y=y[shown],
                mode="lines",
                name="step loss" if stride == 1 else f"step loss, every {stride}th step",
                line={"width": 1, "color": "rgba(99,110,250,0.35)"},
            ),
            go.Scatter(
                x=x,
                y=smoothed(y)[shown],
                mode="lines",
                name="smoothed",
                line={"width": 2.5, "color": "rgb(239,85,59)"},
            ),
        ]
    )
    figure.update_layout(
        shapes=[
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
        ],
        annotations=[
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
        ],
        xaxis_title="step",
        yaxis_title="cross-entropy loss",
        yaxis_type="log",
        yaxis_dtick=1,  # a label at each power of ten
        height=360,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": 1.12},
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
