"""Your digit through training: the batched pass against each snapshot's own model."""

import numpy as np
import pytest
import torch

from lenet.explain.journey import Journey, journey
from lenet.network.inference import NO_ANSWER_BELOW
from lenet.network.model import Net
from lenet.store.checkpoint import pretrained
from lenet.training.snapshots import Snapshot


def snapshot(step: int, model: Net) -> Snapshot:
    return Snapshot(step, {k: v.to(torch.float16) for k, v in model.state_dict().items()})


def test_each_frame_is_what_that_snapshot_s_model_reads():
    torch.manual_seed(0)
    trained = Net()
    trained.load_state_dict(pretrained().weights)
    snapshots = [snapshot(step, Net()) for step in (0, 1, 2, 4)] + [snapshot(8, trained)]
    x = torch.randn(1, 1, 32, 32)
    now = Net().eval()
    seen = journey(snapshots, x, now)
    with torch.inference_mode():
        expected = [s.model()(x)[0].softmax(0) for s in snapshots] + [now(x)[0].softmax(0)]
    assert seen.steps == (0, 1, 2, 4, 8, -1)
    np.testing.assert_allclose(seen.probabilities, torch.stack(expected).numpy(), atol=1e-6)
    assert not seen.probabilities.flags.writeable


def test_a_model_that_does_not_carry_on_from_the_run_is_no_frame_of_it():
    snapshots = [snapshot(step, Net()) for step in (0, 1, 2)]
    seen = journey(snapshots, torch.zeros(1, 1, 32, 32), None)
    assert seen.steps == (0, 1, 2) and seen.probabilities.shape == (3, 10)


def test_no_snapshot_leaves_now_alone():
    seen = journey([], torch.zeros(1, 1, 32, 32), Net().eval())
    assert seen.steps == (-1,) and seen.probabilities.shape == (1, 10)


def frames(*rows: tuple[int, float]) -> np.ndarray:
    """Probabilities where each frame puts `p` on digit `d` and the rest evenly on the others."""
    table = np.array([[(1 - p) / 9] * 10 for _, p in rows])
    for row, (digit, p) in zip(table, rows, strict=True):
        row[digit] = p
    return table


@pytest.mark.parametrize(
    ("rows", "settled"),
    [
        ([(7, 0.11), (7, 0.15), (7, 0.6), (7, 0.9)], 4),  # no answer until step 4
        ([(7, 0.9), (7, 0.9), (7, 0.9), (7, 0.9)], 0),  # from the very first step
        ([(7, 0.9), (3, 0.9), (7, 0.9), (7, 0.9)], 4),  # read as 7, lost, read again: the last time counts
        ([(7, 0.9), (7, 0.9), (7, 0.9), (3, 0.9)], None),  # not its answer now
        ([(7, 0.9), (7, 0.9), (3, 0.9), (7, 0.9)], -1),  # only now
    ],
)
def test_when_the_network_first_read_the_digit_for_good(rows, settled):
    assert NO_ANSWER_BELOW > 0.15
    assert Journey((0, 2, 4, -1), frames(*rows)).first_read_as(7) == settled


def test_the_replay_has_a_frame_per_step_titled_with_its_answer_and_ends_at_now():
    from lenet.ui.html import ANSWER, DIGIT_COLOURS, OTHERS
    from lenet.ui.replay import journey_chart

    probabilities = frames((7, 0.11), (7, 0.6), (7, 0.9))
    figure = journey_chart((0, 64, -1), probabilities, NO_ANSWER_BELOW, 250, DIGIT_COLOURS)
    assert [frame.name for frame in figure.frames] == ["0", "64", "now"]
    titles = [frame.layout.title.text for frame in figure.frames]
    assert titles[0].startswith("after 0 steps: no answer yet") and titles[-1] == "now: reads it as 7, 90% sure"
    answered = figure.frames[-1].data[0].marker.color
    assert answered[7] == ANSWER and answered.count(OTHERS) == 9  # the answer as the page's bars show it
    assert [step["label"] for step in figure.layout.sliders[0].steps] == ["0", "64", "now"]
    assert [button.label for button in figure.layout.updatemenus[0].buttons] == ["▶ Play", "⏸ Pause"]
