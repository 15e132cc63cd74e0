"""Train: SGD on real MNIST in a background thread, with a live loss chart."""

import streamlit as st

from lenet.service.runs import expected_wait_s, place_in_line, wall_seconds_left
from lenet.service.slots import SLOTS, run_steps
from lenet.service.workspace import Refused, Workspace
from lenet.store.checkpoint import MAX_CHECKPOINT_BYTES, CheckpointError
from lenet.store.records import RunState
from lenet.training import advice
from lenet.ui import bring_back, charts, compare, frame, myhand, path, pictures, remembered, session, words
from lenet.ui.settings_form import chosen_config, settings_form

ws = frame.page("Train", "📉")
st.title("Train")
st.caption(
    "Run SGD on MNIST's training digits (as many as *Training images* says, of 60,000) and watch the loss fall; "
    "each epoch ends with a test on the 10,000 test digits, which the network never trains on."
)

running = ws.training
FROM_SCRATCH, KEEP_TRAINING = "from scratch: new random weights", "keep training this model"
with st.container(border=True):
    settings_form()
    where, seed = st.columns([3, 1], vertical_alignment="bottom")
    where.radio(
        "Start from",
        [FROM_SCRATCH, KEEP_TRAINING],
        key=remembered.remembered("start_from", FROM_SCRATCH),  # only the learner changes it
        on_change=remembered.remember,
        args=("start_from",),
        horizontal=True,
        disabled=running,
        help="From scratch, the loss falls from about 2.3 and the accuracy climbs from 10 %. Keep training "
        "goes on from the weights your model has now.",
    )
    start_from = remembered.remembered_values()["start_from"]
    seed.number_input(
        "Start seed",
        0,
        2**31 - 1,
        key=remembered.remembered("init_seed", 0),
        on_change=remembered.remember,
        args=("init_seed",),
        disabled=running or start_from != FROM_SCRATCH,
        help="Draws the first weights of a run from scratch: the same seed, bit for bit the same start, "
        "so two runs compare their settings, not their luck.",
    )
    try:
        steps = run_steps(chosen_config())
    except ValueError:  # a typed value out of range: Start says so
        steps = None
    if start_from == FROM_SCRATCH and steps is not None and (few := advice.too_few_steps(steps)):
        st.warning(few)
    start, stop, note = st.columns([1, 1, 4])
    if running:
        note.caption("One run at a time: Stop this one to start another. Other pages keep working meanwhile.")
    if start.button("Start", type="primary", disabled=running):
        try:
            init_seed = int(remembered.remembered_values()["init_seed"])
            session.start_training(chosen_config(), from_scratch=start_from == FROM_SCRATCH, init_seed=init_seed)
            st.rerun()
        except (ValueError, Refused) as error:
            st.error(words.plain(error))
    if stop.button("Stop", disabled=not running):
        ws.stop(wait=5)
        st.rerun()


# A run waiting for its turn changes nothing to draw: its chart is drawn once, and only the line
# that says where it stands is redrawn (a class's paused runs redrawing their charts twice a second
# halved the server's training throughput).
waits = running and ws.run.state == RunState.QUEUED


@st.fragment(run_every=1.0 if waits else None)
def turn() -> None:
    """While the run waits: its place in line, each second; once its turn comes or it ends, the whole page."""
    if not waits:
        return
    run = ws.run.view()
    if run.state != RunState.QUEUED:
        st.rerun()
    training, waiting = SLOTS.busy()
    wait = words.duration(expected_wait_s(ws.run))
    place = place_in_line(ws.run) or 1
    st.info(
        f"Taking turns: {training + waiting} runs share this server's {SLOTS.limit} training slot"
        f"{'s' * (SLOTS.limit != 1)}, each training {SLOTS.turn_s:.0f} s at a time. Yours goes on in about "
        f"{wait} (number {place} in line)."
        if run.losses
        else f"Waiting for a training slot: you are number {place} in line, about {wait} to go "
        f"({training} of {SLOTS.limit} runs are training on this server; runs take turns of "
        f"{SLOTS.turn_s:.0f} s while others wait). Stop leaves the line."
    )


@st.fragment(run_every=0.5 if running and not waits else None)
def live() -> None:
    """Redraws twice a second while a run trains; once the run ends, or has to wait for its turn,
    redraws the whole page."""
    if ws.run is None:
        st.info(
            "Press Start to train. From scratch, watch a random network learn to read digits; or keep "
            "training this model (the one the sidebar describes: at first the pretrained weights, 99 % test accuracy)."
        )
        return
    run = ws.run.view()
    if running and not waits and (not run.active or run.state == RunState.QUEUED):
        st.rerun()  # the run just ended (show the results, stop polling) or waits for its turn
    if run.state == RunState.QUEUED and not run.losses:
        return
    done = len(run.losses)
    st.progress(
        done / run.total_steps if run.total_steps else 0.0,
        text=f"{run.state}: epoch {run.epoch}/{run.config.epochs}, step {done}/{run.total_steps}",
    )
    m = st.columns(4)
    m[0].metric("Images/s", f"{run.images_per_second:,.0f}")
    left = wall_seconds_left(run)
    m[1].metric("Time left", words.duration(left) if left is not None and run.active else "-")
    m[2].metric("Last loss", f"{run.losses[-1]:.4f}" if run.losses else "-")
    accuracy = run.evaluation.accuracy if run.evaluation is not None else None  # the last epoch's, or the end's
    m[3].metric("Test accuracy", f"{accuracy:.2%}" if accuracy is not None else "-")
    if run.losses:
        st.plotly_chart(
            charts.loss_chart(run.losses, run.steps_per_epoch, run.accuracy_points, run.loss_stride),
            key="loss-chart",
            config=charts.NO_TOOLBAR,
        )
        st.caption(
            "Green: the accuracy on 1,000 fixed test digits at each snapshot the run keeps (steps 0, 1, 2, 4, 8, ... "
            "and each epoch's end); scrub through them on the Sketch pad and the Architecture page."
        )
    if run.epochs:
        st.dataframe(
            [
                {
                    "epoch": r.epoch,
                    "train loss": r.train_loss,
                    "test accuracy": r.test_accuracy,
                    **({"your digits": run.hand_at(r)} if run.hand_by_epoch else {}),
                    "seconds": r.seconds,
                    "images/s": r.images_per_second,
                }
                for r in run.epochs
            ],
            hide_index=True,
            column_config={
                "train loss": st.column_config.NumberColumn(format="%.3f", help="the epoch's mean step loss"),
                "test accuracy": st.column_config.NumberColumn(
                    format="percent", help="on the 10,000 test digits, never trained on"
                ),
                "your digits": st.column_config.NumberColumn(format="percent"),
                "seconds": st.column_config.NumberColumn(format="%.1f"),
                "images/s": st.column_config.NumberColumn(format="%,.0f"),
            },
        )
    myhand.report(ws)
    stuck = advice.why_it_guesses(run.config, done, run.evaluation.accuracy) if run.evaluation else None
    if run.state in (RunState.STOPPED, RunState.COMPLETED):
        (st.warning if stuck else st.success)(words.plain(run.message) + (f"\n\n{stuck}" if stuck else ""))
    elif run.state in (RunState.DIVERGED, RunState.FAILED):
        st.error(words.plain(run.message))


turn()
live()

if ws.run is not None and not ws.run.active and ws.run.evaluation is not None:
    st.subheader("Where the model is wrong")
    left, right = st.columns([1, 1], gap="large")
    left.plotly_chart(charts.confusion_heatmap(ws.run.evaluation.confusion), key="confusion", config=charts.NO_TOOLBAR)
    wrong = ws.misclassified(limit=24)
    right.caption(f"{len(wrong)} of the misclassified test digits: true label → prediction")
    if wrong:
        right.image(
            [pictures.data_url(pixels.numpy()) for pixels, _, _ in wrong],
            caption=[f"{t} → {p}" for _, t, p in wrong],
            width=64,
        )

compare.your_runs(ws)

st.subheader("Checkpoint")
down, up = st.columns(2)
down.download_button(
    "Download this model",
    ws.download,  # serialised only when clicked
    "lenet_mnist.pt",
    disabled=running,
    help="A plain PyTorch checkpoint: {'model', 'config', 'history', 'runs'}; your runs come back with it.",
)
upload = up.file_uploader(
    "Load a checkpoint", type=["pt", "pth"], disabled=running, max_upload_size=MAX_CHECKPOINT_BYTES // 2**20
)
if upload is not None and st.session_state.get("loaded_checkpoint") != upload.file_id:
    st.session_state.loaded_checkpoint = upload.file_id
    try:
        session.replace_workspace(Workspace.from_upload(upload.getvalue(), upload.name))
        st.rerun()
    except (CheckpointError, Refused) as error:
        up.error(words.plain(f"Your model is unchanged: {error}"))
with st.expander("Reset the model"):
    to = st.radio("Reset to", ["pretrained", "random init"], horizontal=True)
    if st.button("Reset", disabled=running):
        try:
            session.reset_workspace(to)
            st.rerun()
        except Refused as error:  # another tab replaced the model meanwhile
            st.error(words.plain(error))
bring_back.offer(ws, "train")
path.next_step(ws)
