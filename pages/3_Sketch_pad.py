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
        seen.image(figures.data_url(digit.numpy()), caption="What the network sees (28 x 28)", width=140)
        verdict.markdown(
            f"<div style='font-size:6rem;line-height:1;font-weight:700' data-testid='prediction'>{best}</div>",
            unsafe_allow_html=True,
        )
        verdict.caption(
            f"Prediction, {probs[best]:.0%} sure" + (" (training: the latest weights)" if ws.training else "")
        )
        st.markdown(figures.probability_bars(probs.tolist()), unsafe_allow_html=True)
        with st.expander("What the convolution layers see", expanded=True):
            maps = feature_maps(model, x)
            st.image(
                figures.data_url(figures.picture(maps["conv1"], columns=6, diverging=False, cell_px=3)),
                caption="conv1 + ReLU: 6 maps of 30 x 30, white where a filter responds most",
            )
            st.image(
                figures.data_url(figures.picture(maps["conv2"], columns=8, diverging=False, cell_px=5)),
                caption="conv2 + ReLU: 16 maps of 13 x 13",
            )
