"""The sidebar every page shares: this session's model and the server's training slots."""

from typing import TYPE_CHECKING

import streamlit as st

from lenet.ui import timemachine, words

if TYPE_CHECKING:
    from lenet.service.workspace import Workspace


REFRESH_S = 2.0  # how often the sidebar redraws while this session's run goes on
SERVER_REFRESH_S = 5.0  # ... while other sessions' runs train or wait, so the server line stays true


def sidebar(ws: "Workspace | None") -> None:
    """The model's status, following a run on every page; `None` before the session's model is loaded."""
    from lenet.service.slots import SLOTS

    with st.sidebar:
        if ws is None:
            st.markdown("**Your model**")
            st.caption("Pretrained weights, loaded when you open a page.")
            return
        training, server_busy = ws.training, SLOTS.busy() != (0, 0)
        every = REFRESH_S if training else SERVER_REFRESH_S if server_busy else None
        st.fragment(_status, run_every=every)(ws, training, server_busy)


def _status(ws: "Workspace", was_training: bool, server_was_busy: bool) -> None:
    """Redrawn alone while a run goes on this server; when this session's run ends, or the server's
    last one, the whole page redraws once (with the final weights) and the polling stops."""
    from lenet.service.slots import SLOTS
    from lenet.service.workspace import live_workspaces
    from lenet.store.records import RunState

    if (was_training and not ws.training) or (server_was_busy and not was_training and SLOTS.busy() == (0, 0)):
        st.rerun()
    st.markdown("**Your model**")
    if (past := timemachine.where(ws)) is not None:
        st.caption(f"⏪ The pages show your model as it was {past} (the time machine); below is your model now.")
    st.caption(f"Source: {words.plain(words.status_line(ws))}")
    if ws.model.arch.changes:  # a network of the learner's own making
        arch = ws.model.arch
        st.caption(f"Network: {arch.name} ({arch.parameter_count:,} parameters)")
    accuracy = ws.last_accuracy
    claimed = " (as the file says: not measured here)" if ws.origin.startswith("uploaded") and ws.run is None else ""
    if ws.tested_after_lessons is not None:
        claimed += " on 10,000, before your lessons"
    st.caption(
        f"Last test accuracy: {accuracy:.2%}{claimed}"
        if accuracy is not None
        else "Last test accuracy: not measured yet"
    )
    if ws.tested_after_lessons is not None:  # the last run's figure is stale: the lessons changed the weights
        st.caption(
            f"After your lessons: {ws.tested_after_lessons:.1%} on 1,000 test digits "
            f"({ws.tested_before_lessons:.1%} before them)"
        )
    if (hand := ws.hand_accuracy()) is not None:
        st.caption(f"Your digits: {hand.right} of {hand.total} right ({hand.accuracy:.0%})")
    if ws.run is not None:
        view = ws.run.view()
        if view.state == RunState.TRAINING and view.total_steps:
            st.caption(
                f"Training on {view.device}: epoch {view.epoch}/{view.config.epochs}, "
                f"step {len(view.losses):,}/{view.total_steps:,}, loss {view.losses[-1]:.3f}"
            )
        elif view.active:
            st.caption(f"Training: {view.state}")
        else:
            st.caption(f"Last run: {view.state} on {view.device}")
    else:
        st.caption("Training: idle")
    training, waiting = SLOTS.busy()
    st.caption(f"Server: {training} of {SLOTS.limit} training slots busy, {waiting} waiting")
    ttl = int(float(st.get_option("server.disconnectedSessionTTL")))
    st.caption(f"Models in memory: {len(live_workspaces())}, one for each tab open now or closed in the last {ttl} s")
