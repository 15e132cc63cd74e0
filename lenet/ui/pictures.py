"""Pictures (filters, feature maps, digits) as PNG data URLs.

A picture, not a chart: the browser shows it at once, where a plotly heatmap made the first visit
of a page wait for plotly's script.
"""

import base64
import io

import numpy as np
import torch
from PIL import Image

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


def picture(maps: torch.Tensor, columns: int, diverging: bool, cell_px: int, scale: float | None = None) -> np.ndarray:
    """(N, H, W) maps as one RGB picture, `columns` tiles a row, white gaps between them.

    One scale for all tiles, so they compare: the largest magnitude is full colour (or `scale`'s).
    """
    maps = maps.detach().cpu().float()
    count, height, width = maps.shape
    rows = -(-count // columns)
    tiles = (
        colour(maps / (scale or full_scale(maps)), diverging)
        .repeat_interleave(cell_px, 1)
        .repeat_interleave(cell_px, 2)
    )
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


FOR, AGAINST = POSITIVE, NEGATIVE  # one colour language: blue is more (for the digit), red is less (against)


def attribution(digit: torch.Tensor, shares: torch.Tensor, scale: float, cell_px: int = 6) -> np.ndarray:
    """Attributions over a digit: the (28, 28) uint8 digit in light grey on white, each pixel tinted
    blue (for) or red (against) as strongly as its share's magnitude against `scale`."""
    base = 255 - 0.35 * digit.float()  # the strokes light grey, so the colours stay readable over them
    strength = (
        (shares.detach().float().abs() / (scale or 1.0)).clamp(0, 1).sqrt().unsqueeze(-1)
    )  # sqrt: small shares show
    tint = torch.where(
        shares.unsqueeze(-1) >= 0, torch.tensor(FOR, dtype=torch.float32), torch.tensor(AGAINST, dtype=torch.float32)
    )
    pixels = base.unsqueeze(-1) * (1 - strength) + tint * strength
    return pixels.round().to(torch.uint8).repeat_interleave(cell_px, 0).repeat_interleave(cell_px, 1).numpy()
