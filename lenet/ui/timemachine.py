"""The time machine: a "model at step" slider, with Play, over the snapshots of the session's runs.

The choice lives in the session, so the Sketch pad and the Architecture page show the same step;
"now", the default, is the latest weights. Play shows the snapshots one by one, then now: each
page run ends by waiting out its quarter second and running the page again for the next snapshot
(`play_on`). A timer in the browser that asked for each frame stalled after a few frames when page
runs were slow: a page that drives its own next run cannot lose one.
"""

import time
from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:
    from lenet.network.model import Net
    from lenet.service.workspace import Workspace

NOW = -1  # the latest weights, at the slider's right end
FRAMES_PER_S = 4
STATE = "time_machine"


def _state() -> dict:
    return st.session_state.setdefault(STATE, {"run": None, "step": NOW, "playing": False, "shown_at": 0.0})


def reset() -> None:
    """Back to the latest weights of the latest run: a new run has started."""
    st.session_state.pop(STATE, None)


def _label(step: int) -> str:
    return "now" if step == NOW else f"{step:,}"


def choose(ws: "Workspace") -> tuple["Net", str | None]:
    """Draw the controls; return the model the page shows and, when it is from the past, a sentence
    that says so."""
    state = _state()
    runs = [run for run in ws.runs if run.snapshot_steps()]
    if not runs:
        st.caption("⏪ Time machine: train a run on the Train page, then come back here to see the model at any step.")
        return ws.inference_model(), None
    by_id = {run.id: run for run in runs}
    run = by_id.get(state["run"]) or runs[-1]
    steps = run.snapshot_steps()
    if state["step"] not in steps:
        state["step"], state["playing"] = NOW, False
    playing = state["playing"]
    with st.container(border=True):
        which, slider, play = st.columns([2, 8, 2], vertical_alignment="bottom")
        if len(runs) > 1:
            st.session_state["time_machine_run"] = run.id
            which.selectbox(
                "Run",
                [r.id for r in reversed(runs)],
                format_func=lambda run_id: by_id[run_id].label,
                key="time_machine_run",
                on_change=_pick_run,
            )
        else:
            which.markdown(f"**{run.label}**")
        key = f"time_machine_step_{run.id}_{len(steps)}"  # a new key as snapshots arrive: new options
        st.session_state[key] = state["step"]
        slider.select_slider(
            "Model at step",
            [*steps, NOW],
            format_func=_label,
            key=key,
            on_change=_moved,
            args=(key,),
            help="Your model as it was after that many steps of the run; now is its latest weights.",
        )
        play.button(
            "⏸ Pause" if playing else "▶ Play",
            on_click=_pause if playing else _play,
            args=() if playing else (steps,),
            width="stretch",
        )
    state["frames"] = steps
    if state["step"] == NOW:
        return ws.inference_model(), None
    snapshot = run.snapshot_at(state["step"])
    model = snapshot.model()
    facts = [f"{snapshot.accuracy:.0%} right on the 1,000 test digits"] if snapshot.accuracy is not None else []
    if (hand := ws.hand_accuracy(model)) is not None:
        facts.append(f"{hand.right} of your {hand.total} digits")
    then = f" ({' and '.join(facts)} then)" if facts else ""
    return model, (
        f"**The past**: your model after {snapshot.step:,} of {run.label}'s {steps[-1]:,} steps{then}. "
        "Move the slider to *now* for its latest weights."
    )


def banner(past: str | None) -> None:
    """The sentence that says the page shows the past, or an empty slot of the same place: an element
    that came and went would move the canvas below it, and Streamlit would draw it afresh, blank."""
    slot = st.empty()
    if past:
        slot.warning(past, icon="⏪")


def _pick_run() -> None:
    state = _state()
    state["run"], state["step"], state["playing"] = st.session_state["time_machine_run"], NOW, False


def _moved(key: str) -> None:
    state = _state()
    state["step"], state["playing"] = st.session_state[key], False


def _play(steps: list[int]) -> None:
    state = _state()
    at = steps.index(state["step"]) if state["step"] in steps[:-1] else 0
    state["step"], state["playing"], state["shown_at"] = steps[at], True, time.monotonic()


def _pause() -> None:
    _state()["playing"] = False


def play_on() -> None:
    """The last call of a page that shows the time machine: while playing, wait out the frame's quarter
    second, move to the next snapshot (after the last, to now) and run the page again for it."""
    state = _state()
    if not state["playing"]:
        return
    time.sleep(max(0.0, state["shown_at"] + 1 / FRAMES_PER_S - time.monotonic()))
    later = [step for step in state.get("frames", []) if step > state["step"]]
    state["step"], state["playing"], state["shown_at"] = (later or [NOW])[0], bool(later), time.monotonic()
    st.rerun()
