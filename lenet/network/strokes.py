"""A drawing as the Sketch pad sends it: strokes of points, checked, then drawn into pixels here.

The browser sends only the points its pen went through; the server draws them. So a visitor's message
is a few numbers, bounded before anything is drawn, there is no image to decode, and what the model
reads is exactly what the strokes say, whatever the screen's pixel density.
"""

import math

import numpy as np
from PIL import Image, ImageDraw

from lenet.network.preprocess import NotADigit

PAD_PX = 280  # the pad's side, in the CSS pixels the points are given in
BRUSH_PX = 20  # the pen's width: MNIST's strokes are 2-3 of its 28 pixels
MAX_STROKES = 200  # a digit takes 1-4; the pad stops taking strokes here
MAX_POINTS = 5_000  # all strokes together, 2 px apart: a digit has 100-600
MAX_PATH_PX = 20_000  # all strokes' length: a digit's is 600-1,500 px; drawing costs by length (1.6 M px: 160 ms)

Strokes = tuple[tuple[int, ...], ...]  # each stroke x0, y0, x1, y1, ... in pad pixels, 0..PAD_PX


def checked(sent: object) -> Strokes:
    """What the pad sent, as strokes (an empty tuple when it was cleared); `NotADigit` for anything
    that is not a list of strokes of points on the pad, within the bounds above."""
    if not isinstance(sent, list) or len(sent) > MAX_STROKES:
        raise NotADigit(f"the drawing did not arrive as the pad sends it (at most {MAX_STROKES} strokes)")
    if not all(isinstance(stroke, list) and stroke and len(stroke) % 2 == 0 for stroke in sent):
        raise NotADigit("the drawing did not arrive as the pad sends it (strokes of x, y points)")
    if sum(len(stroke) for stroke in sent) > 2 * MAX_POINTS:
        raise NotADigit(f"the drawing arrived with more than {MAX_POINTS:,} points")
    if not all(_on_the_pad(value) for stroke in sent for value in stroke):
        raise NotADigit(f"the drawing arrived with points off the pad (0 to {PAD_PX} pixels)")
    strokes = tuple(tuple(round(value) for value in stroke) for stroke in sent)
    if sum(_length(stroke) for stroke in strokes) > MAX_PATH_PX:
        raise NotADigit(f"the drawing's strokes run longer than {MAX_PATH_PX:,} pixels: draw one digit")
    return strokes


def _on_the_pad(value: object) -> bool:
    """A number on the pad; an int is compared as it is (a huge one would overflow a float)."""
    if type(value) is int:
        return 0 <= value <= PAD_PX
    return type(value) is float and math.isfinite(value) and 0 <= value <= PAD_PX


def _length(stroke: tuple[int, ...]) -> float:
    return sum(math.dist(stroke[i : i + 2], stroke[i + 2 : i + 4]) for i in range(0, len(stroke) - 2, 2))


def drawn(strokes: Strokes, brush_px: int) -> np.ndarray:
    """The strokes as the pad shows them: white, `brush_px` wide with round ends, on black; (PAD_PX,
    PAD_PX) uint8."""
    image = Image.new("L", (PAD_PX, PAD_PX), 0)
    pen = ImageDraw.Draw(image)
    radius = brush_px / 2
    for stroke in strokes:
        # the pad's (x, y) is a corner of its pixels, Pillow's the centre of pixel (x, y): half a pixel apart
        points = [(x - 0.5, y - 0.5) for x, y in zip(stroke[::2], stroke[1::2], strict=True)]
        if len(points) > 1:
            pen.line(points, fill=255, width=brush_px, joint="curve")
        for x, y in (points[0], points[-1]):  # round ends, and a tap's dot (Pillow's box holds its edges)
            pen.ellipse((x - radius + 0.5, y - radius + 0.5, x + radius - 0.5, y + radius - 0.5), fill=255)
    return np.asarray(image)
