"""The app's pages, in the order of the sidebar: declared once, for app.py and for `session.page`."""

import streamlit as st
from streamlit.navigation.page import StreamlitPage


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
