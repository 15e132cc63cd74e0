"""Teach it my hand: a short, ordinary background run of the session's model on MNIST digits mixed
with the learner's own, each of theirs seen many times, every digit changed at random (augmented).

Both accuracies are kept from before it, MNIST's test and the learner's digits', so a page can show
what it gained on their hand and what, if anything, it forgot of MNIST.
"""

import math
from collections.abc import Callable

import torch

from lenet.network.data import Mnist, load_mnist, pad
from lenet.network.evaluate import evaluate
from lenet.network.handwriting import MIN_FOR_ACCURACY, DigitSet
from lenet.service.runs import TrainingRun
from lenet.service.slots import SLOTS, RunSlots
from lenet.service.workspace import Workspace
from lenet.training.settings import Schedule, preset

HAND_MNIST = 10_000  # MNIST digits mixed in, so the model keeps reading them
HAND_SHARE = 1_000  # about this many of the learner's digits an epoch, their set repeated
HAND_CONFIG = preset("fast", epochs=1, lr=0.02, schedule=Schedule.CONSTANT, augment=True)


def repeats(digits: int) -> int:
    """How often each of the learner's digits comes in an epoch: from 5 to 100 times."""
    return min(100, max(5, math.ceil(HAND_SHARE / max(1, digits))))


def mixed(mnist: Mnist, digits: DigitSet) -> Mnist:
    """MNIST's first `HAND_MNIST` training digits and the learner's, repeated; the test set as it is."""
    times = repeats(len(digits))
    return Mnist(
        train_images=torch.cat([mnist.train_images[:HAND_MNIST], pad(digits.pixels).repeat(times, 1, 1, 1)]),
        train_labels=torch.cat([mnist.train_labels[:HAND_MNIST], digits.labels.repeat(times)]),
        test_images=mnist.test_images,
        test_labels=mnist.test_labels,
    )


def teach_my_hand(ws: Workspace, data: Callable[[], Mnist] = load_mnist, slots: RunSlots = SLOTS) -> TrainingRun:
    """Start the fine-tune on `ws`'s model with its digits as they are now; `ValueError` for too few."""
    if len(ws.digits) < MIN_FOR_ACCURACY:
        raise ValueError(f"Label at least {MIN_FOR_ACCURACY} of your digits first: it learns from them.")
    digits = DigitSet(ws.digits.pixels, ws.digits.labels)  # the set as it is now: the learner may go on adding
    mnist = data()
    before = {
        "mnist": evaluate(ws.inference_model(), mnist.test_images, mnist.test_labels).accuracy,
        "hand": ws.hand_accuracy().accuracy,
        "digits": len(digits),
    }
    note = (
        f"taught your hand: {HAND_MNIST:,} MNIST digits and your {len(digits)}, each {repeats(len(digits))} times, "
        "all changed at random"
    )
    run = ws.start(HAND_CONFIG, data=lambda: mixed(data(), digits), slots=slots, note=note)
    run.record_hand_before(before)
    return run
