"""The Sketch pad's "why" panels for one reading: where the model looked, which training digits it
finds alike, what if the digit changed, how little fools it, and one SGD step on the drawing."""

import contextlib
import math

import streamlit as st
import torch

from lenet.explain.evidence import evidence, fool, nearest_training_digits, smallest_fooling_epsilon
from lenet.explain.likeness import REPRESENTATIONS, RepresentationsUnavailable, searched
from lenet.explain.whatif import KNOB, KNOBS, neutral, what_if
from lenet.network.data import from_network_input, load_mnist, to_pixels
from lenet.network.inference import OutputNotFinite, Reading
from lenet.network.model import Net
from lenet.service.workspace import Workspace
from lenet.ui import html, lesson, path, pictures, session, words
from lenet.ui.timemachine import Moment

TABS = ("Where it looked", "What it finds alike", "What if", "Fool it", "Teach it")
NEIGHBOURS = 8


def panels(ws: Workspace, moment: Moment, reading: Reading) -> None:
    """All five as tabs under the prediction; only the open one is computed and sent. All five sent
    every run put plotly's script (the what-if chart) before the first prediction of each browser
    tab: mouse-up to prediction went from 0.8 to 1.6 s in the classroom scenario.
    For a model of the past (the time machine), the look-alikes and the lesson wait for the latest weights."""
    model, past = moment.model, moment.in_past
    if st.session_state.get("why_tab", TABS[0]) != TABS[0]:  # a tab the learner opened
        path.mark("why")
    draw = (
        lambda: where_it_looked(model, reading, _shared_scale(moment, reading)),
        lambda: _latest_only("The training digits it finds alike") if past else what_it_finds_alike(ws, model, reading),
        lambda: what_if_panel(model, reading),
        lambda: fool_it(model, reading),
        lambda: _latest_only("A lesson") if past else lesson.teach_it(ws, reading),
    )
    for tab, panel in zip(st.tabs(TABS, key="why_tab", on_change="rerun"), draw, strict=True):
        if tab.open:
            with tab:
                panel()


def _latest_only(what: str) -> None:
    st.info(f"{what}: for your model's latest weights only. Move the time machine's slider to *now*.")


def start_working_out(ws: Workspace, model: Net) -> None:
    """Queue the training set's representations for these weights as the page opens, so they are
    usually there by the time the first digit is drawn."""
    if not ws.training:
        with contextlib.suppress(RepresentationsUnavailable):  # the panel says why, once there is a digit
            REPRESENTATIONS.lookup(model)


SCALE = "why_scale"  # the last colour scale of a run's steps worked out in this session


def _shared_scale(moment: Moment, reading: Reading) -> float | None:
    """The colour scale every step of the moment's run shares on this drawing: the largest push of the
    run's last snapshot for its own answer and runner-up, so a random network's faint evidence looks
    faint beside a trained one's; None without a run."""
    snapshots = moment.run.kept_snapshots() if moment.run is not None else ()
    if not snapshots:
        return None

    def scale() -> float:
        reference = snapshots[-1].model()
        with torch.inference_mode():
            top = reference(reading.x)[0].topk(2).indices.tolist()
        return pictures.full_scale(evidence(reference, reading.x, tuple(top)))

    return session.last(SCALE, (moment.run.id, snapshots[-1].step, reading.fingerprint), scale)


def where_it_looked(model: Net, reading: Reading, shared_scale: float | None = None) -> None:
    """Integrated gradients for the answer and the runner-up, on one colour scale: their own largest value,
    or, with a run, the one every step of the run shares (`_shared_scale`)."""
    digits = {
        reading.prediction: "its answer" if reading.answered else "the likeliest",
        reading.runner_up: "the runner-up",
    }
    try:
        shares = evidence(model, reading.x, tuple(digits))
        scale = pictures.full_scale(shares) if shared_scale is None else shared_scale
    except OutputNotFinite as error:
        st.warning(words.plain(error))
        return
    st.markdown(
        html.gallery(
            [
                (
                    pictures.data_url(pictures.attribution(reading.digit, share, scale)),
                    f"for {digit}, {role} ({reading.probabilities[digit]:.0%}): adds up to {share.sum():+.1f}",
                )
                for (digit, role), share in zip(digits.items(), shares, strict=True)
            ],
            size_px=168,
            testid="attributions",
        ),
        unsafe_allow_html=True,
    )
    st.markdown(html.colour_key(scale, "lowered its score", "raised it"), unsafe_allow_html=True)
    st.caption(
        "Blue pixels raised the digit's score, red ones lowered it; the stronger the colour, the bigger the push. "
        "Each map adds up to how much more the digit scores on your drawing than on a blank canvas "
        "(integrated gradients: the score's slope, averaged from black to your drawing, times each pixel's ink). "
        + (
            f"Full colour = ±{scale:.3g}, the largest push of the run's last weights: every step of the run "
            "shares this scale, so faint means weak."
            if shared_scale is not None
            else f"Full colour = ±{scale:.3g}, the largest push here."
        )
    )


def what_it_finds_alike(ws: Workspace, model: Net, reading: Reading) -> None:
    if ws.training:
        st.info(
            "While your model trains, every step changes how it sees digits: the training digits it finds "
            "alike come back when the run ends."
        )
        return
    try:
        nearest = nearest_training_digits(model, reading.x, NEIGHBOURS, wait=False)
    except RepresentationsUnavailable as error:
        st.warning(f"The training digits it finds alike can't be shown here.\n\n{words.plain(error)}")
        return
    if nearest is None:
        st.fragment(_waiting_for_alike, run_every=1.0)(model)
        return
    indices, labels = nearest
    images = to_pixels(load_mnist().train_images[indices])
    agree = int((labels == reading.prediction).sum())
    st.markdown(
        f"**It looks most like these**: the {NEIGHBOURS} training digits{among(model)} nearest to your drawing in the "
        f"{model.arch.fc2_units} numbers "
        "`fc2` passes on (the network's own summary of a digit, just before `fc3` turns it into ten scores), "
        f"nearest first. {agree} of them are {reading.prediction}s."
    )
    st.markdown(
        html.gallery(
            [
                (pictures.data_url(image.numpy()), f"a {label} (#{index:,})")
                for image, label, index in zip(images, labels.tolist(), indices.tolist(), strict=True)
            ],
            size_px=84,
            testid="alike",
        ),
        unsafe_allow_html=True,
    )


def among(model) -> str:
    """ ", among the first 8,780" where a heavy network searches fewer than all 60,000 training digits."""
    count = searched(model.arch)
    return f" (among the first {count:,}: a network this heavy reads no more)" if count < 60_000 else ""


def _waiting_for_alike(model: Net) -> None:
    """Polls until the training set's representations for these weights are there, then redraws the page."""
    try:
        ready = REPRESENTATIONS.lookup(model) is not None
    except RepresentationsUnavailable:
        ready = True  # the page says why
    if ready:
        st.rerun()
    ahead = REPRESENTATIONS.pending() - 1
    st.info(
        "Working out how your model sees its 60,000 training digits, once for these weights (a few seconds"
        + (f"; other models first: {ahead} ahead of yours" if ahead > 0 else "")
        + ")..."
    )


def _reset_knobs() -> None:
    for name, value in neutral().items():
        st.session_state[f"whatif_{name}"] = value


def what_if_panel(model: Net, reading: Reading) -> None:
    knobs, result = st.columns([1, 1], gap="large")
    with knobs:
        for name, value in neutral().items():  # the start values live in the session state, as Reset sets them
            st.session_state.setdefault(f"whatif_{name}", value)
        settings = {
            knob.name: st.slider(
                knob.label,
                knob.low,
                knob.high,
                step=knob.step,
                format=f"%.{max(0, -math.floor(math.log10(knob.step)))}f{knob.unit}",
                key=f"whatif_{knob.name}",
            )
            for knob in KNOBS
        }
        st.button("Back to the digit as drawn", on_click=_reset_knobs)
        swept = st.selectbox(
            "Chart each digit's probability across",
            [k.name for k in KNOBS],
            format_func=lambda name: KNOB[name].label,
            key="whatif_swept",
        )
    changed = what_if(model, reading.digit, settings, swept)
    with result:
        st.markdown(
            html.reading(
                pictures.data_url(changed.digit.numpy()),
                changed.probabilities.tolist(),
                "for the digit changed as the sliders say",
                "whatif-",
            ),
            unsafe_allow_html=True,
        )
        st.markdown(
            html.probability_bars(changed.probabilities.tolist(), "whatif-probabilities"), unsafe_allow_html=True
        )
    knob = changed.knob
    st.markdown(
        html.sweep_chart(
            changed.values.tolist(), changed.sweep.tolist(), settings[swept], knob.label, knob.unit.strip()
        ),
        unsafe_allow_html=True,
    )
    st.caption(
        f"One batch of {len(changed.values)} changed digits, the other sliders as they are: "
        "where the lines cross, the model changes its mind."
    )


def fool_it(model: Net, reading: Reading) -> None:
    targets = [d for d in range(10) if d != reading.prediction]
    target = st.selectbox("Make it say", targets, index=targets.index(reading.runner_up))
    smallest = smallest_fooling_epsilon(model, reading.x, target)
    start = min(1.0, math.ceil(smallest * 100) / 100) if smallest is not None else 0.1
    epsilon = st.slider("ε: the most any pixel may change, as a share of full brightness", 0.0, 1.0, start, 0.01)
    fooled = fool(model, reading.x, target, epsilon)
    said = int(fooled.probabilities.argmax())
    st.markdown(
        html.gallery(
            [
                (
                    pictures.data_url(from_network_input(fooled.x)[0].numpy()),
                    f"changed: it says {said} ({fooled.probabilities[said]:.0%})",
                ),
                (
                    pictures.data_url(pictures.picture(fooled.change[None], 1, diverging=True, cell_px=1)),
                    "the change: blue brighter, red darker",
                ),
                (pictures.data_url(reading.digit.numpy()), f"your digit: {reading.prediction}"),
            ],
            size_px=140,
            testid="fooled",
        ),
        unsafe_allow_html=True,
    )
    st.markdown(html.colour_key(pictures.full_scale(fooled.change), "darker", "brighter"), unsafe_allow_html=True)
    st.markdown(_fooling_sentence(smallest, target), unsafe_allow_html=False)
    st.caption(
        "A targeted attack: one step of the fast gradient sign method (every pixel moved by ε, each the way "
        "that lowers the loss for the chosen digit: the sign of its gradient), then five smaller steps, each "
        "pixel kept within ε of your drawing."
    )


def _fooling_sentence(smallest: float | None, target: int) -> str:
    if smallest is None:
        return f"No change of the pixels made it say {target}."
    levels = round(smallest * 255)
    if smallest <= 0.15:
        return (
            f"**ε = {smallest:.3f}** ({levels} of 255 grey levels per pixel) is the smallest change that makes it say "
            f"{target} (the slider starts just above it): a change you can hardly see. The model adds up small "
            "evidence from every pixel; nudging many pixels a little, each the way that helps most, adds up to a lot."
        )
    return (
        f"**ε = {smallest:.3f}** ({levels} of 255 grey levels per pixel) is the smallest change that makes it say "
        f"{target} (the slider starts just above it): a change you can see, so on this digit the model is hard "
        "to fool."
    )
