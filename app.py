"""The app: `streamlit run app.py`. Its pages, in the order of the sidebar; each page is a file in pages/."""

import streamlit as st

st.navigation(
    [
        st.Page("pages/0_Home.py", title="Home", icon="🧠", default=True),
        st.Page("pages/1_Train.py", title="Train", icon="📉", url_path="Train"),
        st.Page("pages/2_Architecture.py", title="Architecture", icon="🧩", url_path="Architecture"),
        st.Page("pages/3_Sketch_pad.py", title="Sketch pad", icon="✏️", url_path="Sketch_pad"),
    ]
).run()
