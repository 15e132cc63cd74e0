"""The app's pages, in the order of the sidebar: declared once, for app.py and for `frame.page`."""

import streamlit as st
from streamlit.navigation.page import StreamlitPage

# Streamlit decides once per process whether to run its older multipage mode (`run_as_declared`).
from streamlit.runtime.pages_manager import PagesManager


def declare() -> StreamlitPage:
    """Declare the pages (the sidebar shows them) and return the one the URL asks for."""
    return st.navigation(
        [
            st.Page("pages/0_Home.py", title="Home", icon="🧠", default=True),
            st.Page("pages/1_Train.py", title="Train", icon="📉", url_path="Train"),
            st.Page("pages/2_Architecture.py", title="Architecture", icon="🧩", url_path="Architecture"),
            st.Page("pages/3_Sketch_pad.py", title="Sketch pad", icon="✏️", url_path="Sketch_pad"),
        ]
    )


def run_as_declared() -> None:
    """Run every page as app.py declares it, never through Streamlit's first multipage mode.

    The project keeps its pages in `pages/` beside app.py. Streamlit 1.67 reads that as its first
    multipage mode, once per process, before any of the app's code runs: its first session sets
    `PagesManager.uses_pages_directory` when the folder exists, and from then on runs a requested
    page file directly, with a sidebar made from the file names, until a run of app.py calls
    `st.navigation` (which clears the flag). No setting turns the mode off, and a shared deep link
    (`/Train`) never runs app.py. So each page starts here: run that way, it clears the flag and
    hands this run to the declared pages, as app.py would, then stops. The browser test of deep
    links on a fresh server checks it; tests/test_structure.py checks the flag is still there.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        declare().run()
        st.stop()
