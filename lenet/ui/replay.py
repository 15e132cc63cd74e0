"""Play: your digit through training. The server works out every frame once per drawing and run (one
batched pass, `lenet.explain.journey`); the browser animates them, so Play's pace does not depend on
how busy the server is, and it always ends at now (at the run's last step when the model now does not
carry on from it)."""

from collections.abc import Sequence

import numpy as np
import pandas  # noqa: F401  before plotly, as lenet/ui/charts.py says why
import plotly.graph_objects as go
import streamlit as st

from lenet.explain.journey import Journey, journey
from lenet.network.inference import NO_ANSWER_BELOW, Reading
from lenet.network.model import Net
from lenet.service.runs import TrainingRun
from lenet.ui import path, session
from lenet.ui.html import ANSWER, DIGIT_COLOURS, OTHERS

FRAMES_PER_S = 4
CACHE = "replay"  # the last journey worked out in this session, and its figure


def _worked_out(seen: Journey) -> tuple[Journey, go.Figure]:
    frame_ms = 1000 // FRAMES_PER_S
    return seen, journey_chart(seen.steps, seen.probabilities, NO_ANSWER_BELOW, frame_ms, DIGIT_COLOURS)


def replay(run: TrainingRun, reading: Reading, now: Net | None) -> None:
    """The animated chart of `run`'s snapshots reading the learner's digit, and what it says in words; then
    `now`, the model now, when it carries on from `run` (None when it started afresh or was replaced)."""
    snapshots = run.kept_snapshots()
    key = (run.id, tuple(s.step for s in snapshots), reading.fingerprint, now)  # `now` by identity: never mutated
    # the figure with it: plotly's checks of 26 frames take 100 ms, more than the pass over the snapshots
    seen, figure = session.last(CACHE, key, lambda: _worked_out(journey(snapshots, reading.x, now)))
    path.mark("replay")
    st.subheader("▶ Your digit through training")
    digit = int(seen.probabilities[-1].argmax())
    settled = seen.first_read_as(digit)
    pace = f"Press ▶ Play: the frames play in your browser at {FRAMES_PER_S} a second and end at"
    if now is not None:
        frames = f"then now. {pace} now"
    else:  # the model now is not where this run led: it is no frame of it
        frames = (
            f"to its last. Your model now does not carry on from {run.label} (it started afresh, or was reset or "
            f"replaced since): it is no frame here. {pace} {run.label}'s last step"
        )
    st.caption(
        f"How {run.label} read your drawing at every step it kept, {frames}; the chart's own slider picks one step "
        "(the time machine above moves the whole page). Below, "
        "each digit's probability across training: the steps are on a log scale, because a network changes "
        "most in its first steps."
    )
    with st.container(key="journey"):
        st.plotly_chart(figure, key="journey-chart", config={"displayModeBar": False})
    if settled is not None:
        words = {0: "from its very first step", -1: "only with its latest weights"}
        when = words.get(settled, f"from step {settled:,} on")
        st.markdown(f"It has read your drawing as a **{digit}** {when}.")
    else:
        st.markdown("Its latest weights have no answer for your drawing yet.")


def step_name(step: int) -> str:
    return "now" if step < 0 else f"{step:,}"


def _frame_title(step: int, probabilities: np.ndarray, answer_from: float) -> str:
    best = int(probabilities.argmax())
    at = "now" if step < 0 else f"after {step:,} steps"
    if probabilities[best] < answer_from:
        low, high = probabilities.min(), probabilities.max()
        return f"{at}: no answer yet (every digit {low:.0%}-{high:.0%})"
    return f"{at}: reads it as {best}, {probabilities[best]:.0%} sure"


def journey_chart(
    steps: tuple[int, ...], probabilities: np.ndarray, answer_from: float, frame_ms: int, colours: Sequence[str]
) -> go.Figure:
    """Your digit through training, animated in the browser: above, the ten probabilities of one frame
    (each snapshot of the run, then now); below, each digit's probability across every snapshot's step
    (log step axis) with a marker at the frame's step. Play, Pause and the frame slider are plotly's own,
    so no frame asks the server for anything."""
    from plotly.subplots import make_subplots

    snapshot_steps = np.asarray([s for s in steps if s >= 0], dtype=float)
    at = np.maximum(snapshot_steps, 0.5)  # step 0 on a log axis: half a step, labelled 0
    last_x = float(at[-1]) if len(at) else 1.0

    def bars(p: np.ndarray) -> go.Bar:
        best = int(p.argmax())
        fill = [ANSWER if d == best and p[best] >= answer_from else OTHERS for d in range(10)]  # as the page's bars
        return go.Bar(
            x=np.arange(10), y=100 * p, marker={"color": fill}, name="this frame", showlegend=False,
            text=[f"{v:.0%}" for v in p], textposition="outside", cliponaxis=False,
            hovertemplate="%{x}: %{y:.1f} %<extra></extra>",
        )  # fmt: skip

    def marker(step: int) -> go.Scatter:
        x = last_x if step < 0 else max(step, 0.5)
        return go.Scatter(
            x=[x, x], y=[0, 100], mode="lines", line={"color": "gray", "dash": "dash", "width": 1.5},
            showlegend=False, hoverinfo="skip", xaxis="x2", yaxis="y2",
        )  # fmt: skip

    figure = make_subplots(rows=2, cols=1, row_heights=[0.45, 0.55], vertical_spacing=0.2)
    figure.add_trace(bars(probabilities[0]), row=1, col=1)
    snapshot_rows = probabilities[: len(snapshot_steps)]
    for digit in range(10):
        figure.add_trace(
            go.Scatter(
                x=at, y=100 * snapshot_rows[:, digit], mode="lines+markers", name=str(digit),
                line={"color": colours[digit], "width": 2}, marker={"size": 5},
                hovertemplate=f"{digit}: %{{y:.1f}} % at step %{{customdata}}<extra></extra>",
                customdata=[f"{int(s):,}" for s in snapshot_steps],
            ),
            row=2, col=1,
        )  # fmt: skip
    figure.add_trace(marker(steps[0]), row=2, col=1)
    moving = [0, 11]  # the bars and the marker: what a frame changes
    names = [step_name(s) for s in steps]
    figure.frames = [
        go.Frame(
            name=name,
            data=[bars(p), marker(step)],
            traces=moving,
            layout={"title": {"text": _frame_title(step, p, answer_from)}},
        )
        for name, step, p in zip(names, steps, probabilities, strict=True)
    ]
    ticks = [t for t in (1, 10, 100, 1_000, 10_000, 100_000) if t <= max(last_x, 1)]
    play = {"frame": {"duration": frame_ms, "redraw": True}, "fromcurrent": True, "transition": {"duration": 0}}
    pause = {"frame": {"duration": 0, "redraw": False}, "mode": "immediate", "transition": {"duration": 0}}
    show = {**pause, "frame": {"duration": 0, "redraw": True}}  # one frame, picked on the slider
    figure.update_layout(
        title={"text": _frame_title(steps[0], probabilities[0], answer_from), "x": 0, "xanchor": "left",
               "y": 0.985, "yref": "container", "yanchor": "top", "font": {"size": 16}},
        height=640,
        margin={"l": 10, "r": 10, "t": 170, "b": 10},  # the title, then Play and Pause, then the slider
        legend={"orientation": "h", "y": 0.455, "yanchor": "bottom", "title": {"text": "digit "}},
        xaxis={"dtick": 1, "fixedrange": True},
        yaxis={"title": "probability", "range": [0, 118], "ticksuffix": " %", "tickvals": [0, 50, 100],
               "fixedrange": True},
        xaxis2={"title": "training step (log scale)", "type": "log", "tickvals": [0.5, *ticks],
                "ticktext": ["0", *[f"{t:,}" for t in ticks]], "fixedrange": True},
        yaxis2={"title": "probability", "range": [0, 100], "ticksuffix": " %", "fixedrange": True},
        updatemenus=[{
            "type": "buttons", "direction": "left", "x": 0, "y": 1.21, "xanchor": "left", "yanchor": "bottom",
            "pad": {"t": 0, "b": 0}, "showactive": False,
            "buttons": [
                {"label": "▶ Play", "method": "animate", "args": [None, play]},
                {"label": "⏸ Pause", "method": "animate", "args": [[None], pause]},
            ],
        }],
        sliders=[{
            "active": 0, "x": 0, "len": 1, "y": 1.02, "yanchor": "bottom", "pad": {"t": 0, "b": 0},
            "currentvalue": {"visible": False},
            "steps": [{"label": name, "method": "animate", "args": [[name], show]} for name in names],
        }],
    )  # fmt: skip
    return figure
