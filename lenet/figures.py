"""Plotly figures for the pages: built here from plain data, so pages only display them."""

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

SMOOTHING = 0.95  # exponential moving average of the step loss


def smoothed(values: list[float], alpha: float = SMOOTHING) -> list[float]:
    out, average = [], None
    for value in values:
        average = value if average is None else alpha * average + (1 - alpha) * value
        out.append(average)
    return out


def loss_chart(losses: list[float], steps_per_epoch: int, max_points: int = 2000) -> go.Figure:
    """Per-step loss, its moving average, and a dashed line at each epoch boundary."""
    stride = max(1, len(losses) // max_points)  # keep the browser's work bounded on long runs
    steps = list(range(1, len(losses) + 1))
    figure = go.Figure()
    figure.add_trace(
        go.Scattergl(
            x=steps[::stride],
            y=losses[::stride],
            mode="lines",
            name="step loss",
            line={"width": 1, "color": "rgba(99,110,250,0.35)"},
        )
    )
    figure.add_trace(
        go.Scattergl(
            x=steps, y=smoothed(losses), mode="lines", name="smoothed", line={"width": 2.5, "color": "rgb(239,85,59)"}
        )
    )
    if steps_per_epoch:
        for boundary in range(steps_per_epoch, len(losses), steps_per_epoch):
            figure.add_vline(
                x=boundary + 0.5,
                line_dash="dash",
                line_color="gray",
                annotation_text=f"epoch {boundary // steps_per_epoch + 1}",
                annotation_position="top left",
            )
    figure.update_layout(
        xaxis_title="step",
        yaxis_title="cross-entropy loss",
        yaxis_type="log",
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


def image_grid(
    images: torch.Tensor, titles: list[str], columns: int, colorscale: str = "gray", height_per_row: int = 110
) -> go.Figure:
    """(N, H, W) maps as a grid of small heatmaps: filters, feature maps."""
    rows = -(-len(images) // columns)
    figure = make_subplots(
        rows=rows, cols=columns, subplot_titles=titles, horizontal_spacing=0.02, vertical_spacing=0.12 / max(rows, 1)
    )
    for i, image in enumerate(images):
        figure.add_trace(
            go.Heatmap(
                z=image.tolist(), colorscale=colorscale, showscale=False, hovertemplate="%{z:.3f}<extra></extra>"
            ),
            row=i // columns + 1,
            col=i % columns + 1,
        )
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    figure.update_layout(height=rows * height_per_row + 40, margin={"l": 5, "r": 5, "t": 30, "b": 5})
    figure.update_annotations(font_size=11)
    return figure


def filters(weight: torch.Tensor, layer: str) -> go.Figure:
    """conv1's (6, 1, 3, 3) or conv2's (16, 6, 3, 3) kernels, one 3 x 3 map per (out, in) pair."""
    out_channels, in_channels = weight.shape[:2]
    kernels = weight.detach().cpu().reshape(-1, *weight.shape[2:])
    titles = [
        f"{layer}[{o}, {i}]" if in_channels > 1 else f"{layer}[{o}]"
        for o in range(out_channels)
        for i in range(in_channels)
    ]
    return image_grid(
        kernels, titles, columns=in_channels if in_channels > 1 else out_channels, colorscale="RdBu", height_per_row=90
    )
