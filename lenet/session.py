"""The one module that knows Streamlit: each browser session's workspace, and the shared sidebar."""

import streamlit as st

from lenet.checkpoint import PRETRAINED, read_checkpoint
from lenet.model import Net
from lenet.workspace import Workspace

KEEP_PREFIX = "train_"  # widgets whose values outlive a visit to another page


@st.cache_resource(show_spinner=False)
def pretrained_checkpoint() -> dict:
    """The committed weights, read and validated once per process; sessions copy them."""
    return read_checkpoint(PRETRAINED, Net())


def page(title: str, icon: str) -> Workspace:
    """Every page starts here: the same page settings, this session's workspace, the sidebar."""
    st.set_page_config(page_title=f"{title} · LeNet on MNIST", page_icon=icon, layout="wide")
    for key in [k for k in st.session_state if str(k).startswith(KEEP_PREFIX)]:
        st.session_state[key] = st.session_state[key]  # Streamlit drops widget state on pages without the widget
    ws = workspace()
    sidebar(ws)
    return ws


def workspace() -> Workspace:
    """This browser session's workspace, created from the pretrained weights on first use."""
    if "workspace" not in st.session_state:
        checkpoint = pretrained_checkpoint()
        ws = Workspace(checkpoint["model"], "pretrained")
        ws.history = list(checkpoint["history"])
        st.session_state.workspace = ws
    return st.session_state.workspace


def reset(ws: Workspace, to: str) -> None:
    if to == "pretrained":
        checkpoint = pretrained_checkpoint()
        ws.load(checkpoint["model"], "pretrained", checkpoint["history"])
    else:
        ws.reset(None, "random init")


def status_line(ws: Workspace) -> str:
    origin = ws.origin
    runs = [r for r in ws.history if r.get("config")]
    if origin == "pretrained":
        origin = "pretrained (3 epochs)" if not runs else f"pretrained + {len(runs)} epochs here"
    elif runs:
        origin = f"{origin} + {len(runs)} epochs here"
    return origin


def sidebar(ws: Workspace) -> None:
    with st.sidebar:
        _status(ws)


@st.fragment
def _status(ws: Workspace) -> None:
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
