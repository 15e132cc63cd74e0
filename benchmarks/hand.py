"""Benchmark of "Teach it my hand" on hands of our own making: what it learned of a hand, not of the digits
it was taught.

    python -m benchmarks.hand [--hands 0 1 2] [--seed 0]

A hand is MNIST test digits all written in one style: strokes thickened, leaned (a shear), turned and
narrowed, each digit then jittered a little (±5°, ±1 px, ±5 %), as one person's digits vary. Three of
each label are taught (30 digits), 30 *other* digits of each label are kept to measure (300 new
digits). The fine-tune runs as the app runs it (`lenet/service/finetune.py`), from the pretrained
model, alone on this machine. It prints, per hand: taught and new digits and MNIST's test accuracy
before and after, and the seconds the run took. The last line of stdout is one JSON object.
"""

import argparse
import json
import math
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from lenet.network.data import PAD, load_mnist
from lenet.network.evaluate import evaluate
from lenet.network.handwriting import DigitSet
from lenet.network.model import Net
from lenet.service.finetune import HAND_CONFIG, mixed
from lenet.store.checkpoint import pretrained
from lenet.training.events import Finished
from lenet.training.train import fit


@dataclass(frozen=True)
class Hand:
    shear: float  # degrees the strokes lean
    turn: float  # degrees the whole digit turns (positive: anticlockwise)
    width: float
    thick: bool


HANDS = (
    Hand(30, -15, 0.75, True),
    Hand(40, 10, 0.7, False),
    Hand(35, 20, 0.8, True),
    Hand(25, -15, 0.75, True),
)
TAUGHT, NEW = 3, 30  # digits of each label


def written_by(hand: Hand, pixels: torch.Tensor, seed: int) -> torch.Tensor:
    """(N, 28, 28) uint8 digits as `hand` writes them, each with its own small jitter."""
    g = torch.Generator().manual_seed(seed)
    x = pixels[:, None].float()
    if hand.thick:
        x = 0.6 * F.max_pool2d(x, 3, stride=1, padding=1) + 0.4 * x
    n = len(x)
    turn = torch.deg2rad(hand.turn + (torch.rand(n, generator=g) * 2 - 1) * 5)
    scale = 1 + (torch.rand(n, generator=g) * 2 - 1) * 0.05
    shift = (torch.rand(n, 2, generator=g) * 2 - 1) * (2 / 28)
    lean = math.tan(math.radians(hand.shear))
    forward = torch.zeros(n, 2, 2)  # where the hand puts a point of the MNIST digit: turn @ shear @ narrow
    cos, sin = torch.cos(turn), torch.sin(turn)
    rotation = torch.stack([torch.stack([cos, sin], 1), torch.stack([-sin, cos], 1)], 1)
    shape = torch.tensor([[hand.width, -lean], [0.0, 1.0]])
    forward = rotation @ shape * scale[:, None, None]
    theta = torch.cat([torch.linalg.inv(forward), shift[:, :, None]], 2)  # grid_sample reads backwards
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False).round().clamp(0, 255).to(torch.uint8)[:, 0]


def hand_sets(hand: Hand, test_pixels: torch.Tensor, test_labels: torch.Tensor, seed: int) -> tuple[DigitSet, DigitSet]:
    """(taught, new): `TAUGHT` and `NEW` different test digits of each label, written by `hand`."""
    order = torch.randperm(len(test_labels), generator=torch.Generator().manual_seed(seed))
    taught, new = [], []
    for label in range(10):
        mine = order[test_labels[order] == label]
        taught.append(mine[:TAUGHT])
        new.append(mine[TAUGHT : TAUGHT + NEW])
    sets = []
    for chosen in (torch.cat(taught), torch.cat(new)):
        sets.append(DigitSet(written_by(hand, test_pixels[chosen], seed + len(chosen)), test_labels[chosen]))
    return sets[0], sets[1]


def measure(hand: Hand, seed: int) -> dict:
    mnist = load_mnist()
    test_pixels = mnist.test_images[:, 0, PAD:-PAD, PAD:-PAD]
    taught, new = hand_sets(hand, test_pixels, mnist.test_labels, seed)
    model = Net()
    model.load_state_dict(pretrained().weights)
    model.eval()

    def reads() -> tuple[float, float, float]:
        with torch.no_grad():
            return (
                taught.read_by(model).accuracy,
                new.read_by(model).accuracy,
                evaluate(model, mnist.test_images, mnist.test_labels).accuracy,
            )

    before = reads()
    started = time.perf_counter()
    torch.manual_seed(seed)
    *_, finished = fit(model, HAND_CONFIG, mixed(mnist, taught))
    assert isinstance(finished, Finished), finished
    seconds = time.perf_counter() - started
    model.cpu().eval()
    after = reads()
    row = {
        "hand": f"shear {hand.shear}°, turn {hand.turn}°, width {hand.width}, {'thick' if hand.thick else 'thin'}",
        "taught": [round(before[0], 3), round(after[0], 3)],
        "new": [round(before[1], 3), round(after[1], 3)],
        "gain_on_new_points": round(100 * (after[1] - before[1]), 1),
        "mnist": [round(before[2], 4), round(after[2], 4)],
        "seconds": round(seconds, 1),
    }
    print(
        f"{row['hand']}: taught {before[0]:.0%} -> {after[0]:.0%}, new {before[1]:.0%} -> {after[1]:.0%} "
        f"({row['gain_on_new_points']:+.1f} points), MNIST {before[2]:.2%} -> {after[2]:.2%}, {seconds:.1f} s"
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hands", type=int, nargs="+", default=list(range(len(HANDS))))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(2)
    rows = [measure(HANDS[index], args.seed) for index in args.hands]
    print(json.dumps({"hands": rows}))


if __name__ == "__main__":
    main()
