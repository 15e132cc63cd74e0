"""A workspace's lessons: single SGD steps on the learner's own drawings, each one undoable, bit for bit.

A mixin of `Workspace`, which holds the state it reads and writes: the model, `lessons` and those taught
before the last run, the weights before each lesson that can be undone, and what the probe digits said.
"""

import copy

import torch

from lenet.explain.step import Lesson, sgd_step
from lenet.network.data import load_mnist
from lenet.network.model import MAX_WEIGHT, within_bounds
from lenet.service.refusals import Busy, Refused
from lenet.service.undo import undo_kept
from lenet.training.snapshots import probe


class Lessons:
    def teach(self, x: torch.Tensor, label: int, lr: float) -> Lesson:
        """One SGD step on one (1, 1, 32, 32) network input and its true label; `undo_lesson` takes it back."""
        if self.training:
            raise Busy("A run is training this model: it would overwrite the lesson within a step. Stop it first.")
        before = copy.deepcopy(self.model.state_dict())
        mnist = load_mnist()
        lesson = sgd_step(self.model, x, label, lr, test=probe(mnist.test_images, mnist.test_labels))
        if not all(within_bounds(p) for p in self.model.parameters()):
            self.model.load_state_dict(before)
            raise Refused(
                f"That step pushed a weight past ±{MAX_WEIGHT:g} (or out of the numbers), where the model could no "
                "longer be saved: it was undone. Try a smaller learning rate."
            )
        if self.lessons == self._lessons_before_run:
            self.tested_before_lessons = lesson.tested[0]
        self._before_lessons = [(before, lesson.tested[0]), *self._before_lessons][: undo_kept(self.model.arch)]
        self.lessons += 1
        self.tested_after_lessons = lesson.tested[1]
        self.publish()
        return lesson

    def undo_weights(self) -> list[dict[str, torch.Tensor]]:
        return [before for before, _ in self._before_lessons]

    @property
    def can_undo_lesson(self) -> bool:
        return bool(self._before_lessons) and not self.training

    def undo_lesson(self) -> None:
        """The weights as they were before the last lesson, bit for bit."""
        if not self.can_undo_lesson:
            raise Busy("Stop the training run first.") if self.training else Refused("There is no lesson to undo.")
        (before, tested), *self._before_lessons = self._before_lessons
        self.model.load_state_dict(before)
        self.lessons -= 1
        self.tested_after_lessons = tested if self.lessons > self._lessons_before_run else None
        self.publish()
