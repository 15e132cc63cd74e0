"""The drawing canvas's picture, read as what it is: bytes a visitor's browser (or any client) sent."""

import binascii
from typing import TYPE_CHECKING

import numpy as np

from lenet.network.preprocess import NotADigit, read_canvas

if TYPE_CHECKING:
    from streamlit_drawable_canvas import CanvasResult


def drawing(canvas: "CanvasResult") -> np.ndarray | None:
    """The canvas's picture as (H, W, 4) RGBA pixels, None before the first stroke; `NotADigit` for a
    payload that is not a canvas's PNG. The component's own `image_data` would decode any image of any
    size (a 140 KB PNG of 6000 x 6000 pixels took 1.2 GB): `read_canvas` bounds it first."""
    try:
        raw = canvas.image_bytes
    except (ValueError, TypeError, AttributeError, binascii.Error):  # not a base64 data URL
        raise NotADigit("the drawing did not arrive as an image") from None
    return None if raw is None else read_canvas(raw)
