"""The time machine: a "model at step" slider over the snapshots of the session's runs.

The choice lives in the session, so the Sketch pad and the Architecture page show the same step;
"now", the default, is the latest weights. Play is not here: it animates in the browser (`replay`),
because a page that asked the server for each frame stalled whenever the server was busy.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st

from lenet.memory import collect_soon
from lenet.ui import path

if TYPE_CHECKING:
    from lenet.network.model import Net
    from lenet.service.runs import TrainingRun
    from lenet.service.workspace import Workspace

NOW = -1  # the latest weights, at the slider's right end
STATE, SAID = "time_machine", "time_machine_said"


@dataclass(frozen=True)
class Moment:
    """The model a page shows: the latest weights, or a snapshot's, with the sentence that says which."""

    model: "Net"
    run: "TrainingRun | None"  # the run the slider moves through, None before any has snapshots
    step: int = NOW
    past: str | None = None  # the sentence that says it is the past; None for now

    @property
    def in_past(self) -> bool:
        return self.past is not None


def newest(ws: "Workspace") -> tuple[int, str | None]:
    """Which model and run the slider's choice belongs to: a new run, or another model (a reset, Bring it
    back, Continue), sends it back to now."""
    return id(ws), ws.run.id if ws.run is not None else None


def _state(ws: "Workspace") -> dict:
    """The slider's run and step; back to the latest weights of the latest run once a new run starts."""
    state = st.session_state.get(STATE)
    if state is None or state["newest"] != newest(ws):
        state = st.session_state[STATE] = {"run": None, "step": NOW, "model": None, "newest": newest(ws)}
    return state


def _label(step: int) -> str:
    return "now" if step == NOW else f"{step:,}"


def _runs(ws: "Workspace") -> list["TrainingRun"]:
    """The runs it can go back through: those of the model's own network (its "now" ends each of them)."""
    return [run for run in ws.runs if run.snapshot_steps() and run.architecture == ws.model.arch]


def _run(state: dict, runs: list["TrainingRun"]) -> "TrainingRun":
    """The run the slider moves through: the one picked, else the latest."""
    return next((r for r in runs if r.id == state["run"]), runs[-1])


def moment(ws: "Workspace") -> Moment:
    """What the time machine points at now, without drawing anything (a fragment asks again)."""
    state, runs = _state(ws), _runs(ws)
    if not runs:
        return Moment(ws.inference_model(), None)
    run = _run(state, runs)
    steps = run.snapshot_steps()
    if state["step"] not in steps:
        state["step"] = NOW
    if state["step"] == NOW:
        return Moment(ws.inference_model(), run)
    snapshot = run.snapshot_at(state["step"])
    cached = state["model"]
    if cached is None or cached[0] != (run.id, snapshot.step):
        cached = state["model"] = ((run.id, snapshot.step), snapshot.model())  # one model per step, not per run
    model = cached[1]
    facts = [f"{snapshot.accuracy:.0%} right on the 1,000 test digits"] if snapshot.accuracy is not None else []
    if (hand := ws.hand_accuracy(model)) is not None:
        facts.append(f"{hand.right} of your {hand.total} digits")
    then = f" ({' and '.join(facts)} then)" if facts else ""
    return Moment(
        model,
        run,
        snapshot.step,
        f"**The past**: your model after {snapshot.step:,} of {run.label}'s {steps[-1]:,} steps{then}. "
        "Every number, picture and answer on this page is that model's; move the slider to *now* for its "
        "latest weights.",
    )


def choose(ws: "Workspace") -> Moment:
    """Draw the controls; return the model the page shows."""
    runs = _runs(ws)
    if not runs:
        st.caption("⏪ Time machine: train a run on the Train page, then come back here to see the model at any step.")
        return moment(ws)
    now = moment(ws)
    run, state = now.run, _state(ws)
    steps = run.snapshot_steps()
    from lenet.service.runlog import names  # here, not above: Home's sidebar imports this module, without torch

    named = dict(zip([r.id for r in runs], names(runs), strict=True))
    with st.container(border=True):
        which, slider = st.columns([3, 9], vertical_alignment="bottom")
        if len(runs) > 1:
            st.session_state["time_machine_run"] = run.id
            which.selectbox(
                "Run",
                [r.id for r in reversed(runs)],
                format_func=named.get,
                key="time_machine_run",
                on_change=_pick_run,
                args=(ws,),
            )
        else:
            which.markdown(f"**{run.label}**")  # alone: nothing to tell it apart from
        key = f"time_machine_step_{run.id}_{len(steps)}"  # a new key as snapshots arrive: new options
        st.session_state[key] = state["step"]
        slider.select_slider(
            "Model at step",
            [*steps, NOW],
            format_func=_label,
            key=key,
            on_change=_moved,
            args=(ws, key),
            help="Your model as it was after that many steps of the run; now is its latest weights. "
            "Every figure on the page follows it.",
        )
        if now.in_past:
            st.button(
                f"Continue from step {now.step:,}: make it your model",
                key="time_machine_continue",
                on_click=_continue,
                args=(run.id, now.step),
                disabled=ws.training,
                help="Your model becomes the weights of this step, as the time machine keeps them (in float16), "
                "to train on from there on the Train page; the model you have now is kept: ↩ Bring it back on "
                "the Train page."
                if not ws.training
                else "Stop the run on the Train page first.",
            )
    if said := st.session_state.pop(SAID, None):
        st.success(said)
    return now


def banner(past: str | None) -> None:
    """The sentence that says the page shows the past, or an empty slot of the same place: an element
    that came and went would move the canvas below it, and Streamlit would draw it afresh, blank."""
    slot = st.empty()
    if past:
        slot.warning(past, icon="⏪")


def where(ws: "Workspace") -> str | None:
    """For the sidebar: which past the pages show, None at now."""
    state, runs = _state(ws), _runs(ws)
    if state["step"] == NOW or not runs or state["step"] not in _run(state, runs).snapshot_steps():
        return None
    return f"after {state['step']:,} steps of {_run(state, runs).label}"


def _continue(run_id: str, step: int) -> None:
    """The weights of a run's step (its snapshot) as the session's model, to train on from there; the model
    they replace is kept to bring back."""
    from lenet.service.workspace import Refused, Workspace, snapshot_origin  # here: Home's sidebar imports this

    ws = st.session_state.workspace
    run = next((run for run in _runs(ws) if run.id == run_id and step in run.snapshot_steps()), None)
    if run is None:  # its snapshots went (a fourth run) while the page was open
        return
    if ws.origin == snapshot_origin(run, step) and ws.run is None and not ws.lessons:  # a second press
        return
    try:
        st.session_state.workspace = ws.replaced_by(Workspace.from_snapshot(run, step))
        collect_soon()
    except Refused as error:  # a run trains it, or another tab replaced it
        st.session_state[SAID] = str(error)
        return
    st.session_state[SAID] = (
        f"Your model is now the weights of step {step:,} of {run.label}: train on from there on the Train page "
        "(keep training this model). The model it replaced is kept: ↩ Bring it back on the Train page."
    )


def _pick_run(ws: "Workspace") -> None:
    state = _state(ws)
    state["run"], state["step"] = st.session_state["time_machine_run"], NOW


def _moved(ws: "Workspace", key: str) -> None:
    _state(ws)["step"] = st.session_state[key]
    path.mark("replay")
