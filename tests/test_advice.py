"""What the Train page tells of a run that cannot learn or did not: each reason, and the thresholds held
against real runs from scratch on MNIST."""

import pytest
import torch

from lenet.network.model import Net
from lenet.service.slots import run_steps
from lenet.training.advice import FEW_STEPS, GUESSING, too_few_steps, why_it_guesses
from lenet.training.settings import preset
from lenet.training.train import fit


def test_a_short_run_is_told_before_it_starts():
    assert "7 SGD steps" in too_few_steps(7)
    assert too_few_steps(FEW_STEPS) is None


@pytest.mark.parametrize(
    "config, steps, says",
    [
        (preset("quick"), 7, "7 steps are too few"),
        (preset("fast", lr=1.0), 500, "overshoot"),
        (preset("tutorial", lr=0.001), 500, "too little"),
        (preset("fast"), 500, "Another start seed"),
    ],
)
def test_a_run_that_still_guesses_is_told_why(config, steps, says):
    assert says in why_it_guesses(config, steps, 0.11)
    assert why_it_guesses(config, steps, GUESSING) is None


def accuracy_from_scratch(seed: int, config, mnist) -> float:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = Net()
    return list(fit(model, config, mnist))[-1].evaluation.accuracy


@pytest.mark.slow
def test_the_thresholds_hold_on_real_runs(mnist):
    few = preset("quick", epochs=1, train_subset=1_000, device="cpu")
    assert too_few_steps(run_steps(few)) is not None
    assert accuracy_from_scratch(0, few, mnist) < 0.6  # 7 steps: it still guesses, as the page warned
    short = preset("quick", epochs=1, train_subset=10_000, device="cpu")
    assert too_few_steps(run_steps(short)) is None
    assert accuracy_from_scratch(0, short, mnist) > 0.8  # the quick preset learns in 78 steps
