"""The one module that knows Streamlit: each browser session's workspace, and the shared sidebar.

torch takes seconds to import, so this module imports it only when a page needs the model; the
home page renders without it and starts the import in the background for the next page.
"""

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

if TYPE_CHECKING:
    from lenet.workspace import Workspace

_warm_up_started = threading.Event()


@st.cache_resource(show_spinner=False)
def pretrained_checkpoint() -> dict:
    """The committed weights, read and validated once per process; sessions copy them."""
    from lenet.checkpoint import PRETRAINED, read_checkpoint
    from lenet.model import Net

    return read_checkpoint(PRETRAINED, Net())


def _warm_up() -> None:
    """Pay once per process, in the background, what the first page would wait for: importing torch,
    the optimizer's lazy set-up on its first step (1.2 s, measured), and pandas, which Streamlit's
    tables import on first use (0.45 s)."""
    from lenet.anatomy import walkthrough
    from lenet.model import Net

    walkthrough(Net())
    import pandas  # noqa: F401  last, so a first page that needs torch is not kept waiting


def start_warm_up() -> None:
    if not _warm_up_started.is_set():
        _warm_up_started.set()
        threading.Thread(target=_warm_up, name="lenet-warm-up", daemon=True).start()


def page(title: str, icon: str) -> "Workspace":
    """Every page starts here: the same page settings, this session's workspace, the sidebar."""
    st.set_page_config(page_title=f"{title} · LeNet on MNIST", page_icon=icon, layout="wide")
    start_warm_up()
    ws = workspace()
    sidebar(ws)
    return ws


def light_page(title: str, icon: str) -> None:
    """A page that needs no model: it shows at once while torch loads in the background."""
    st.set_page_config(page_title=f"{title} · LeNet on MNIST", page_icon=icon, layout="wide")
    start_warm_up()
    if "workspace" in st.session_state:
        sidebar(st.session_state.workspace)
    else:
        with st.sidebar:
            st.markdown("**Your model**")
            st.caption("Pretrained weights, loaded when you open a page.")


def workspace() -> "Workspace":
    """This browser session's workspace, created from the pretrained weights on first use."""
    from lenet.workspace import Workspace

    if "workspace" not in st.session_state:
        ws = Workspace(None, "pretrained")
        reset(ws, "pretrained")
        ws.owner_alive = session_liveness()
        st.session_state.workspace = ws
    return st.session_state.workspace


def session_liveness() -> Callable[[], bool]:
    """Whether this browser session is still connected, callable from the training thread."""
    context = get_script_run_ctx()
    if context is None or not Runtime.exists():  # AppTest and bare mode: no sessions to lose
        return lambda: True
    runtime, session_id = Runtime.instance(), context.session_id
    return lambda: runtime.is_active_session(session_id)


def remembered(name: str, default: object) -> str:
    """The key for a widget whose value outlives visits to other pages.

    Streamlit drops a widget's state on any run that does not draw it (another page, and also a
    timed fragment rerun after the user has left), so the value lives in a plain dict as well and
    seeds the widget again when it comes back.
    """
    values = st.session_state.setdefault("remembered", {})
    values.setdefault(name, default)
    key = f"widget_{name}"
    if key not in st.session_state:
        st.session_state[key] = values[name]
    return key


def remember(name: str) -> None:
    """`on_change` of a remembered widget."""
    st.session_state.remembered[name] = st.session_state[f"widget_{name}"]


def set_remembered(name: str, value: object) -> None:
    st.session_state.setdefault("remembered", {})[name] = value
    st.session_state[f"widget_{name}"] = value


def reset(ws: "Workspace", to: str) -> None:
    if to == "pretrained":
        checkpoint = pretrained_checkpoint()
        ws.load(checkpoint["model"], "pretrained", checkpoint["history"])
    else:
        ws.reset(None, "random init")


def status_line(ws: "Workspace") -> str:
    here = ws.epochs_trained_here
    if here:
        return f"{ws.origin} + {here} epochs here"
    return f"{ws.origin} ({ws.inherited_epochs} epochs)" if ws.inherited_epochs else ws.origin


def sidebar(ws: "Workspace") -> None:
    with st.sidebar:
        _status(ws)


@st.fragment
def _status(ws: "Workspace") -> None:
    from lenet.workspace import SLOTS

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
