"""Every page through Streamlit's AppTest: renders, shares one workspace, trains in the background."""

import re
import time

import pytest
import torch
from streamlit.testing.v1 import AppTest

PAGES = ["pages/1_Train.py", "pages/2_Architecture.py", "pages/3_Sketch_pad.py"]


@pytest.fixture
def app():
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.run()
    assert not at.exception
    assert "workspace" not in at.session_state  # the home page shows without loading the model
    yield at
    if "workspace" in at.session_state:
        at.session_state["workspace"].stop(wait=30)


def shown(markdown: str) -> str:
    """Markdown as a person reads it: the app escapes text it did not write itself (lenet.ui.words.plain)."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u200b", "")


def button(at, label):
    return next(b for b in at.button if b.label == label)


@pytest.mark.parametrize("page", PAGES)
def test_each_page_renders_with_the_same_workspace(app, page):
    app.switch_page("pages/1_Train.py").run()
    workspace = app.session_state["workspace"]
    app.switch_page(page).run()
    assert not app.exception
    assert app.session_state["workspace"] is workspace
    assert any("Your model" in m.value for m in app.sidebar.markdown)


def test_architecture_prints_the_tutorial_module(app):
    app.switch_page("pages/2_Architecture.py").run()
    assert any("(fc1): Linear(in_features=576, out_features=120, bias=True)" in c.value for c in app.code)
    assert any("81,194" in m.value for m in app.markdown)


def test_sketch_pad_prompts_before_anything_is_drawn(app):
    app.switch_page("pages/3_Sketch_pad.py").run()
    assert any("Nothing drawn yet" in i.value for i in app.info)


def start_from(app):
    return next(r for r in app.radio if r.label == "Start from")


@pytest.mark.slow
def test_a_short_run_ends_with_a_history(app):
    """Keep training: the pretrained model gets one more epoch on its history."""
    app.switch_page("pages/1_Train.py").run()
    workspace = app.session_state["workspace"]
    epochs_before = workspace.epochs_trained_here
    app.selectbox(key="widget_train_subset").set_value(1_000)
    app.number_input(key="widget_epochs").set_value(1)
    start_from(app).set_value("keep training this model")
    button(app, "Start").click().run()
    assert app.session_state["workspace"] is workspace
    assert workspace.run is not None
    workspace.run.thread.join(120)
    app.run()
    assert not app.exception
    assert workspace.run.state == "completed"
    assert workspace.epochs_trained_here == epochs_before + 1
    assert 0.5 < workspace.last_accuracy <= 1
    assert any("Where the model is wrong" in h.value for h in app.subheader)


@pytest.mark.slow
def test_the_first_start_trains_from_scratch(app):
    """A new session's first Start trains fresh weights: the loss starts near ln(10) = 2.3, chance level."""
    app.switch_page("pages/1_Train.py").run()
    pretrained = app.session_state["workspace"]
    assert start_from(app).value.startswith("from scratch")
    app.selectbox(key="widget_train_subset").set_value(10_000)
    app.number_input(key="widget_epochs").set_value(1)
    button(app, "Start").click().run()
    workspace = app.session_state["workspace"]
    assert workspace is not pretrained and workspace.origin == "random init"
    workspace.run.thread.join(120)
    app.run()
    assert workspace.run.state == "completed"
    assert 2.0 < workspace.run.losses[0] < 2.6
    assert workspace.last_accuracy > 0.5
    assert any(shown(c.value) == "Source: random init + 1 epoch here" for c in app.sidebar.caption)
    # nothing changes unless the learner changes it: the next Start trains from scratch again
    assert start_from(app).value.startswith("from scratch")
    assert all(
        not torch.equal(a, b) for a, b in zip(workspace.model.parameters(), pretrained.model.parameters(), strict=True)
    )


@pytest.mark.slow
def test_a_running_run_survives_reruns_and_page_switches(app):
    app.switch_page("pages/1_Train.py").run()
    workspace = app.session_state["workspace"]
    app.selectbox(key="widget_preset").set_value("tutorial").run()
    assert app.text_input(key="widget_lr").value == "0.01"
    button(app, "Start").click().run()
    workspace = app.session_state["workspace"]  # from scratch: a new model
    run = workspace.run
    app.run()
    app.switch_page("pages/3_Sketch_pad.py").run()
    app.switch_page("pages/1_Train.py").run()
    assert not app.exception
    assert workspace.run is run and run.active
    assert app.text_input(key="widget_lr").value == "0.01"  # the settings survived the page switch
    assert button(app, "Start").disabled  # one run at a time, and the workspace refuses a second too
    assert any("One run at a time" in c.value for c in app.caption)
    assert not [h for h in app.subheader if h.value == "Your runs"]  # drawn once, it would stand still: not yet
    with pytest.raises(RuntimeError, match="already going"):
        workspace.start(run.config)
    deadline = time.monotonic() + 60
    while not run.losses:  # some steps trained, so the stop leaves a partly trained model
        assert time.monotonic() < deadline, "the run trained no step in 60 s"
        time.sleep(0.05)
    button(app, "Stop").click().run()
    assert run.state == "stopped"
    app.run()
    assert [h for h in app.subheader if h.value == "Your runs"]  # ended: it joins the runs compared
    # a stopped run changed the model without finishing an epoch: the sidebar says so, with its accuracy
    steps = len(run.losses)
    assert 0 < steps < run.steps_per_epoch
    assert any(shown(c.value) == f"Source: random init + {steps:,} steps here" for c in app.sidebar.caption)
    assert any(c.value == f"Last test accuracy: {run.evaluation.accuracy:.2%}" for c in app.sidebar.caption)


@pytest.mark.parametrize(
    ("typed", "message"),
    [("1e400", "Learning rate must be from 0.0001 to 100, not inf"), ("fast", "Learning rate must be a number")],
)
def test_a_learning_rate_out_of_range_is_refused_not_clamped(app, typed, message):
    app.switch_page("pages/1_Train.py").run()
    app.text_input(key="widget_lr").set_value(typed).run()
    button(app, "Start").click().run()
    assert any(message in shown(e.value) for e in app.error)
    assert app.session_state["workspace"].run is None
    assert app.text_input(key="widget_lr").value == typed  # left as typed, to correct


@pytest.mark.slow
def test_the_time_machine_continues_from_a_past_step_and_the_model_now_can_be_brought_back(app):
    app.switch_page("pages/1_Train.py").run()
    app.selectbox(key="widget_train_subset").set_value(1_000)
    app.number_input(key="widget_epochs").set_value(2)
    button(app, "Start").click().run()
    trained = app.session_state["workspace"]
    run = trained.run
    run.thread.join(120)
    app.run()
    button(app, "Reset").click().run()  # to the pretrained weights: no run is the model's now
    app.switch_page("pages/3_Sketch_pad.py").run()
    steps = run.snapshot_steps()
    assert 4 in steps and steps[-1] > 4
    app.select_slider(key=f"time_machine_step_{run.id}_{len(steps)}").set_value(4).run()
    button(app, "Continue from step 4: make it your model").click().run()
    assert not app.exception
    ws = app.session_state["workspace"]
    assert ws is not trained and ws.origin == "step 4 of run 1" and ws.replaced is not None
    snapshot = run.snapshot_at(4)
    assert all(torch.equal(p, snapshot.weights[n].float()) for n, p in ws.inference_model().state_dict().items())
    assert any("Your model is now the weights of step 4 of run 1" in s.value for s in app.success)
    assert any(shown(c.value) == "Source: step 4 of run 1" for c in app.sidebar.caption)
    assert not [b for b in app.button if b.label.startswith("Continue from")]  # the slider is at now again
    assert not app.warning  # nor does the page say it shows the past
    app.switch_page("pages/1_Train.py").run()
    start_from(app).set_value("keep training this model")
    button(app, "Start").click().run()
    ws.run.thread.join(120)
    assert ws.run.start == "step 4 of run 1"  # the run's record says where it started
    app.run()
    button(app, "↩ Bring it back").click().run()
    back = app.session_state["workspace"]
    assert all(torch.equal(a, b) for a, b in zip(back.model.parameters(), trained.model.parameters(), strict=True))
    assert shown(app.success[0].value).startswith("Your model is back: random init + 2 epochs here")


def test_a_start_that_would_be_refused_replaces_nothing(app):
    """A network too big for the form's batch of 128: Start from scratch is refused and the model, and the
    one kept to bring back, stay as they were."""
    from lenet.model import Architecture, Net
    from lenet.service.workspace import Workspace
    from lenet.store.checkpoint import checkpoint_bytes, pretrained

    app.switch_page("pages/1_Train.py").run()
    precious = Workspace.from_upload(checkpoint_bytes(pretrained().model()), "precious.pt")
    largest = Net(Architecture(conv1_channels=64, conv2_channels=64, fc1_units=512, fc2_units=512))
    big = precious.replaced_by(Workspace.from_upload(checkpoint_bytes(largest), "big.pt"))
    app.session_state["workspace"] = big
    app.run()
    assert start_from(app).value.startswith("from scratch")
    button(app, "Start").click().run()
    assert any("A batch of 128 digits" in shown(e.value) for e in app.error)
    assert app.session_state["workspace"] is big and big.run is None
    assert big.replaced.origin == "uploaded precious.pt"
