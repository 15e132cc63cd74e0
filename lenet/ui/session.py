"""Each browser session's workspace, the frame every page starts with, and widgets that remember.

torch takes seconds to import, so this module imports it only when a page needs the model; the
home page renders without it and starts the import in the background for the next page.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import streamlit as st

# Streamlit has no public API for "is this browser session still connected?". The training thread
# needs it to end a closed tab's run: Runtime.is_active_session answers it (tests/test_structure.py
# checks it is there; the browser test of a closed tab checks it works).
from streamlit.runtime import Runtime

# Streamlit decides once per process whether to run its older multipage mode (see `_declared_pages`).
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx

from lenet.ui import navigation, timemachine
from lenet.ui.sidebar import sidebar

if TYPE_CHECKING:
    from lenet.runs import TrainingRun
    from lenet.settings import TrainConfig
    from lenet.workspace import Workspace

_warm_up_started = threading.Event()


def _warm_up() -> None:
    """Pay once per process, in the background, what the first page would wait for: importing torch,
    the optimizer's lazy set-up on its first step, and pandas, which Streamlit's tables import on
    first use (the README has the figures)."""
    from lenet.anatomy import walkthrough
    from lenet.checkpoint import pretrained
    from lenet.model import Net

    walkthrough(Net())
    pretrained()
    import pandas  # noqa: F401  last, so a first page that needs torch is not kept waiting


JANITOR_EVERY_S = 5.0


def _janitor() -> None:
    """Once per process: give back the memory of workspaces whose sessions can no longer come back,
    and, while no run trains (a run would only fault the same pages in again), what the pages freed."""
    from lenet.memory import give_back_freed_memory
    from lenet.slots import SLOTS
    from lenet.workspace import live_workspaces

    while True:
        time.sleep(JANITOR_EVERY_S)
        try:
            after = float(st.get_option("server.disconnectedSessionTTL")) + JANITOR_EVERY_S
            for ws in live_workspaces():
                ws.release_if_abandoned(after)
            if SLOTS.busy() == (0, 0):
                give_back_freed_memory()
        except Exception:  # logged (the tests fail on it); one bad round must not end it for the process
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


def _declared_pages() -> None:
    """Run every page as app.py declares it, never through Streamlit's older `pages/` folder mode.

    Streamlit 1.67 sets `PagesManager.uses_pages_directory` on its first session: True when a
    folder named `pages/` lies beside the main script. Then it runs the requested page file
    directly, with a sidebar made from the file names ("app | Home | ...", no icons), until some
    run of app.py calls `st.navigation`, which clears the flag. A shared deep link (`/Train`) never
    runs app.py, so on a fresh server every deep link kept that sidebar. So a page that finds itself
    run that way clears the flag and hands this run to the declared navigation, as app.py would
    (which runs this page again, as the declared page, with the declared sidebar), then stops.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        navigation.declare().run()
        st.stop()


def page(title: str, icon: str) -> "Workspace":
    """Every page starts here: the same page settings, this session's workspace, the sidebar."""
    _declared_pages()
    st.set_page_config(page_title=f"{title} · LeNet on MNIST", page_icon=icon, layout="wide")
    start_warm_up()
    ws = workspace()
    sidebar(ws)
    return ws


def light_page(title: str, icon: str) -> None:
    """A page that needs no model: it shows at once while torch loads in the background."""
    _declared_pages()
    st.set_page_config(page_title=f"{title} · LeNet on MNIST", page_icon=icon, layout="wide")
    start_warm_up()
    sidebar(st.session_state.get("workspace"))


def workspace() -> "Workspace":
    """This browser session's workspace, created from the pretrained weights on first use."""
    if "workspace" not in st.session_state:
        from lenet.checkpoint import pretrained
        from lenet.workspace import Workspace

        ws = Workspace.from_checkpoint(pretrained(), "pretrained")
        ws.owner_alive = session_liveness()
        ws.owner_grace_s = float(st.get_option("server.disconnectedSessionTTL"))  # as long as Streamlit keeps it
        st.session_state.workspace = ws
    return st.session_state.workspace


def replace_workspace(new: "Workspace") -> None:
    """Put `new` in place of this session's workspace (a reset, a loaded file); `Busy` while it trains."""
    st.session_state.workspace = workspace().replaced_by(new)


def reset_workspace(to: str) -> None:
    """Back to the pretrained weights, or to a random init."""
    from lenet.checkpoint import pretrained
    from lenet.workspace import Workspace

    if to == "pretrained":
        replace_workspace(Workspace.from_checkpoint(pretrained(), "pretrained"))
    else:
        replace_workspace(Workspace.from_random_init())


def start_training(config: "TrainConfig", from_scratch: bool, init_seed: int = 0) -> None:
    """Start a run on this session's model, or on fresh weights drawn from `init_seed`."""
    from lenet.workspace import Workspace

    if from_scratch:
        replace_workspace(Workspace.from_random_init(init_seed))
    workspace().start(config)
    timemachine.reset()


def start_again(run: "TrainingRun", **changes: object) -> None:
    """A new run from the very weights `run` started from, with its settings but for `changes`."""
    from dataclasses import replace

    from lenet.workspace import Workspace

    config = replace(run.config, **changes)
    replace_workspace(Workspace.as_run_started(run))
    workspace().start(config)
    timemachine.reset()


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
    values = remembered_values()
    values.setdefault(name, default)
    key = f"widget_{name}"
    if key not in st.session_state:
        st.session_state[key] = values[name]
    return key


def remember(name: str) -> None:
    """`on_change` of a remembered widget."""
    remembered_values()[name] = st.session_state[f"widget_{name}"]


def set_remembered(name: str, value: object) -> None:
    remembered_values()[name] = value
    st.session_state[f"widget_{name}"] = value


def remembered_values() -> dict:
    """Every remembered widget's value, by name."""
    return st.session_state.setdefault("remembered", {})
