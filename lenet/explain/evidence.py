"""Why the model says what it says about one digit: where it looked, which training digits it finds
alike, how little change makes it say another digit (what one step of training on it does is
`lenet.explain.step`).

Every function takes a normalised (1, 1, 32, 32) network input, as `inference.read_digit` gives it.
None changes the model: they take gradients with respect to the input alone, so a model that other
threads read is left exactly as it was.
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from lenet.explain.likeness import REPRESENTATIONS, representation
from lenet.network.data import MNIST_STD, PAD, load_mnist, normalise
from lenet.network.inference import OutputNotFinite
from lenet.network.model import Net

IG_STEPS = 32  # midpoints on the path from the blank canvas to the digit, in one batch
ATTACK_STEPS = 5  # projected steps after the first FGSM step
EPSILON_GRID = torch.logspace(-2.4, 0, 24)  # 0.004 to 1: where the smallest fooling ε is looked for
EPSILON_REFINE = 16  # then this many between the last ε that failed and the first that worked


def blank_canvas(x: torch.Tensor) -> torch.Tensor:
    """The network input of an all-black digit, shaped like `x`: the attributions' baseline."""
    return normalise(torch.zeros(x.shape, dtype=torch.uint8))


def _input_gradient(
    model: Net, inputs: torch.Tensor, objective: Callable[[torch.Tensor], torch.Tensor]
) -> torch.Tensor:
    """d objective(model(inputs)) / d inputs; the weights get no gradient."""
    with torch.enable_grad():
        inputs = inputs.detach().requires_grad_(True)
        (gradient,) = torch.autograd.grad(objective(model(inputs)), inputs)
    return gradient


def integrated_gradients(model: Net, x: torch.Tensor, target: int, steps: int = IG_STEPS) -> torch.Tensor:
    """Each pixel's share of the target's score above the blank canvas's, shaped like `x`.

    The score's gradient, averaged at the midpoints of `steps` equal pieces of the straight path
    from the blank canvas to `x`, times how far each pixel is from black. The shares add up to
    model(x)[target] - model(blank)[target], to within the error of the average (completeness).
    """
    baseline = blank_canvas(x)
    alphas = (torch.arange(steps, dtype=x.dtype) + 0.5) / steps
    path = baseline + alphas.view(-1, 1, 1, 1) * (x - baseline)
    gradient = _input_gradient(model, path, lambda scores: scores[:, target].sum())
    return (x - baseline) * gradient.mean(dim=0, keepdim=True)


def evidence(model: Net, x: torch.Tensor, targets: tuple[int, ...]) -> torch.Tensor:
    """`integrated_gradients` for each of `targets`, on the 28 x 28 digit (the padding gets none):
    (len(targets), 28, 28). `OutputNotFinite` where the model's gradients are not numbers."""
    shares = torch.cat([integrated_gradients(model, x, target)[0, 0, PAD:-PAD, PAD:-PAD][None] for target in targets])
    if not torch.isfinite(shares).all():
        raise OutputNotFinite(
            "Your model's gradients are not numbers for this digit: its weights have grown too large. Reset it "
            "on the Train page."
        )
    return shares


def nearest_training_digits(
    model: Net, x: torch.Tensor, k: int = 8, wait: bool = True
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The `k` training digits whose representation (fc2's output after its ReLU) lies nearest to `x`'s.

    (indices into `load_mnist().train_images`, their labels), nearest first. The first call for a
    set of weights works out the training set's representations (seconds): `wait` waits for them,
    else None comes back until they are there. `RepresentationsUnavailable` if they cannot be
    worked out (without MNIST, say).
    """
    found = REPRESENTATIONS.wait(model) if wait else REPRESENTATIONS.lookup(model)
    if found is None:
        return None
    with torch.inference_mode():
        indices = found.nearest(representation(model, x)[0], k)
    return indices, load_mnist().train_labels[indices]


def attack(model: Net, x: torch.Tensor, target: int, epsilons: torch.Tensor, steps: int = ATTACK_STEPS) -> torch.Tensor:
    """For each ε, `x` changed by at most ε per pixel (a share of full brightness) towards `target`.

    (len(epsilons), 1, 32, 32) network inputs: one step of the fast gradient sign method (FGSM),
    then `steps` projected steps of ε/4, every ε in one batch. Only the 28 x 28 digit changes, never
    the padding, and every pixel stays between black and white.
    """
    radius = (epsilons.to(x.dtype) / MNIST_STD).view(-1, 1, 1, 1)  # ε in normalised units
    inside = torch.zeros_like(x)
    inside[..., PAD:-PAD, PAD:-PAD] = 1
    original = x.expand(len(epsilons), -1, -1, -1)
    black, white = normalise(torch.tensor([0, 255], dtype=torch.uint8)).tolist()  # as the pixels were normalised
    lowest, highest = (original - radius).clamp(min=black), (original + radius).clamp(max=white)
    targets = torch.full((len(epsilons),), target)
    changed = original
    for step in [radius] + [radius / 4] * steps:
        gradient = _input_gradient(model, changed, lambda scores: F.cross_entropy(scores, targets, reduction="sum"))
        changed = changed - step * gradient.sign() * inside  # down the target's loss
        changed = torch.minimum(torch.maximum(changed, lowest), highest)
    return changed.detach()


@dataclass(frozen=True)
class Fooled:
    """`x` after a targeted attack at one ε, and what the model makes of it."""

    x: torch.Tensor  # (1, 1, 32, 32) the changed network input
    probabilities: torch.Tensor  # (10,)
    change: torch.Tensor  # (28, 28) per pixel, as a share of full brightness: + brighter, - darker


def fool(model: Net, x: torch.Tensor, target: int, epsilon: float) -> Fooled:
    """`attack` at one ε, with the model's reading of the result and the change it made."""
    changed = attack(model, x, target, torch.tensor([epsilon]))
    with torch.inference_mode():
        probabilities = F.softmax(model(changed), dim=1)[0]
    return Fooled(changed, probabilities, ((changed - x) * MNIST_STD)[0, 0, PAD:-PAD, PAD:-PAD])


@torch.inference_mode()
def _reads_as(model: Net, inputs: torch.Tensor, target: int) -> torch.Tensor:
    return model(inputs).argmax(dim=1) == target


def smallest_fooling_epsilon(model: Net, x: torch.Tensor, target: int) -> float | None:
    """The smallest ε at which `attack` makes the model read `target`, to within 2 %; None if even
    ε = 1 (any picture at all) does not."""
    works = _reads_as(model, attack(model, x, target, EPSILON_GRID), target)
    if not works.any():
        return None
    first = int(works.nonzero()[0])
    if first == 0:
        return float(EPSILON_GRID[0])
    between = torch.linspace(float(EPSILON_GRID[first - 1]), float(EPSILON_GRID[first]), EPSILON_REFINE + 2)[1:]
    works = _reads_as(model, attack(model, x, target, between), target)
    return float(between[int(works.nonzero()[0])]) if works.any() else float(EPSILON_GRID[first])
