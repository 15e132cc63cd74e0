"""Home: where to start (the path through the app), and what else there is."""

import streamlit as st

from lenet.ui import frame, path

frame.light_page("Home", "🧠")

st.title("Learn how a convolutional network is trained")
st.markdown(
    "This app trains **LeNet**, the small network of PyTorch's *Neural Networks* tutorial, on the real "
    "**MNIST** handwritten digits, and lets you watch what training does, down to your own drawing."
)
st.subheader("Start here: five steps")
st.caption("Each step ticks itself once you have done it; click one to go to its page.")
path.show(st.session_state.get("workspace"))

st.subheader("Also in the app")
st.markdown(
    "- **Train**: the live loss chart, where the model is wrong, runs side by side, checkpoints to download.\n"
    "- **Architecture**: `print(net)`, every step of `forward()` with its shape, the filters, and the "
    "tutorial's one training step.\n"
    "- **Sketch pad**: what the convolutions see, the time machine (your model at any step of a run), "
    "and *Your digits*: label your drawings, measure the model on your hand, teach it."
)
st.caption(
    "Your model is your own: every page and tab of this browser works on the same model, which starts "
    "from pretrained weights. Your drawing stays until you clear it, and your work is kept for this "
    "browser: a reload gives it back."
)
with st.expander("For a teacher: one link for a class"):
    st.markdown(
        "Share this page's address. Each student gets a model of their own; nothing one does reaches "
        "another. Let the class follow the five steps. When many train at once the server has the runs take "
        "turns, and each Train page says when theirs goes on (the path's run, 1 epoch of the tutorial preset "
        "on 60,000 digits, trains in 10-20 s alone on a 2-core server and reaches 87-91 %). Ask them to "
        "compare their run with a neighbour's with the same start seed: the same seed gives bit for bit the "
        "same first weights."
    )
