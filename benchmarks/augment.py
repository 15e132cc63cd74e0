"""Benchmark of augmentation: its cost to training speed, and its effect on plain and on turned and
moved test digits.

    python -m benchmarks.augment

Speed: back-to-back pairs of one epoch with and without, medians compared. Effect: the `fast`
preset's 3 epochs with and without, for each seed, tested on the 10,000 test digits and on the
same digits each turned by up to ±25° and moved by up to ±3 px (`augment.transformed`, seed 0).
It also reads the digits drawn in Chromium by `tools/draw_set.py` (tests/data/drawn_digits.npz).
The last line of stdout is one JSON object with the figures.
"""

import argparse
import json
import statistics
from pathlib import Path

import torch

from lenet.network.augment import transformed
from lenet.network.data import load_mnist
from lenet.network.evaluate import evaluate
from lenet.network.handwriting import DigitSet
from lenet.network.model import Net
from lenet.training.devices import resolve_device
from lenet.training.events import Finished
from lenet.training.settings import preset
from lenet.training.train import fit


def speed(device: str, pairs: int) -> dict:
    rates: dict[bool, list[float]] = {False: [], True: []}
    for pair in range(pairs):
        for augment in (False, True):
            torch.manual_seed(0)
            config = preset("fast", epochs=1, device=device, augment=augment)
            finished = next(e for e in fit(Net(), config, load_mnist()) if isinstance(e, Finished))
            rates[augment].append(finished.images_per_second)
        print(f"pair {pair + 1}: plain {rates[False][-1]:,.0f} img/s, augmented {rates[True][-1]:,.0f} img/s")
    plain, augmented = statistics.median(rates[False]), statistics.median(rates[True])
    return {
        "images_per_second_plain": round(plain, 1),
        "images_per_second_augmented": round(augmented, 1),
        "cost": round(1 - augmented / plain, 4),
    }


DRAWN = Path(__file__).parents[1] / "tests" / "data" / "drawn_digits.npz"  # tools/draw_set.py's


def effect(device: str, seeds: list[int]) -> list[dict]:
    mnist = load_mnist()
    target = resolve_device(device)
    images, labels = mnist.test_images.to(target), mnist.test_labels.to(target)
    harder = transformed(images)
    drawn = DigitSet.from_npz(DRAWN.read_bytes()) if DRAWN.is_file() else None
    results = []
    for seed in seeds:
        for augment in (False, True):
            torch.manual_seed(seed)
            model = Net()
            list(fit(model, preset("fast", seed=seed, device=device, augment=augment), mnist))
            row = {
                "seed": seed,
                "augment": augment,
                "test": round(evaluate(model, images, labels).accuracy, 4),
                "turned_and_moved": round(evaluate(model, harder, labels).accuracy, 4),
                "drawn": round(drawn.read_by(model.cpu().eval()).accuracy, 4) if drawn else None,
            }
            print(f"seed {seed}, {'augmented' if augment else 'plain':9}: test {row['test']:.2%}, "
                  f"turned and moved {row['turned_and_moved']:.2%}, drawn in Chromium {row['drawn']}")  # fmt: skip
            results.append(row)
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.augment", description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    args = parser.parse_args(argv)
    load_mnist()
    summary = {"threads": torch.get_num_threads(), "speed": speed(args.device, args.pairs)}
    print(f"augmentation's cost to training speed: {summary['speed']['cost']:.1%} (medians of {args.pairs} pairs)")
    summary["effect"] = effect(args.device, args.seeds)
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
