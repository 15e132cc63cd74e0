"""Train: SGD on real MNIST in a background thread, with a live loss chart."""

from dataclasses import asdict

import streamlit as st
import torch

from lenet import figures, session
from lenet.checkpoint import CheckpointError, checkpoint_bytes, read_checkpoint
from lenet.data import load_mnist
from lenet.evaluate import misclassified
from lenet.model import Net
from lenet.train import PRESETS, SCHEDULES, preset
from lenet.workspace import SLOTS

ws = session.page("Train", "📉")
st.title("Train")
st.caption(
    "Run SGD on the 60,000 MNIST training digits and watch the loss fall; each epoch ends with the 10,000 test digits."
)

FIELDS = ("epochs", "batch_size", "lr", "momentum", "nesterov", "weight_decay", "schedule", "seed")
BATCH_SIZES = [16, 32, 64, 128, 256, 512, 1024]
SUBSETS = {"all 60,000": 0, "10,000": 10_000, "1,000": 1_000}
DEVICES = ["auto", "cpu"] + ([torch.accelerator.current_accelerator().type] if torch.accelerator.is_available() else [])


def apply_preset() -> None:
    session.remember("preset")
    for name, value in asdict(PRESETS[st.session_state.remembered["preset"]]).items():
        if name in FIELDS:
            session.set_remembered(name, value)


def key(name: str) -> str:
    """A remembered widget's key, seeded from the preset's value the first time."""
    return session.remembered(name, getattr(PRESETS["fast"], name, None))


def on_change(name: str) -> dict:
    return {"on_change": session.remember, "args": (name,)}


running = ws.training
with st.container(border=True):
    c = st.columns(4)
    c[0].selectbox(
        "Preset",
        sorted(PRESETS),
        key=session.remembered("preset", "fast"),
        on_change=apply_preset,
        help="tutorial: plain SGD, lr 0.01, batch 64, as in PyTorch's tutorial. fast: about 99 % in 3 epochs.",
    )
    c[1].number_input("Epochs", 1, 30, key=key("epochs"), **on_change("epochs"))
    c[2].selectbox("Batch size", BATCH_SIZES, key=key("batch_size"), **on_change("batch_size"))
    c[3].selectbox(
        "Device",
        DEVICES,
        key=session.remembered("device", "auto"),
        help="auto: the machine's GPU or accelerator if it has one",
        **on_change("device"),
    )
    c = st.columns(4)
    c[0].number_input(
        "Learning rate",
        1e-4,
        10.0,
        key=key("lr"),
        format="%.4f",
        step=0.01,
        help="The peak rate with the onecycle schedule",
        **on_change("lr"),
    )
    c[1].number_input("Momentum", 0.0, 0.99, key=key("momentum"), step=0.05, **on_change("momentum"))
    c[2].selectbox("Schedule", SCHEDULES, key=key("schedule"), **on_change("schedule"))
    c[3].selectbox(
        "Training images", list(SUBSETS), key=session.remembered("subset", "all 60,000"), **on_change("subset")
    )
    with st.expander("More settings"):
        c = st.columns(3)
        c[0].checkbox("Nesterov momentum", key=key("nesterov"), **on_change("nesterov"))
        c[1].number_input(
            "Weight decay", 0.0, 0.1, key=key("weight_decay"), format="%.5f", step=1e-4, **on_change("weight_decay")
        )
        c[2].number_input("Seed", 0, 2**31 - 1, key=key("seed"), **on_change("seed"))
    start, stop, note = st.columns([1, 1, 4])
    if running:
        note.caption("One run at a time: Stop this one to start another. Other pages keep working meanwhile.")
    if start.button("Start", type="primary", disabled=running):
        settings = st.session_state.remembered
        try:
            config = preset(
                settings["preset"],
                device=settings["device"],
                train_subset=SUBSETS[settings["subset"]],
                **{name: settings[name] for name in FIELDS},
            )
            ws.start(config, load_mnist)
            st.rerun()
        except (ValueError, RuntimeError) as error:
            st.error(str(error))
    if stop.button("Stop", disabled=not running):
        ws.stop(wait=5)
        st.rerun()


@st.fragment(run_every=0.5 if running else None)
def live() -> None:
    """Redraws twice a second while a run goes; once the run ends, redraws the whole page."""
    if ws.run is None:
        st.info(
            "Press Start to train your model. It starts from pretrained weights (99 % test accuracy): to watch "
            "it learn from scratch, reset it to a random init at the bottom of this page first."
        )
        return
    run = ws.run.view()
    if running and not run.active:
        st.rerun()  # the run just ended: show the results and stop polling
    if run.state == "queued":
        training, _ = SLOTS.busy()
        st.info(
            f"Waiting for a training slot: you are number {SLOTS.place(ws.run) or 1} in line "
            f"({training} of {SLOTS.limit} runs are training on this server). Stop leaves the line."
        )
        return
    done = len(run.losses)
    st.progress(
        done / run.total_steps if run.total_steps else 0.0,
        text=f"{run.state}: epoch {run.epoch}/{run.config.epochs}, step {done}/{run.total_steps}",
    )
    m = st.columns(4)
    m[0].metric("Images/s", f"{run.images_per_second:,.0f}")
    left = run.seconds_left()
    m[1].metric("Time left", f"{left:.0f} s" if left is not None and run.active else "-")
    m[2].metric("Last loss", f"{run.losses[-1]:.4f}" if run.losses else "-")
    m[3].metric("Test accuracy", f"{run.epochs[-1]['test_accuracy']:.2%}" if run.epochs else "-")
    if run.losses:
        st.plotly_chart(figures.loss_chart(run.losses, run.steps_per_epoch), key="loss-chart")
    if run.epochs:
        st.dataframe(
            [
                {
                    "epoch": r["epoch"],
                    "train loss": r["train_loss"],
                    "test accuracy": r["test_accuracy"],
                    "seconds": r["seconds"],
                    "images/s": r["images_per_second"],
                }
                for r in run.epochs
            ],
            hide_index=True,
            column_config={"test accuracy": st.column_config.NumberColumn(format="percent")},
        )
    if run.state in ("stopped", "completed"):
        st.success(run.message)
    elif run.state in ("diverged", "failed"):
        st.error(run.message)


live()

run = ws.run
if run is not None and not run.active and run.evaluation is not None:
    st.subheader("Where the model is wrong")
    left, right = st.columns([1, 1], gap="large")
    left.plotly_chart(figures.confusion_heatmap(run.evaluation.confusion), key="confusion")
    mnist = load_mnist()
    wrong = misclassified(run.evaluation, mnist.test_images, mnist.test_labels, limit=24)
    right.caption(f"{len(wrong)} of the misclassified test digits: true label → prediction")
    if wrong:
        right.image(
            [figures.data_url(pixels.numpy()) for pixels, _, _ in wrong],
            caption=[f"{t} → {p}" for _, t, p in wrong],
            width=64,
        )

st.subheader("Checkpoint")
down, up = st.columns(2)
down.download_button(
    "Download this model",
    lambda: checkpoint_bytes(ws.inference_model(), history=ws.history),  # serialised only when clicked
    "lenet_mnist.pt",
    disabled=running,
    help="A plain PyTorch checkpoint: {'model', 'config', 'history'}",
)
upload = up.file_uploader("Load a checkpoint", type=["pt", "pth"], disabled=running)
if upload is not None and st.session_state.get("loaded_checkpoint") != upload.file_id:
    st.session_state.loaded_checkpoint = upload.file_id
    try:
        checkpoint = read_checkpoint(upload.getvalue(), Net())
        ws.load(checkpoint["model"], f"uploaded {upload.name}", checkpoint.get("history") or [])
        st.rerun()
    except CheckpointError as error:
        up.error(f"Your model is unchanged: {error}")
with st.expander("Reset the model"):
    to = st.radio("Reset to", ["pretrained", "random init"], horizontal=True)
    if st.button("Reset", disabled=running):
        session.reset(ws, to)
        st.rerun()
