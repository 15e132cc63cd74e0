"""The Sketch pad's canvas, and the learner's drawing, which is theirs, not the page's.

The drawing is kept in the session (its PNG and its strokes) and outlives the canvas: leaving the page
unmounts the canvas and Streamlit drops its state, runs start and end, the time machine moves, an
image is uploaded instead. The canvas comes back with the strokes drawn again, until the learner
clears it. Both parts are what a visitor's browser sent: bounded before they are kept.
"""

import binascii
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from lenet.network.preprocess import MAX_CANVAS_BYTES, NotADigit, read_canvas
from lenet.ui import path

if TYPE_CHECKING:
    from streamlit_drawable_canvas import CanvasResult

KEY = "sketch"  # the canvas widget's, with its generation
KEPT = "drawing"  # the learner's drawing, in the session
GENERATION = "sketch_generation"  # one more for each "Clear my drawing": the canvas's key
MOUNTED_WITH = "sketch_mounted_with"  # the strokes the canvas is drawn with when it is mounted
MAX_STROKES_CHARS = 200_000  # a digit's strokes are 2-20 KB of Fabric.js JSON; more is not redrawn
MAX_STROKES = 200
PATH_TYPES = {"Path", "path"}  # Fabric.js's freehand stroke, as versions 6 and 5 name it
PATH_FIELDS = {
    "type", "version", "originX", "originY", "left", "top", "width", "height", "fill", "stroke", "strokeWidth",
    "strokeLineCap", "strokeLineJoin", "strokeMiterLimit", "scaleX", "scaleY", "angle", "flipX", "flipY",
    "skewX", "skewY", "path",
}  # fmt: skip


@dataclass(frozen=True)
class Drawing:
    """What the learner drew: the canvas's PNG, and its strokes to draw it again (None when too large)."""

    png: bytes
    strokes: dict | None


def kept() -> Drawing | None:
    """The learner's drawing, whichever page asks."""
    return st.session_state.get(KEPT)


def sketch(brush_px: int, size_px: int = 280) -> np.ndarray | None:
    """Draw the canvas (with the kept strokes, if it was just mounted) and return the drawing as (H, W, 4)
    RGBA pixels, None when there is none; `NotADigit` for a payload that is not a canvas's PNG."""
    from streamlit_drawable_canvas import st_canvas

    mounted_with = st.session_state.get(MOUNTED_WITH)
    # the toolbar's reset goes back to the strokes the canvas was mounted with (the kept ones): a new
    # key is a new, empty canvas
    generation = st.session_state.get(GENERATION, 0)
    try:
        try:
            canvas = st_canvas(
                stroke_width=brush_px,
                stroke_color="#FFFFFF",
                background_color="#000000",
                drawing_mode="freedraw",
                height=size_px,
                width=size_px,
                initial_drawing=mounted_with,  # unchanged while the learner draws: a change redraws the canvas
                return_image_data=True,
                key=f"{KEY}-{generation}",
            )
        except (AttributeError, KeyError, TypeError):  # the component reads a value of another shape
            raise NotADigit("the drawing did not arrive as the canvas sends it") from None
        if _png(canvas) is None:  # nothing sent since it was mounted (Streamlit dropped its state when unseen)
            wanted = kept().strokes if kept() else None
            if wanted != mounted_with:  # it shows other strokes than the learner's: once, draw it with theirs
                st.session_state[MOUNTED_WITH] = wanted
                st.rerun()
        return received(canvas)
    finally:
        st.button("Clear my drawing", on_click=clear, disabled=kept() is None, key="clear-drawing")


def clear() -> None:
    """Forget the drawing and show an empty canvas."""
    st.session_state.pop(KEPT, None)
    st.session_state[MOUNTED_WITH] = None
    st.session_state[GENERATION] = st.session_state.get(GENERATION, 0) + 1


def received(canvas: "CanvasResult") -> np.ndarray | None:
    """What the canvas sent, read and kept: the drawing as (H, W, 4) RGBA pixels, None when there is none
    (cleared, or never drawn); `NotADigit` for a payload that is not a canvas's PNG (nothing of it kept)."""
    raw = _png(canvas)
    if raw is None:  # nothing sent since it was mounted (every send has a picture): it shows the kept strokes
        return read_canvas(kept().png) if kept() else None
    if not _objects(canvas.json_data):  # cleared
        st.session_state.pop(KEPT, None)
        return None
    pixels = read_canvas(raw)
    st.session_state[KEPT] = Drawing(raw, _bounded(canvas.json_data))
    path.mark("draw")
    return pixels


def _png(canvas: "CanvasResult") -> bytes | None:
    """The canvas's PNG as sent, None before it sent one; `NotADigit` for what is not a base64 data URL
    (the component's own `image_data` would decode any image of any size: a 140 KB PNG of 6000 x 6000
    pixels took 1.2 GB, so `read_canvas` bounds it first)."""
    try:
        raw = canvas.image_bytes
    except (ValueError, TypeError, AttributeError, binascii.Error):
        raise NotADigit("the drawing did not arrive as an image") from None
    if raw is not None and len(raw) > MAX_CANVAS_BYTES:
        raise NotADigit("the drawing arrived larger than the canvas can make it")
    return raw


def _objects(strokes: object) -> list:
    objects = strokes.get("objects") if isinstance(strokes, dict) else None
    return objects if isinstance(objects, list) else []


def _bounded(strokes: object) -> dict | None:
    """The strokes to draw again, if they are what a canvas sends and small enough to keep and send back:
    freehand paths only, with only the fields that draw a path (a visitor's "Image" with a `src` would
    have the browser fetch any address, a "Textbox" would write on the canvas what the model never read)."""
    objects = _objects(strokes)
    if not objects or len(objects) > MAX_STROKES:
        return None
    if not all(isinstance(o, dict) and o.get("type") in PATH_TYPES for o in objects):
        return None
    objects = [{key: value for key, value in o.items() if key in PATH_FIELDS} for o in objects]
    try:
        text = json.dumps({"objects": objects}, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return None
    return json.loads(text) if len(text) <= MAX_STROKES_CHARS else None
