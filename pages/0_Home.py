"""Home: what the app does, and a link to each page."""

import streamlit as st

from lenet.ui import frame

frame.light_page("Home", "🧠")

st.title("Learn how a convolutional network is trained")
st.markdown(
    "This app trains **LeNet**, the small network of PyTorch's *Neural Networks* tutorial, on the real "
    "**MNIST** handwritten digits. **Train** it and watch the loss fall live, look inside its "
    "**Architecture**, and test it on digits you draw on the **Sketch pad**."
)
st.caption(
    "Your model is your own: every page of this browser tab works on the same copy, "
    "which starts from pretrained weights."
)
st.page_link("pages/1_Train.py", label="Train: run SGD on MNIST with a live loss chart", icon="📉")
st.page_link("pages/2_Architecture.py", label="Architecture: the layers, their shapes and filters", icon="🧩")
st.page_link("pages/3_Sketch_pad.py", label="Sketch pad: draw a digit and see what the model thinks", icon="✏️")
