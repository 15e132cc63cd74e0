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


def sidebar(ws: "Workspace | None") -> None:
    """The model's status; `None` before the session's model is loaded (the home page)."""
    with st.sidebar:
        if ws is None:
            st.markdown("**Your model**")
            st.caption("Pretrained weights, loaded when you open a page.")
        else:
            _status(ws)


@st.fragment
def _status(ws: "Workspace") -> None:
    from lenet.slots import SLOTS

    st.markdown("**Your model**")
    st.caption(f"Source: {status_line(ws)}")
    accuracy = ws.last_accuracy
    st.caption(
        f"Last test accuracy: {accuracy:.2%}" if accuracy is not None else "Last test accuracy: not measured yet"
    )
    if ws.run is not None:
        view = ws.run.view()
        if view.active:
            st.caption(f"Training: {view.state}, epoch {view.epoch}/{view.config.epochs} on {view.device}")
        else:
            st.caption(f"Last run: {view.state} on {view.device}")
    else:
        st.caption("Training: idle")
    training, waiting = SLOTS.busy()
    st.caption(f"Server: {training} of {SLOTS.limit} training slots busy, {waiting} waiting")
