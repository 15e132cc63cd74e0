"""Your digit through training: what every snapshot of a run reads in one drawing, in one batched pass.

The time machine's Play animates these frames in the browser: the server works them out once per
drawing and run (a stack of the snapshots' weights, `torch.func.vmap` over the model), and no frame
asks the server for anything.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.func import functional_call, vmap

from lenet.network.inference import NO_ANSWER_BELOW
from lenet.network.model import Net
from lenet.training.snapshots import Snapshot


@dataclass(frozen=True)
class Journey:
    """The probabilities of the ten digits at each step a run kept (and now, at the end, if it carries on)."""

    steps: tuple[int, ...]  # -1 for now, last
    probabilities: np.ndarray  # (len(steps), 10), read-only

    def first_read_as(self, digit: int) -> int | None:
        """The first step from which every later snapshot reads `digit` (with an answer), None if it never settles."""
        answered = (self.probabilities.argmax(1) == digit) & (self.probabilities.max(1) >= NO_ANSWER_BELOW)
        if not answered[-1]:
            return None
        settled = len(answered) - int(np.argmin(answered[::-1])) if not answered.all() else 0
        return self.steps[settled]


@torch.inference_mode()
def journey(snapshots: Sequence[Snapshot], x: torch.Tensor, now: Net | None) -> Journey:
    """How each snapshot, then `now` (None: the model now does not carry on from them), reads the network
    input `x` (1, 1, 32, 32)."""
    scores = now(x) if now is not None else torch.empty(0, 10)
    if snapshots:
        net = Net(snapshots[0].arch).eval()
        stacked = {
            name: torch.stack([s.weights[name].float() for s in snapshots]) for name, _ in net.named_parameters()
        }
        logits = vmap(lambda weights: functional_call(net, weights, (x,)))(stacked)[:, 0]
        scores = torch.cat([logits, scores])
    probabilities = torch.nan_to_num(scores.softmax(1), nan=0.0).numpy()
    probabilities.setflags(write=False)
    return Journey((*[s.step for s in snapshots], *([-1] if now is not None else [])), probabilities)
