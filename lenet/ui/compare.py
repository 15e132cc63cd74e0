"""The Train page's "Your runs": the session's runs side by side, and one click to run one again
from the same first weights with another learning rate or batch size."""

import re
from dataclasses import fields

import streamlit as st

from lenet.network.handwriting import MIN_FOR_ACCURACY
from lenet.service.runlog import FROM_PRETRAINED, compare, names
from lenet.service.runs import TrainingRun
from lenet.service.workspace import Refused, Workspace
from lenet.training.settings import TrainConfig, setting_of
from lenet.ui import charts, html, session, words

BATCH_SIZES = setting_of(next(f for f in fields(TrainConfig) if f.name == "batch_size")).options
PLAIN_NUMBER = re.compile(r"([0-9]+\.?[0-9]*|\.[0-9]+)(e[+-]?[0-9]+)?", re.IGNORECASE)


def your_runs(ws: Workspace) -> None:
    runs = [run for run in ws.runs if not run.active]  # a run joins once it has ended: this part is drawn once
    if not runs:
        return
    st.subheader("Your runs")
    st.caption(
        "Every run you have trained that has ended, with its settings, loss curve and accuracy (a run that "
        "trains joins it when it ends); the time machine keeps the snapshots of the last three. A downloaded "
        "checkpoint takes the runs with it."
    )
    by_id = {run.id: run for run in runs}
    named = dict(zip(by_id, names(runs), strict=True))
    # One widget per set of ended runs, its default given, never written: a page's state written into a
    # widget races the browser's own copy (a rerun in flight sent the old choice back as the learner's).
    key = f"compare_runs_{len(runs)}_{runs[-1].id}"
    chosen = st.multiselect(
        "Compare",
        list(by_id),
        default=_default_choice(runs),
        format_func=named.get,
        key=key,
        on_change=lambda: st.session_state.update(compared=(st.session_state[key], set(by_id))),
    )
    views = [by_id[run_id].view() for run_id in chosen]
    if views:
        rows = compare(views) + _hand(ws, views)
        with st.container(key="runs-compared"):
            shown_as = names(views)
            stepped = [(view, name) for view, name in zip(views, shown_as, strict=True) if view.losses]
            if stepped:  # a run stopped before its first step has no line to draw
                st.plotly_chart(
                    charts.runs_chart(*map(list, zip(*stepped, strict=True))),
                    key="runs-chart",
                    config=charts.NO_TOOLBAR,
                )
            st.markdown(
                html.comparison_table(shown_as, rows, "run-settings"),
                unsafe_allow_html=True,
            )
            st.caption("Shaded rows (≠) are where the runs differ.")
    _again(ws, runs)


def _default_choice(runs: list[TrainingRun]) -> list[str]:
    """The latest two runs; once the learner has chosen, their choice and every run that ended since."""
    if "compared" not in st.session_state:
        return [run.id for run in runs[-2:]]
    chosen, seen = st.session_state["compared"]
    return [run.id for run in runs if run.id in chosen or run.id not in seen]


def _hand(ws: Workspace, views: list[TrainingRun]) -> list[tuple[str, list[str], bool]]:
    """How each run's last weights read the learner's digits as they are now (runs with snapshots only)."""
    if len(ws.digits) < MIN_FOR_ACCURACY:
        return []
    read = [ws.digits.read_by(view.snapshots[-1].model()) if view.snapshots else None for view in views]
    values = [f"{r.right} of {r.total} ({r.accuracy:.0%})" if r else "-" for r in read]
    return [(f"Your {len(ws.digits)} digits", values, len(set(values)) > 1)]


def _startable(run: TrainingRun) -> bool:
    return not run.active and (run.init_seed is not None or run.start == FROM_PRETRAINED)


def _again(ws: Workspace, runs: list[TrainingRun]) -> None:
    with st.container(border=True, key="again"):
        st.markdown(
            "**Again, from the same start**: the very same first weights, one setting changed. The form at the "
            "top of the page stays as it is: Start there trains what it shows."
        )
        startable = {run.id: run for run in reversed(runs) if _startable(run)}
        if not startable:
            st.caption("A run from scratch, or from the pretrained weights, can be run again from its start.")
            return
        which, rate, batch, go = st.columns([3, 1, 1, 1], vertical_alignment="bottom")
        named = dict(zip(startable, names(list(startable.values())), strict=True))
        run = startable[
            which.selectbox(
                "Run", list(startable), format_func=lambda run_id: _with_start(named[run_id], startable[run_id]),
                key="again_run",
            )
        ]  # fmt: skip
        rate.text_input("Learning rate", f"{run.config.lr:g}", key=f"again_lr_{run.id}")
        sizes = sorted({*BATCH_SIZES, run.config.batch_size})
        batch.selectbox("Batch size", sizes, index=sizes.index(run.config.batch_size), key=f"again_batch_{run.id}")
        go.button("Start again", on_click=_start_again, args=(run,), disabled=ws.training, width="stretch")
        if error := st.session_state.pop("again_error", None):
            st.error(words.plain(error))
        if ws.training and st.session_state.get("again_started") == ws.run.id:
            st.fragment(_again_progress, run_every=1.0)(ws)


def _with_start(name: str, run: TrainingRun) -> str:
    """A run's name, and where it started unless the name says it already."""
    return name if run.start in name else f"{name} ({run.start})"


def _again_progress(ws: Workspace) -> None:
    """The run Again started, where the learner pressed it (its chart is at the top of the page)."""
    if ws.run is None or not ws.run.active:
        st.rerun()
    view = ws.run.view()
    where = f"step {len(view.losses):,} of {view.total_steps:,}" if view.total_steps else "getting ready"
    st.progress(
        len(view.losses) / view.total_steps if view.total_steps else 0.0,
        text=f"{view.label} is {view.state}: {where}; its live chart is at the top of the page.",
    )


def _start_again(run: TrainingRun) -> None:
    """A callback, before the page runs; the settings form is left as the learner set it."""
    typed, batch = st.session_state[f"again_lr_{run.id}"], st.session_state[f"again_batch_{run.id}"]
    # float() also reads "1_0" and other scripts' digits: the form takes what a learner types, nothing else
    if not isinstance(typed, str) or not PLAIN_NUMBER.fullmatch(typed.strip()):
        st.session_state["again_error"] = f"The learning rate must be a number, such as 0.01, not {typed!r}."
        return
    if batch not in {*BATCH_SIZES, run.config.batch_size}:  # a client may send a value no option holds
        st.session_state["again_error"] = "Choose a batch size of the list."
        return
    try:
        session.start_again(run, lr=float(typed), batch_size=batch)
    except (ValueError, Refused) as error:  # a rate out of range, or a run still going
        st.session_state["again_error"] = str(error)
        return
    st.session_state["again_started"] = session.workspace().run.id
