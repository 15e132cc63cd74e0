"""Each browser session's workspace: made on first use, replaced by a reset or a loaded file.

torch takes seconds to import, so this module imports it only when a page needs the model.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import streamlit as st

# Streamlit has no public API for "is this browser session still connected?". The training thread
# needs it to end a closed tab's run: Runtime.is_active_session answers it (tests/test_structure.py
# checks it is there; the browser test of a closed tab checks it works).
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from lenet.memory import collect_soon

if TYPE_CHECKING:
    from lenet.service.runs import TrainingRun
    from lenet.service.workspace import Workspace
    from lenet.training.settings import TrainConfig


def workspace() -> "Workspace":
    """This browser session's workspace, created from the pretrained weights on first use."""
    if "workspace" not in st.session_state:
        from lenet.service.workspace import Workspace
        from lenet.store.checkpoint import pretrained

        adopt_workspace(Workspace.from_checkpoint(pretrained(), "pretrained"))
    return st.session_state.workspace


def adopt_workspace(ws: "Workspace", shared: bool = False) -> None:
    """`ws` as this session's workspace, from now on (a new session's, or one given back by the store);
    `shared` with another session of the same learner (a second tab), whose it stays while either lives."""
    mine = session_liveness()
    ws.owner_alive = AnyAlive.joined(ws.owner_alive, mine) if shared else mine
    ws.owner_grace_s = float(st.get_option("server.disconnectedSessionTTL"))  # as long as Streamlit keeps it
    st.session_state.workspace = ws


def replace_workspace(new: "Workspace") -> None:
    """Put `new` in place of this session's workspace (a reset, a loaded file); `Busy` while it trains."""
    st.session_state.workspace = workspace().replaced_by(new)
    collect_soon()


def reset_workspace(to: str) -> None:
    """Back to the pretrained weights (the tutorial's network), or to a random init of the session's network."""
    from lenet.service.workspace import Workspace
    from lenet.store.checkpoint import pretrained

    if to == "pretrained":
        replace_workspace(Workspace.from_checkpoint(pretrained(), "pretrained"))
    else:
        replace_workspace(Workspace.from_random_init(arch=workspace().model.arch))


def start_training(config: "TrainConfig", from_scratch: bool, init_seed: int = 0) -> None:
    """Start a run on this session's model, or on fresh weights of its network drawn from `init_seed`."""
    from lenet.service.slots import startable
    from lenet.service.workspace import Workspace

    if from_scratch:
        startable(config, workspace().model.arch)  # refused before the learner's model is replaced
        replace_workspace(Workspace.from_random_init(init_seed, workspace().model.arch))
    workspace().start(config)


def start_again(run: "TrainingRun", **changes: object) -> None:
    """A new run from the very weights `run` started from, with its settings but for `changes`."""
    from dataclasses import replace

    from lenet.service.slots import startable
    from lenet.service.workspace import Workspace

    config = replace(run.config, **changes)
    startable(config, run.architecture)  # refused before the learner's model is replaced
    replace_workspace(Workspace.as_run_started(run))
    workspace().start(config)


T = TypeVar("T")


def last(name: str, key: object, make: Callable[[], T]) -> T:
    """What `make` gives, kept in the session under `name` and made again only when `key` changes: work
    a page run would otherwise repeat for the same drawing, run or step."""
    kept = st.session_state.get(name)
    if kept is None or kept[0] != key:
        kept = st.session_state[name] = (key, make())
    return kept[1]


CHANGED = "model_changed"


def changed() -> None:
    """A callback changed the model or the learner's digits: the sidebar and every part of the page must
    be redrawn, not only the fragment the click came from (`redraw_if_changed`)."""
    st.session_state[CHANGED] = True


def redraw_if_changed() -> None:
    """First thing in a fragment whose callbacks call `changed`: run the whole page instead."""
    if st.session_state.pop(CHANGED, False):
        st.rerun()


def session_liveness() -> Callable[[], bool]:
    """Whether this browser session is still connected, callable from the training thread."""
    context = get_script_run_ctx()
    if context is None or not Runtime.exists():  # AppTest and bare mode: no sessions to lose
        return _always
    return _Connected(Runtime.instance(), context.session_id)


def _always() -> bool:
    return True


@dataclass(frozen=True)
class _Connected:
    """Whether one browser session is connected; equal for the same session."""

    runtime: Runtime
    session_id: str

    def __call__(self) -> bool:
        return self.runtime.is_active_session(self.session_id)


MOST_SHARED = 16  # the sessions of one learner (tabs, reloads) whose liveness keeps a shared workspace


@dataclass(frozen=True)
class AnyAlive:
    """The sessions that share a workspace, a learner's tabs: alive while any is. Flat and short: a learner
    who opens a thousand tabs makes no chain of checks (one nested in the other ran out of stack)."""

    checks: tuple[Callable[[], bool], ...]

    def __call__(self) -> bool:
        return any(check() for check in self.checks)

    @classmethod
    def joined(cls, theirs: Callable[[], bool], mine: Callable[[], bool]) -> "AnyAlive":
        """`theirs` and `mine`, the latest `MOST_SHARED` sessions, each once."""
        old = theirs.checks if isinstance(theirs, cls) else (theirs,)
        return cls((*[check for check in old if check != mine], mine)[-MOST_SHARED:])
