"""The sidebar every page shares: this session's model and the server's training slots."""

from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:
    from lenet.workspace import Workspace


def status_line(ws: "Workspace") -> str:
    here = ws.epochs_trained_here
    if here:
        return f"{ws.origin} + {here} epochs here"
    return f"{ws.origin} ({ws.inherited_epochs} epochs)" if ws.inherited_epochs else ws.origin


REFRESH_S = 1.0  # how often the sidebar redraws while this session's run goes on


def sidebar(ws: "Workspace | None") -> None:
    """The model's status, following a run on every page; `None` before the session's model is loaded."""
    with st.sidebar:
        if ws is None:
            st.markdown("**Your model**")
            st.caption("Pretrained weights, loaded when you open a page.")
        else:
            training = ws.training
            st.fragment(_status, run_every=REFRESH_S if training else None)(ws, training)


def _status(ws: "Workspace", was_training: bool) -> None:
    """Redrawn alone every `REFRESH_S` while a run goes; when it ends, the whole page redraws once
    (with the final weights) and the polling stops."""
    from lenet.slots import SLOTS
    from lenet.workspace import RunState

    if was_training and not ws.training:
        st.rerun()
    st.markdown("**Your model**")
    st.caption(f"Source: {status_line(ws)}")
    accuracy = ws.last_accuracy
    st.caption(
        f"Last test accuracy: {accuracy:.2%}" if accuracy is not None else "Last test accuracy: not measured yet"
    )
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
