"""The model a reset, a loaded file, a new network, a run from scratch or the time machine's "Continue"
replaced, and one button that brings it back: the model it replaces is kept in turn, so a second press
swaps them again."""

from collections.abc import Callable

import streamlit as st

from lenet.service.undo import Replaced
from lenet.service.workspace import Refused, Workspace
from lenet.ui import session, words

SAID = "bring_back_said"


def described(old: Replaced) -> str:
    """ "random init + 3 epochs here; kernel 5, padding 2 (136,586 parameters); 98.91% right on the 10,000 test
    digits": as the sidebar says them."""
    accuracy = f"{old.accuracy:.2%} right on the 10,000 test digits" if old.accuracy is not None else "never tested"
    return f"{words.status_line(old)}; {old.arch.name} ({old.arch.parameter_count:,} parameters); {accuracy}"


def offer(ws: Workspace, key: str, then: Callable[[Replaced], None] | None = None) -> None:
    """The replaced model and the button; `then` is called with the model brought back (the editor sets its
    widgets to its network)."""
    if said := st.session_state.pop(SAID + key, None):
        st.success(said)
    if (old := ws.replaced) is None:
        return
    with st.container(border=True, key=f"bring-back-{key}"):
        st.markdown(f"**Your model before this one:** {words.plain(described(old))}.")
        st.button(
            "↩ Bring it back",
            key=f"bring_back_{key}",
            on_click=_bring_back,
            args=(key, then),
            disabled=ws.training,
            help="It takes the place of your model now, which is kept here in turn if it holds any training, "
            "lessons or a loaded file (a fresh model can be drawn again): then a second press swaps them back. "
            "Every run stays in Your runs."
            if not ws.training
            else "Stop the run first.",
        )
        st.caption(
            "One model is kept: the next reset, loaded file, new network, run from scratch or Continue puts the "
            "model it replaces here instead (download one on the Train page to keep it for good)."
        )


def _bring_back(key: str, then: Callable[[Replaced], None] | None) -> None:
    old = session.workspace().replaced
    if old is None:  # a second tab brought it back first
        return
    try:
        session.replace_workspace(Workspace.from_replaced(old))
    except Refused as error:  # a run trains it, or another tab replaced it
        st.session_state[SAID + key] = str(error)
        return
    if then is not None:
        then(old)
    st.session_state[SAID + key] = f"Your model is back: {words.plain(described(old))}."
    session.changed()
