"""The path: the tutorial's story as five steps through the app, each ticked from what the session has
done, each linking to its page. Home shows it; every page ends with the next step. A learner who
ignores it loses nothing: it only reads the session."""

from collections.abc import Iterable, Sized
from dataclasses import dataclass
from typing import Protocol

import streamlit as st


class Session(Protocol):
    """What the path reads of a session's workspace (the Home page has none before a model is loaded)."""

    runs: Iterable
    lessons: int
    digits: Sized


DONE = "path_done"  # the steps the session's own state cannot tell afterwards
MARKS = {"draw", "replay", "why"}  # the names a page marks


@dataclass(frozen=True)
class Step:
    name: str  # what a page marks with `mark`
    title: str
    how: str
    page: str
    icon: str


STEPS = (
    Step("draw", "Draw a digit", "on the Sketch pad, with your mouse or finger: your model reads it (the "
         "pretrained one, until you train your own).", "pages/3_Sketch_pad.py", "✏️"),
    Step("train", "Train a network from scratch", "on the Train page: pick the *tutorial* preset (plain SGD, "
         "lr 0.01, as PyTorch's tutorial) and 1 epoch on all 60,000 digits, keep *from scratch* and press Start; "
         "watch the loss fall (10-20 s on a quiet server, about 90 % right after it). It replaces the "
         "pretrained model; Reset on the Train page brings that back.",
         "pages/1_Train.py", "📉"),
    Step("replay", "Replay what training did to your digit", "back on the Sketch pad: press ▶ Play under your "
         "drawing to see the network's answer at every step it kept, or move the time machine's slider.",
         "pages/3_Sketch_pad.py", "⏪"),
    Step("compare", "Change one thing and compare", "on the Train page: run again with the *fast* preset or "
         "another learning rate (\"Again, from the same start\" keeps the first weights) and compare the runs.",
         "pages/1_Train.py", "⚖️"),
    Step("why", "Ask why, fool it, teach it your hand", "on the Sketch pad: the Why tabs under the prediction "
         "(where it looked, look-alikes, what if, fool it, teach it), and Your digits.",
         "pages/3_Sketch_pad.py", "🔍"),
)  # fmt: skip


def mark(name: str) -> None:
    """A page says the learner did step `name`."""
    st.session_state.setdefault(DONE, set()).add(name)


def done(ws: Session | None) -> dict[str, bool]:
    """Each step's name -> whether this session has done it."""
    marked = st.session_state.get(DONE, set())
    ended = [run for run in ws.runs if not run.active] if ws is not None else []
    return {
        "draw": "draw" in marked,
        "train": any(run.start.startswith("from scratch") and run.steps_trained > 0 for run in ended),
        "replay": "replay" in marked,
        "compare": len(ended) >= 2,
        "why": "why" in marked or (ws is not None and (ws.lessons > 0 or len(ws.digits) > 0)),
    }


def show(ws: Session | None) -> None:
    """The whole path, numbered, each step ticked or not, each a link to its page."""
    ticks = done(ws)
    with st.container(key="path"):
        for number, step in enumerate(STEPS, start=1):
            tick = "✅" if ticks[step.name] else "⬜"
            st.page_link(step.page, label=f"{tick} {number}. {step.title}", icon=step.icon)
            st.caption(step.how)


def next_step(ws: Session | None) -> None:
    """The last lines of a page: the first step of the path not done yet, with its link."""
    ticks = done(ws)
    ahead = [(number, step) for number, step in enumerate(STEPS, start=1) if not ticks[step.name]]
    st.divider()
    with st.container(key="next-step"):
        if not ahead:
            st.caption("You have walked the whole path. Every panel is still here to explore.")
            st.page_link("pages/0_Home.py", label="The path, on Home", icon="🧠")
            return
        number, step = ahead[0]
        st.caption(f"Next on the path, step {number} of {len(STEPS)}: {step.how}")
        st.page_link(step.page, label=f"{number}. {step.title}", icon=step.icon)
