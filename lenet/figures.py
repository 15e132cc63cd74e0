"""Plotly figures and pictures for the pages: built here from plain data, so pages only display them."""

import base64
import io

import numpy as np
import plotly.graph_objects as go
import torch
from PIL import Image

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
    shapes keep it at a few ms, where lists and `add_vline` took 30 ms and slowed training. SVG lines,
    not WebGL: without a GPU (headless Chromium here) WebGL kept a whole core busy redrawing, SVG half.
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


BAR_PX = 150  # the height of a 100 % bar


def probability_bars(probabilities: list[float]) -> str:
    """Ten bars, the likeliest digit's in red, as HTML for `st.markdown`.

    HTML shows with the page's own message, where a plotly chart made the first prediction of a
    session wait for plotly's script: 1.3-1.5 s from mouse-up to prediction, 0.3-0.9 s without.
    """
    best = max(range(10), key=lambda digit: probabilities[digit])
    bars = []
    for digit, probability in enumerate(probabilities):
        label = "<1%" if 0 < probability < 0.005 else f"{probability:.0%}"
        colour = "rgb(239,85,59)" if digit == best else "rgb(99,110,250)"
        bars.append(
            "<div style='flex:1;display:flex;flex-direction:column;align-items:center;justify-content:flex-end'>"
            f"<div style='font-size:0.75rem;color:gray'>{label}</div>"
            f"<div data-testid='bar' title='{digit}: {probability:.2%}' "
            f"style='width:70%;height:{max(1, round(probability * BAR_PX))}px;background:{colour}'></div>"
            f"<div style='border-top:1px solid lightgray;width:100%;text-align:center'>{digit}</div></div>"
        )
    return f"<div data-testid='probabilities' style='display:flex;gap:2px;height:{BAR_PX + 50}px'>{''.join(bars)}</div>"


POSITIVE, NEGATIVE = (33, 102, 172), (178, 24, 43)  # blue and red from ColorBrewer's RdBu
GAP_PX = 4


def colour(values: torch.Tensor, diverging: bool) -> torch.Tensor:
    """Values in [-1, 1] (diverging: red, white at 0, blue) or [0, 1] (black to white) -> uint8 RGB."""
    values = values.clamp(-1 if diverging else 0, 1).unsqueeze(-1)
    if not diverging:
        return (values * 255).round().to(torch.uint8).expand(*values.shape[:-1], 3)
    white = torch.full((3,), 255.0)
    ends = torch.where(
        values >= 0, torch.tensor(POSITIVE, dtype=torch.float32), torch.tensor(NEGATIVE, dtype=torch.float32)
    )
    return (white + values.abs() * (ends - white)).round().to(torch.uint8)


def full_scale(values: torch.Tensor) -> float:
    """The magnitude a picture draws in full colour: its largest (1 where all are zero)."""
    return float(values.detach().abs().max()) or 1.0


def picture(maps: torch.Tensor, columns: int, diverging: bool, cell_px: int) -> np.ndarray:
    """(N, H, W) maps as one RGB picture, `columns` tiles a row, white gaps between them.

    A picture, not a chart: the browser shows it at once, where a plotly heatmap made the first
    visit of a page wait for plotly's script (0.5 s here, seconds on a busy machine).
    One scale for all tiles, so they compare: the largest magnitude is full colour.
    """
    maps = maps.detach().cpu().float()
    count, height, width = maps.shape
    rows = -(-count // columns)
    tiles = colour(maps / full_scale(maps), diverging).repeat_interleave(cell_px, 1).repeat_interleave(cell_px, 2)
    tile_h, tile_w = height * cell_px, width * cell_px
    canvas = torch.full(
        (rows * (tile_h + GAP_PX) - GAP_PX, columns * (tile_w + GAP_PX) - GAP_PX, 3), 255, dtype=torch.uint8
    )
    for i, tile in enumerate(tiles):
        top, left = (i // columns) * (tile_h + GAP_PX), (i % columns) * (tile_w + GAP_PX)
        canvas[top : top + tile_h, left : left + tile_w] = tile
    return canvas.numpy()


def filters(weight: torch.Tensor) -> np.ndarray:
    """conv1's (6, 1, 3, 3) kernels in a row, or conv2's (16, 6, 3, 3) as 16 rows of 6 input channels."""
    out_channels, in_channels = weight.shape[:2]
    kernels = weight.reshape(-1, *weight.shape[2:])
    if in_channels == 1:
        return picture(kernels, columns=out_channels, diverging=True, cell_px=24)
    return picture(kernels, columns=in_channels, diverging=True, cell_px=12)


def data_url(pixels: np.ndarray) -> str:
    """A uint8 picture, (H, W) grey or (H, W, 3) RGB, as a PNG data URL for `st.image`.

    Streamlit passes URLs through, so the picture travels inside the page's own message. A media
    file instead is a second request, which a quick page switch turns into a 404.
    """
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
