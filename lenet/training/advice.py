"""What a learner is told of a run that cannot learn, before it starts, or that did not, once it ended.

From scratch, a network guesses (about 10 %, a loss of 2.30) until enough SGD steps have moved its
random weights. The figures behind the thresholds: docs/measurements/2026-12-01-readable-panels.md.
"""

from lenet.training.settings import Schedule, TrainConfig

FEW_STEPS = 60  # from scratch, the fast preset: 39 steps left 10 of 20 start seeds guessing, 78 none
GUESSING = 0.2  # a test accuracy under this is still close to a guess


def too_few_steps(steps: int) -> str | None:
    """A warning for a run from scratch too short to learn, None for one long enough."""
    if steps >= FEW_STEPS:
        return None
    return (
        f"This run takes {steps:,} SGD steps: from random weights a network needs about {FEW_STEPS} before it reads "
        "digits, so it will most likely still guess. More images or epochs, or a smaller batch, give it more steps."
    )


def why_it_guesses(config: TrainConfig, steps: int, accuracy: float) -> str | None:
    """Why a run that ended close to a guess stayed there, most likely; None for one that learned."""
    if accuracy >= GUESSING:
        return None
    said = f"It still guesses ({accuracy:.0%} right, where a guess is 10%): "
    if steps < FEW_STEPS:
        return said + f"{steps:,} steps are too few for random weights to learn. Give it more steps."
    if config.lr * (1 if config.momentum == 0 else 1 / (1 - config.momentum)) >= 2:
        return said + (
            f"learning rate {config.lr:g} with momentum {config.momentum:g} makes steps so large that they overshoot, "
            "or silence every ReLU for good (the loss stays at 2.30). Try a rate ten times smaller."
        )
    if config.lr <= 0.003 and config.schedule == Schedule.CONSTANT:
        return said + f"at learning rate {config.lr:g} each step moves the weights too little. Try a larger rate."
    return said + (
        "the loss never left 2.30: its first large steps silenced every ReLU, so no gradient reaches the weights. "
        "Another start seed (from scratch), or a smaller learning rate, usually learns."
    )
