"""Sketch pad: draw a digit, see what the session's model predicts and what its layers see."""

import numpy as np
import streamlit as st
from PIL import Image, UnidentifiedImageError
from streamlit_drawable_canvas import st_canvas

from lenet import figures, session
from lenet.inference import feature_maps, probabilities
from lenet.preprocess import NotADigit, prepare, read_image

ws = session.page("Sketch pad", "✏️")
st.title("Sketch pad")
st.caption("Draw a digit with your mouse or finger: the model reads it the way it read MNIST, 28 x 28 pixels, centred.")

draw, result = st.columns([1, 1], gap="large")
with draw:
    source = st.radio("Input", ["Draw", "Upload an image"], horizontal=True, label_visibility="collapsed")
    image, inverted = None, False
    if source == "Draw":
        st.space("small")  # the canvas toolbar floats above the canvas
        canvas = st_canvas(
            stroke_width=20,
            stroke_color="#FFFFFF",
            background_color="#000000",
            drawing_mode="freedraw",
            height=280,
            width=280,
            return_image_data=True,
            key="sketch",
        )
        image = canvas.image_data
    else:
        upload = st.file_uploader("A photo or scan of one digit", type=["png", "jpg", "jpeg", "bmp", "gif", "webp"])
        if upload is not None:
            try:
                image = read_image(upload.getvalue())
                inverted = True
            except (NotADigit, UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
                st.error(f"That file can't be used: {error}")

with result:
    try:
        if image is None:
            raise NotADigit("Nothing drawn yet: draw a digit.")
        digit, x = prepare(np.asarray(image), detect_inversion=inverted)
    except NotADigit as error:
        st.info(str(error))
    else:
        model = ws.inference_model()
        probs = probabilities(model, x)[0]
        best = int(probs.argmax())
        seen, verdict = st.columns([1, 2])
        seen.image(digit.numpy(), caption="What the network sees (28 x 28)", width=140, clamp=True)
        verdict.markdown(
            f"<div style='font-size:6rem;line-height:1;font-weight:700' data-testid='prediction'>{best}</div>",
            unsafe_allow_html=True,
        )
        verdict.caption(
            f"Prediction, {probs[best]:.0%} sure" + (" (training: the latest weights)" if ws.training else "")
        )
        st.plotly_chart(figures.probability_bars(probs.tolist()), key="probabilities")
        with st.expander("What the convolution layers see", expanded=True):
            maps = feature_maps(model, x)
            st.plotly_chart(
                figures.image_grid(maps["conv1"], columns=6, column_label="conv1 #", tile_px=70), key="conv1"
            )
            st.plotly_chart(figures.image_grid(maps["conv2"], columns=16, column_label="", tile_px=50), key="conv2")
