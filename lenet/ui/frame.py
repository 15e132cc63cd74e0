"""The frame every page starts with (page settings, the sidebar), and the process's background threads,
started by its first page: torch takes seconds to import, so the home page renders without it and
starts the import in the background for the next page."""

import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from lenet.ui import learner, navigation, session
from lenet.ui.sidebar import sidebar

if TYPE_CHECKING:
    from lenet.service.workspace import Workspace

STYLE = "<style>" + (Path(__file__).parent / "app.css").read_text() + "</style>"


def page(title: str, icon: str) -> "Workspace":
    """Every page starts here: the same page settings, this session's workspace, the sidebar."""
    navigation.run_as_declared()
    st.set_page_config(page_title=f"{title} · LeNet on MNIST", page_icon=icon, layout="wide")
    st.html(STYLE)  # style only: Streamlit sends it apart from the page's elements, taking no space
    start_warm_up()
    learner.identify()
    ws = session.workspace()
    sidebar(ws)
    with st.sidebar:
        learner.sidebar_line()
    learner.notice(title)
    learner.keep()
    return ws


def light_page(title: str, icon: str) -> None:
    """A page that needs no model: it shows at once while torch loads in the background."""
    navigation.run_as_declared()
    st.set_page_config(page_title=f"{title} · LeNet on MNIST", page_icon=icon, layout="wide")
    st.html(STYLE)
    start_warm_up()
    sidebar(st.session_state.get("workspace"))


_warm_up_started = threading.Event()


def _warm_up() -> None:
    """Pay once per process, in the background, what the first page would wait for: importing torch,
    the optimizer's lazy set-up on its first step, and pandas, which Streamlit's tables import on
    first use (docs/measurements/2026-11-27-many-users.md has the figures)."""
    from lenet.network.anatomy import walkthrough
    from lenet.network.model import Net
    from lenet.store.checkpoint import pretrained

    walkthrough(Net())
    pretrained()
    import pandas  # noqa: F401  last, so a first page that needs torch is not kept waiting


JANITOR_EVERY_S = 5.0


def _janitor() -> None:
    """Once per process: give back the memory of workspaces whose sessions can no longer come back,
    and, while no run trains (a run would only fault the same pages in again), what the pages freed."""
    from lenet.memory import collect_if_asked, give_back_freed_memory
    from lenet.service.slots import SLOTS
    from lenet.service.workspace import live_workspaces

    while True:
        time.sleep(JANITOR_EVERY_S)
        after = float(st.get_option("server.disconnectedSessionTTL")) + JANITOR_EVERY_S
        for ws in live_workspaces():
            try:
                ws.release_if_abandoned(after)
            except Exception:  # logged (the tests fail on it); one bad workspace must not keep the others
                logging.getLogger(__name__).exception("the janitor could not release a workspace")
        try:
            if collect_if_asked() or SLOTS.busy() == (0, 0):
                give_back_freed_memory()
        except Exception:  # logged; one bad round must not end it for the process
            logging.getLogger(__name__).exception("the janitor's round failed")


def start_warm_up() -> None:
    """The background threads of the process, started by its first page: the warm-up and the janitor;
    first, few malloc arenas for every thread to come (lenet/memory.py has the figures)."""
    if not _warm_up_started.is_set():
        _warm_up_started.set()
        from lenet.memory import limit_arenas

        limit_arenas()
        threading.Thread(target=_warm_up, name="lenet-warm-up", daemon=True).start()
        threading.Thread(target=_janitor, name="lenet-janitor", daemon=True).start()
