"""Sketch pad: draw a digit, see what the session's model predicts and what its layers see."""

import streamlit as st

from lenet.network.inference import OutputNotFinite, read_digit
from lenet.network.preprocess import NotADigit, read_image
from lenet.network.strokes import BRUSH_PX
from lenet.ui import canvas, frame, html, learner, myhand, path, pictures, replay, session, timemachine, why, words

ws = frame.page("Sketch pad", "✏️")
st.title("Sketch pad")
st.caption("Draw a digit with your mouse or finger: the model reads it the way it read MNIST, 28 x 28 pixels, centred.")
timemachine.banner(timemachine.choose(ws).past)


@st.fragment
def drawing_and_reading() -> None:
    """Everything that depends on the drawing: a stroke reruns only this, not the sidebar or the controls
    above (mouse-up to prediction in a busy class, docs/measurements)."""
    session.redraw_if_changed()  # a lesson or a labelled digit: the sidebar too
    moment = timemachine.moment(ws)
    model = moment.model
    draw, result = st.columns([1, 1], gap="large")
    with draw:
        source = st.radio("Input", ["Draw", "Upload an image"], horizontal=True, label_visibility="collapsed")
        image, inverted, refused = None, False, ""
        if source == "Draw":
            try:
                image = canvas.sketch(BRUSH_PX)
            except NotADigit as error:
                refused = str(error)
            learner.keep()  # a stroke reruns only this fragment: the drawing is kept from here
        else:
            upload = st.file_uploader(
                "A photo or scan of one digit (PNG, JPEG, BMP, GIF or WebP)",
                type=["png", "jpg", "jpeg", "bmp", "gif", "webp"],
            )
            if upload is not None:
                try:
                    image, inverted = read_image(upload.getvalue()), True
                except NotADigit as error:
                    refused = f"That file can't be used: {error}"
        under_pad = st.empty()  # on a phone the reading is a screen below: its answer in a line, here

    with result:
        reading = None
        if not moment.in_past:
            why.start_working_out(ws, model)
        try:
            if refused:
                raise NotADigit(refused)
            if image is None:
                raise NotADigit("Nothing drawn yet: draw a digit.")
            # a single click leaves one brush-wide dot: a mark under two brush widths is not a digit
            reading = read_digit(model, image, detect_inversion=inverted, min_extent_px=0 if inverted else 2 * BRUSH_PX)
        except NotADigit as error:
            (st.error if refused else st.info)(words.plain(error))
        except OutputNotFinite as error:
            st.error(words.plain(error))
        else:
            digit_url = pictures.data_url(reading.digit.numpy())
            shown = html.reading(digit_url, reading.probabilities.tolist(), _verdict(moment))
            st.markdown(shown, unsafe_allow_html=True)
            under_pad.markdown(html.under_pad(reading.probabilities.tolist()), unsafe_allow_html=True)
            st.markdown(html.probability_bars(reading.probabilities.tolist()), unsafe_allow_html=True)
            with st.expander("What the convolution layers see", expanded=True):
                maps = reading.feature_maps
                act = model.arch.activation
                for layer, columns, cell_px, caption in [
                    (
                        "conv1",
                        6,
                        3,
                        f"conv1 + {act}: {words.maps(maps['conv1'].shape)}, white where a filter responds most",
                    ),
                    ("conv2", 8, 5, f"conv2 + {act}: {words.maps(maps['conv2'].shape)}"),
                ]:
                    shown = pictures.picture(maps[layer], columns=columns, diverging=False, cell_px=cell_px)
                    st.image(pictures.data_url(shown), caption=caption)
                    key = html.colour_key(pictures.full_scale(maps[layer]), "no response", "strongest", diverging=False)
                    st.markdown(key, unsafe_allow_html=True)
                st.image(
                    pictures.data_url(pictures.filters(model.conv1.weight)),
                    caption=f"conv1's {model.arch.conv1_channels} filters, which make those first maps",
                    width=300,
                )
                key = html.colour_key(pictures.full_scale(model.conv1.weight), "", "weight")
                st.markdown(key, unsafe_allow_html=True)

    if reading is not None:
        if moment.run is not None:
            replay.replay(moment.run, reading, ws.inference_model() if ws.carries_on(moment.run) else None)
        st.subheader("Why?")
        why.panels(ws, moment, reading)
    myhand.your_digits(ws, model, reading, past=moment.in_past)
    path.next_step(ws)


def _verdict(moment: timemachine.Moment) -> str:
    if moment.in_past:
        return f"the model after {moment.step:,} steps"
    return "training: the latest weights" if ws.training else "your model now"


drawing_and_reading()
