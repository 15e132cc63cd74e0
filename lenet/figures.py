"""Plotly figures for the pages: built here from plain data, so pages only display them."""

import numpy as np
import plotly.graph_objects as go
import torch

SMOOTHING = 0.95  # exponential moving average of the step loss


def smoothed(values: np.ndarray, alpha: float = SMOOTHING) -> np.ndarray:
    """Exponential moving average, started at the first value."""
    out = np.empty(len(values))
    average = values[0] if len(values) else 0.0
    for i, value in enumerate(values):
        average = alpha * average + (1 - alpha) * value
        out[i] = average
    return out


def loss_chart(losses: list[float], steps_per_epoch: int) -> go.Figure:
    """Per-step loss, its moving average, and a dashed line at each epoch boundary.

    Rebuilt twice a second while training, in the training process: numpy arrays and plain layout
    shapes keep it at a few ms, where lists and `add_vline` took 30 ms and slowed training.
    """
    y = np.asarray(losses)
    x = np.arange(1, len(y) + 1)
    boundaries = range(steps_per_epoch, len(y), steps_per_epoch) if steps_per_epoch else []
    figure = go.Figure(
        [
            go.Scattergl(x=x, y=y, mode="lines", name="step loss", line={"width": 1, "color": "rgba(99,110,250,0.35)"}),
            go.Scattergl(
                x=x, y=smoothed(y), mode="lines", name="smoothed", line={"width": 2.5, "color": "rgb(239,85,59)"}
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


def probability_bars(probabilities: list[float]) -> go.Figure:
    best = max(range(10), key=lambda i: probabilities[i])
    colors = ["rgb(239,85,59)" if i == best else "rgb(99,110,250)" for i in range(10)]
    figure = go.Figure(
        go.Bar(x=list(range(10)), y=probabilities, marker_color=colors, hovertemplate="%{x}: %{y:.1%}<extra></extra>")
    )
    figure.update_layout(
        xaxis={"dtick": 1, "title": "digit"},
        yaxis={"range": [0, 1], "tickformat": ".0%"},
        height=280,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
    )
    return figure


def mosaic(images: torch.Tensor, columns: int) -> torch.Tensor:
    """(N, H, W) -> one (rows * (H + 1) - 1, columns * (W + 1) - 1) image, tiles split by NaN gaps."""
    count, height, width = images.shape
    rows = -(-count // columns)
    canvas = torch.full((rows * (height + 1) - 1, columns * (width + 1) - 1), float("nan"))
    for i, image in enumerate(images):
        top, left = (i // columns) * (height + 1), (i % columns) * (width + 1)
        canvas[top : top + height, left : left + width] = image
    return canvas


def image_grid(
    images: torch.Tensor,
    columns: int,
    colorscale: str = "gray",
    row_label: str = "",
    column_label: str = "#",
    tile_px: int = 60,
) -> go.Figure:
    """(N, H, W) maps as one heatmap: a single trace draws fast, where 96 subplots took 0.7 s to build."""
    count, height, width = images.shape
    rows = -(-count // columns)
    limit = float(images.abs().max()) or 1.0
    figure = go.Figure(
        go.Heatmap(
            z=mosaic(images.detach().cpu().float(), columns).tolist(),
            colorscale=colorscale,
            zmid=0 if colorscale == "RdBu" else None,
            zmin=None if colorscale == "RdBu" else 0,
            zmax=limit if colorscale != "RdBu" else None,
            showscale=False,
            hovertemplate="%{z:.3f}<extra></extra>",
        )
    )
    centres = lambda size, n: [i * (size + 1) + (size - 1) / 2 for i in range(n)]  # noqa: E731
    figure.update_xaxes(
        tickvals=centres(width, columns),
        ticktext=[f"{column_label}{i}" for i in range(columns)],
        showgrid=False,
        zeroline=False,
        side="top",
    )
    figure.update_yaxes(
        tickvals=centres(height, rows),
        ticktext=[f"{row_label}{i}" for i in range(rows)] if row_label else [""] * rows,
        showgrid=False,
        zeroline=False,
        autorange="reversed",
        scaleanchor="x",
    )
    figure.update_layout(
        height=60 + rows * tile_px,
        plot_bgcolor="white",
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
    )
    return figure


def filters(weight: torch.Tensor) -> go.Figure:
    """conv1's (6, 1, 3, 3) kernels in a row, or conv2's (16, 6, 3, 3) as 16 rows of 6 input channels."""
    out_channels, in_channels = weight.shape[:2]
    kernels = weight.detach().cpu().reshape(-1, *weight.shape[2:])
    if in_channels == 1:
        return image_grid(kernels, columns=out_channels, colorscale="RdBu", column_label="filter ", tile_px=90)
    return image_grid(kernels, columns=in_channels, colorscale="RdBu", row_label="filter ", column_label="input ")
