"""The Sketch pad's "Your digits": label drawings into the session's own set, see how the model reads
them, keep the set as a file, and teach the model the learner's hand."""

import hashlib

import streamlit as st

from lenet.network.handwriting import MAX_SET_FILE_BYTES, MIN_FOR_ACCURACY, DigitSet, DigitSetError, SetFull
from lenet.network.inference import Reading
from lenet.network.model import Net
from lenet.service.finetune import teach_my_hand
from lenet.service.workspace import Refused, Workspace
from lenet.ui import html, pictures, session, words

SHOWN = 120  # the latest digits in the gallery; the accuracy counts them all
SPLIT = "hand_split"  # the last "teach it my hand": its run's id, the digits taught and those kept out


def your_digits(ws: Workspace, model: Net, reading: Reading | None, past: bool) -> None:
    with st.container(key="your-digits"):
        _your_digits(ws, model, reading, past)


def _your_digits(ws: Workspace, model: Net, reading: Reading | None, past: bool) -> None:
    st.subheader("Your digits")
    st.caption(
        "MNIST is 1990s American handwriting. Label your drawings to make your own test set: how well does "
        f"the model read *your* hand? Its accuracy on them shows from {MIN_FOR_ACCURACY} digits on."
    )
    if reading is not None:
        label, add = st.columns([1, 2], vertical_alignment="bottom")
        # a widget per drawing, so each starts at what the model says, not at the label of the one before
        key = "my_digit_label_" + hashlib.sha1(reading.digit.numpy().tobytes()).hexdigest()[:12]
        label.selectbox("This is a", range(10), index=reading.prediction, key=key)
        add.button("Add to my digits", on_click=_add, args=(ws, reading, key))
    if error := st.session_state.pop("my_digits_error", None):
        st.error(words.plain(error))
    if len(ws.digits):
        _the_set(ws, model)
    _keep(ws)
    _teach(ws, past)


def _then_redraw(change, *args: object) -> None:
    """A change to the learner's digits, which the sidebar counts too."""
    change(*args)
    session.changed()


def _add(ws: Workspace, reading: Reading, key: str) -> None:
    try:
        ws.digits.add(reading.digit, st.session_state[key])
        session.changed()
    except SetFull as error:
        st.session_state["my_digits_error"] = str(error)
    except ValueError:  # a label no option holds, sent by a client instead of the select box
        st.session_state["my_digits_error"] = "Choose the digit it is from the list."


def _the_set(ws: Workspace, model: Net) -> None:
    read = ws.hand_accuracy(model, at_least=1)  # worked out once per set and weights, not on every rerun
    labels = ws.digits.labels.tolist()
    if read.total >= MIN_FOR_ACCURACY:
        mine, mnist = st.columns(2)
        plain = {"delta_color": "off", "delta_arrow": "off"}
        mine.metric("Your digits", f"{read.accuracy:.0%}", f"{read.right} of {read.total} right", **plain)
        if ws.last_accuracy is not None:
            mnist.metric("MNIST test digits", f"{ws.last_accuracy:.2%}", "10,000 digits", **plain)
        st.markdown(html.confusion_table(read.confusion, "my-confusion"), unsafe_allow_html=True)
    else:
        st.caption(f"{read.total} so far: {MIN_FOR_ACCURACY - read.total} more, and their accuracy shows.")
    start = max(0, read.total - SHOWN)
    st.markdown(
        html.gallery(
            [
                (
                    pictures.data_url(ws.digits.pixels[i].numpy()),
                    f"#{i + 1}: a {labels[i]}, read {read.predictions[i]}"
                    + ("" if labels[i] == read.predictions[i] else " ✗"),
                )
                for i in range(start, read.total)
            ],
            size_px=56,
            testid="my-digits",
        ),
        unsafe_allow_html=True,
    )
    which, delete, clear = st.columns([1, 1, 1], vertical_alignment="bottom")
    number = which.selectbox("Digit #", range(1, read.total + 1), index=read.total - 1)
    delete.button("Delete it", on_click=_then_redraw, args=(ws.digits.remove, number - 1))
    clear.button("Clear all", on_click=_then_redraw, args=(ws.digits.clear,))


def _keep(ws: Workspace) -> None:
    down, up = st.columns(2)
    down.download_button(
        "Download my digits",
        ws.digits.to_npz,
        "my_digits.npz",
        disabled=not len(ws.digits),
        help="A .npz file: digits, (N, 28, 28) uint8, and labels; numpy.load reads it.",
    )
    upload = up.file_uploader(
        "Load a set of digits",
        type=["npz"],
        help="Replaces your digits with the file's.",
        max_upload_size=MAX_SET_FILE_BYTES // 2**20,
    )
    if upload is not None and st.session_state.get("loaded_digits") != upload.file_id:
        st.session_state.loaded_digits = upload.file_id
        try:
            loaded = DigitSet.from_npz(upload.getvalue())
        except DigitSetError as error:
            up.error(words.plain(f"Your digits are unchanged: {error}"))
        else:
            ws.digits.replace_with(loaded)
            st.rerun()


def _teach(ws: Workspace, past: bool) -> None:
    ready = len(ws.digits) >= MIN_FOR_ACCURACY and not ws.training and not past
    if st.button(
        "Teach it my hand",
        disabled=not ready,
        help="A short run on your model: 20,000 MNIST digits (half of them written in your style) and two thirds "
        f"of yours, each of those many times, all changed at random. It needs {MIN_FOR_ACCURACY} digits, the latest "
        "weights, and no run going.",
    ):
        try:
            run, taught, new = teach_my_hand(ws)
            st.session_state[SPLIT] = run.id, taught, new
            st.rerun()
        except (ValueError, Refused) as error:
            st.error(words.plain(error))
    st.caption(
        "A third of your digits are kept out of the lesson. On the digits it was taught, a model can do well by "
        "remembering them; only the new ones, which it never saw, show whether it learned to read your hand."
    )
    report(ws)


def report(ws: Workspace) -> None:
    """Before and after the last "teach it my hand", once it has ended; while it trains, where it is."""
    run = ws.run
    if run is None or run.hand_before is None:
        return
    before = run.hand_before
    if run.active:
        st.info("Teaching it your hand: the run trains (the Train page shows it).")
        return
    split = st.session_state.get(SPLIT)
    if run.end_accuracy is None or split is None or split[0] != run.id:
        st.warning(words.plain(f"Teaching it your hand ended: {run.message}"))
        return
    _, taught, new = split
    model = ws.inference_model()
    after = session.last(SPLIT + "-read", (run.id, model), lambda: (taught.read_by(model), new.read_by(model)))
    rows = [
        (f"the {len(taught)} digits it was taught", f"{before['taught']:.0%}", f"{after[0].accuracy:.0%}"),
        (
            f"{len(new)} new digits of your hand, never taught",
            f"{before['new']:.0%}" if len(new) else "none kept out",
            f"{after[1].accuracy:.0%}" if len(new) else "none kept out",
        ),
        ("MNIST's 10,000 test digits", f"{before['mnist']:.2%}", f"{run.end_accuracy:.2%}"),
    ]
    st.table([{"read right": what, "before": was, "after": now} for what, was, now in rows], hide_index=True)
    if len(new) < MIN_FOR_ACCURACY:
        st.caption(f"{len(new)} new digits say little: label more of your digits for a measure that holds.")
