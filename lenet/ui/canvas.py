"""The Sketch pad's drawing pad, and the learner's drawing, which is theirs, not the page's.

The pad (`pad.js`) sends the strokes the moment one ends: the canvas component it replaces waited
200 ms after every stroke before it sent anything. The drawing is kept in the session as its strokes
and outlives the pad: leaving the page unmounts it, runs start and end, the time machine moves, an
image is uploaded instead. The pad comes back with the strokes drawn again, until the learner clears
it. The strokes are what a visitor's browser sent: checked before they are kept or drawn.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from lenet.network.strokes import MAX_PATH_PX, MAX_POINTS, MAX_STROKES, PAD_PX, Strokes, checked, drawn
from lenet.ui import path

KEEP = "drawing"  # the learner's drawing, in the session
HERE = Path(__file__).parent
PAD = st.components.v2.component(
    "lenet.sketch_pad",
    html='<div class="pad"><canvas data-testid="sketch-pad" role="img" aria-label="Drawing pad: draw a digit"></canvas>'
    '<div class="tools"><button type="button" data-do="undo">Undo</button>'
    '<button type="button" data-do="clear">Clear my drawing</button></div></div>',
    css=(HERE / "pad.css").read_text(),
    js=(HERE / "pad.js").read_text(),
)


@dataclass(frozen=True)
class Drawing:
    """What the learner drew: the pad's strokes."""

    strokes: Strokes


def kept() -> Drawing | None:
    """The learner's drawing, whichever page asks."""
    return st.session_state.get(KEEP)


def sketch(brush_px: int) -> np.ndarray | None:
    """Show the pad (with the kept strokes when it is mounted) and return the drawing as (PAD_PX, PAD_PX)
    gray pixels, None when there is none; `NotADigit` for strokes no pad sends (nothing of them kept)."""
    mounted = PAD(
        data={
            "size": PAD_PX,
            "brush": brush_px,
            "strokes": kept().strokes if kept() else [],
            "maxStrokes": MAX_STROKES,
            "maxPoints": MAX_POINTS,
            "maxPath": MAX_PATH_PX,
        },
        key=f"sketch-{st.session_state.get('pad_generation', 0)}",  # a new pad after "Forget me"
        default={"strokes": None},
        on_strokes_change=lambda: None,
        width="content",
        height="content",
    )
    return received(mounted.get("strokes"), brush_px)


def received(sent: object, brush_px: int) -> np.ndarray | None:
    """What the pad sent, checked and kept, as pixels: None when it sent nothing since it was mounted
    (it shows the kept strokes) or was cleared."""
    if sent is not None:
        strokes = checked(sent)
        if strokes:
            st.session_state[KEEP] = Drawing(strokes)
            path.mark("draw")
        else:
            st.session_state.pop(KEEP, None)
    return drawn(kept().strokes, brush_px) if kept() else None
