"""What one step of training on one drawing does: the tutorial's SGD step, once, and what it changed.

The Sketch pad's lessons (`lenet.service.lessons`) take it; it is the only function of `lenet.explain`
that changes the model.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from lenet.network.evaluate import evaluate
from lenet.network.model import Net

LAYERS = ("conv1", "conv2", "fc1", "fc2", "fc3")


@dataclass(frozen=True)
class Lesson:
    """One SGD step on one digit: what the model said before and after, and how hard each layer was pushed."""

    label: int
    lr: float
    loss: float  # cross entropy before the step
    before: torch.Tensor  # (10,) probabilities
    after: torch.Tensor  # (10,)
    gradient_norms: dict[str, float]  # per layer, weight and bias together: the gradient's L2 norm (the step: lr x it)
    tested: tuple[float, float]  # accuracy on the fixed test digits before and after: what the step did to MNIST


def sgd_step(model: Net, x: torch.Tensor, label: int, lr: float, test: tuple[torch.Tensor, torch.Tensor]) -> Lesson:
    """The tutorial's training step, once, on one digit and its true `label`; changes `model`. `test`: digits
    and labels it was never taught, measured before and after (1,000 take about 20 ms)."""
    tested_before = evaluate(model, *test).accuracy
    with torch.inference_mode():
        before = F.softmax(model(x), dim=1)[0]
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    with torch.enable_grad():
        optimizer.zero_grad()
        output = model(x)
        loss = F.cross_entropy(output, torch.tensor([label]))
        loss.backward()
    gradients = {name: _gradient_norm(model.get_submodule(name)) for name in LAYERS}
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)  # the gradients would otherwise stay in memory with the model
    with torch.inference_mode():
        after = F.softmax(model(x), dim=1)[0]
    return Lesson(label, lr, loss.item(), before, after, gradients, (tested_before, evaluate(model, *test).accuracy))


def _gradient_norm(layer: torch.nn.Module) -> float:
    return float(torch.linalg.vector_norm(torch.cat([p.grad.flatten() for p in layer.parameters()])))
