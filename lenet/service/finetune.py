"""Teach it my hand: a short, ordinary background run of the session's model on MNIST digits, half of
them written in the style of the learner's (`lenet/network/style.py`), mixed with the learner's own,
each of theirs seen many times, every digit changed at random (augmented).

A third of the learner's digits are kept out of it (`split`): the digits it was taught say what it
remembers, the new ones whether it learned the hand. The three accuracies are kept from before it
(taught, new, MNIST's test), so a page can show what it gained and what, if anything, it forgot.
"""

import math
from collections.abc import Callable

import torch

from lenet.network.data import PAD, Mnist, load_mnist, pad
from lenet.network.evaluate import evaluate
from lenet.network.handwriting import MIN_FOR_ACCURACY, DigitSet
from lenet.network.style import style_of, written_in
from lenet.service.runs import TrainingRun
from lenet.service.slots import SLOTS, RunSlots
from lenet.service.workspace import Workspace
from lenet.training.settings import Schedule, preset

HAND_MNIST = 20_000  # MNIST digits mixed in, so the model keeps reading them (MNIST stays over 98 %)
WRITTEN_LIKE_YOURS = 10_000  # of those, written in the style of the learner's digits: it learns the hand
HAND_SHARE = 1_000  # about this many of the learner's digits an epoch, their set repeated
HAND_CONFIG = preset("fast", epochs=1, lr=0.02, schedule=Schedule.CONSTANT, augment=True)


def repeats(digits: int) -> int:
    """How often each of the learner's digits comes in an epoch: from 5 to 100 times."""
    return min(100, max(5, math.ceil(HAND_SHARE / max(1, digits))))


def mixed(mnist: Mnist, digits: DigitSet) -> Mnist:
    """MNIST's first `HAND_MNIST` training digits, the first `WRITTEN_LIKE_YOURS` of them written in the
    style of the learner's digits, and the learner's, repeated; the test set as it is."""
    times = repeats(len(digits))
    style = style_of(digits.pixels, digits.labels, mnist.train_images[:, 0, PAD:-PAD, PAD:-PAD], mnist.train_labels)
    restyled = mnist.train_images[:HAND_MNIST].clone()
    restyled[:WRITTEN_LIKE_YOURS] = written_in(restyled[:WRITTEN_LIKE_YOURS], style)
    return Mnist(
        train_images=torch.cat([restyled, pad(digits.pixels).repeat(times, 1, 1, 1)]),
        train_labels=torch.cat([mnist.train_labels[:HAND_MNIST], digits.labels.repeat(times)]),
        test_images=mnist.test_images,
        test_labels=mnist.test_labels,
    )


KEPT_OUT = 3  # one digit in three of each label is never taught


def split(digits: DigitSet) -> tuple[DigitSet, DigitSet]:
    """(taught, new): every third digit kept out, counting through the digits label by label (all the 0s in the
    order drawn, then the 1s, ...): each label loses a third of its digits, give or take one, and two 7s
    and two 3s lose a 7 or a 3, not nothing."""
    position = torch.zeros(len(digits), dtype=torch.long)
    for label in digits.labels.unique():
        mine = (digits.labels == label).nonzero().squeeze(1)
        position[mine] = torch.arange(len(mine))
    dealt = torch.argsort(digits.labels * len(digits) + position)
    new = torch.zeros(len(digits), dtype=torch.bool)
    new[dealt[KEPT_OUT - 1 :: KEPT_OUT]] = True
    return (
        DigitSet(digits.pixels[~new], digits.labels[~new]),
        DigitSet(digits.pixels[new], digits.labels[new]),
    )


def teach_my_hand(
    ws: Workspace, data: Callable[[], Mnist] = load_mnist, slots: RunSlots = SLOTS
) -> tuple[TrainingRun, DigitSet, DigitSet]:
    """Start the fine-tune on `ws`'s model with two thirds of its digits as they are now: the run, the digits
    taught and the digits kept out; `ValueError` for too few."""
    if len(ws.digits) < MIN_FOR_ACCURACY:
        raise ValueError(f"Label at least {MIN_FOR_ACCURACY} of your digits first: it learns from them.")
    taught, new = split(ws.digits)  # the set as it is now: the learner may go on adding
    mnist, model = data(), ws.inference_model()
    before = {
        "mnist": evaluate(model, mnist.test_images, mnist.test_labels).accuracy,
        "taught": taught.read_by(model).accuracy,
        "new": new.read_by(model).accuracy if len(new) else None,
        "digits": len(taught),
        "new_digits": len(new),
    }
    note = (
        f"taught your hand: {HAND_MNIST:,} MNIST digits and {len(taught)} of yours, each {repeats(len(taught))} "
        "times, all changed at random"
    )
    run = ws.start(HAND_CONFIG, data=lambda: mixed(data(), taught), slots=slots, note=note)
    run.record_hand_before(before)
    return run, taught, new
