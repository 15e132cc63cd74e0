"""The Sketch pad's "Teach it" panel: the tutorial's training step, once, on the learner's drawing."""

import streamlit as st
import torch

from lenet.network.data import from_network_input
from lenet.network.inference import Reading
from lenet.service.undo import UNDO_LESSONS
from lenet.service.workspace import Refused, Workspace
from lenet.ui import html, pictures, session, words

LEARNING_RATES = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
TUTORIAL_LR = 0.01


def _teach(label: int, lr: float, x: torch.Tensor) -> None:
    try:
        lesson = session.workspace().teach(x, label, lr)
        st.session_state.lesson = lesson, pictures.data_url(from_network_input(x)[0].numpy())
        session.changed()
    except Refused as error:
        st.session_state.lesson_refused = str(error)


def _undo() -> None:
    try:
        session.workspace().undo_lesson()
        st.session_state.pop("lesson", None)
        session.changed()
    except Refused as error:
        st.session_state.lesson_refused = str(error)


def teach_it(ws: Workspace, reading: Reading) -> None:
    if refused := st.session_state.pop("lesson_refused", None):
        st.warning(words.plain(refused))
    if ws.training:
        st.info(
            "A run is training this model: a step on your drawing would be overwritten by its next steps. "
            "Teach it when the run has ended (or stop it on the Train page)."
        )
    # no key, and no digit chosen: a step towards the model's own answer teaches it nothing it does not say
    label = st.selectbox(
        "It is really a",
        range(10),
        index=None,
        placeholder=f"the true digit (it reads {reading.prediction})",
        help="Choose what you meant: the step pulls the model towards it. Choose a wrong one, and see what that does.",
    )
    lr = st.select_slider(
        "Learning rate", LEARNING_RATES, value=TUTORIAL_LR, key="teach_lr", help="The tutorial uses 0.01."
    )
    st.code(
        f"optimizer = optim.SGD(net.parameters(), lr={lr})\n"
        "optimizer.zero_grad()\n"
        "output = net(input)  # your drawing, as the network sees it\n"
        f"loss = nn.CrossEntropyLoss()(output, torch.tensor([{'?' if label is None else label}]))\n"
        "loss.backward()\n"
        "optimizer.step()",
        language="python",
        wrap_lines=True,  # a phone's width
    )
    teach, undo = st.columns(2)
    teach.button(
        "Teach it: one SGD step",
        type="primary",
        on_click=_teach,
        args=(label, lr, reading.x),
        disabled=ws.training or label is None,
    )
    undo.button("Undo the last step", on_click=_undo, disabled=not ws.can_undo_lesson)
    if "lesson" in st.session_state and ws.lessons:  # a reset or a loaded model has had none
        lesson, digit_url = st.session_state.lesson
        was, now = lesson.before[lesson.label], lesson.after[lesson.label]
        st.markdown(
            f"<img src='{digit_url}' alt='the digit taught' style='width:56px;height:56px;image-rendering:pixelated;"
            f"vertical-align:middle'> **One step with lr = {lesson.lr} on this digit**: the loss was "
            f"{lesson.loss:.3g}; the probability of {lesson.label} went from {_percent(was)} to {_percent(now)}.",
            unsafe_allow_html=True,
        )
        tested_before, tested_after = lesson.tested
        st.markdown(
            f"On 1,000 test digits it never trained on: **{tested_before:.1%} → {tested_after:.1%}**. "
            + (
                "One step on one digit barely moves what it learned from its training digits."
                if abs(tested_after - tested_before) < 0.005
                else "One step on one digit moved what it learned from its training digits: every digit it reads "
                "goes through the same weights."
            )
        )
        before, after = st.columns(2)
        before.caption("Before the step")
        before.markdown(html.probability_bars(lesson.before.tolist(), "before-lesson"), unsafe_allow_html=True)
        after.caption("After it")
        after.markdown(html.probability_bars(lesson.after.tolist(), "after-lesson"), unsafe_allow_html=True)
        st.table(
            [
                {
                    "layer": name,
                    "gradient size (L2 norm)": f"{norm:.3g}",
                    "step size (lr x it)": f"{lesson.lr * norm:.3g}",
                }
                for name, norm in lesson.gradient_norms.items()
            ],
            hide_index=True,
        )
    if ws.lessons:
        st.caption(
            f"Your model has had {ws.lessons} such step(s) on your drawings; Undo takes back up to the last "
            f"{UNDO_LESSONS}, and a training run keeps them."
        )


def _percent(probability: float) -> str:
    """Enough digits to see a small step: 0.012 %, 42.3 %, 99.97 %."""
    if probability < 0.001 or probability > 0.999:
        return f"{probability:.3%}"
    return f"{probability:.1%}"
