"""Benchmark of the Sketch pad's "why" panels: server time after a stroke, the training set's
representations (time and memory), and what a learner asking "why" costs a run training meanwhile.

    python -m benchmarks.why

Prints medians over test digits drawn as a 280 x 280 canvas would send them; the last line of
stdout is one JSON object with the figures.
"""

import argparse
import copy
import json
import statistics
import threading
import time

import numpy as np
import torch

from lenet.explain.evidence import evidence, fool, nearest_training_digits, smallest_fooling_epsilon
from lenet.explain.likeness import REPRESENTATIONS, TrainingSetRepresentations
from lenet.explain.step import sgd_step
from lenet.explain.whatif import neutral, what_if
from lenet.network.data import from_network_input, load_mnist, to_pixels
from lenet.network.inference import read_digit
from lenet.network.model import Net
from lenet.service.slots import training_threads
from lenet.store.checkpoint import pretrained
from lenet.training.settings import preset
from lenet.training.snapshots import probe
from lenet.training.train import fit

CANVAS_SCALE = 10  # a 28 x 28 digit drawn on the 280 x 280 canvas


def canvas_image(digit: torch.Tensor) -> np.ndarray:
    """A test digit as the canvas sends a drawing: 280 x 280 RGBA, white strokes on black."""
    gray = np.kron(digit.numpy(), np.ones((CANVAS_SCALE, CANVAS_SCALE), dtype=np.uint8))
    return np.dstack([gray, gray, gray, np.full_like(gray, 255)])


def after_a_stroke(model: Net, image: np.ndarray) -> dict[str, float]:
    """Seconds for each panel's computation, as the Sketch pad runs them after a stroke, and for the
    pictures and chart it sends (the UI's modules: importing this one loads no UI)."""
    from lenet.ui import html, pictures

    seconds, start = {}, time.perf_counter()

    def lap(name: str) -> None:
        nonlocal start
        now = time.perf_counter()
        seconds[name], start = now - start, now

    reading = read_digit(model, image, min_extent_px=40)
    lap("prediction and feature maps")
    second = reading.runner_up
    shares = evidence(model, reading.x, (reading.prediction, second))
    lap("where it looked (2 classes)")
    indices, _ = nearest_training_digits(model, reading.x)
    lap("what it finds alike")
    changed = what_if(model, reading.digit, {**neutral(), "rotation": 10.0}, "rotation")
    lap("what if (1 + 41 digits)")
    smallest = smallest_fooling_epsilon(model, reading.x, second) or 1.0
    fooled = fool(model, reading.x, second, smallest)
    lap("fool it (smallest ε, then the slider's)")
    for share in shares:
        pictures.data_url(pictures.attribution(reading.digit, share, pictures.full_scale(shares)))
    for digit in [*to_pixels(load_mnist().train_images[indices]), changed.digit, from_network_input(fooled.x)[0]]:
        pictures.data_url(digit.numpy())
    pictures.data_url(pictures.picture(fooled.change[None], 1, diverging=True, cell_px=1))
    lap("their pictures (PNG)")
    html.sweep_chart(changed.values.tolist(), changed.sweep.tolist(), 10.0, "Rotate", "°")
    lap("the sweep chart (SVG)")
    seconds["total"] = sum(seconds.values())
    return seconds


def training_speed(images: int) -> float:
    """images/s of a fast-preset run."""
    torch.manual_seed(0)
    return list(fit(Net(), preset("fast", epochs=1, train_subset=images), load_mnist()))[-1].images_per_second


def learner_asking_why(model: Net, images: list[np.ndarray], stop: threading.Event, every_s: float) -> None:
    """A learner drawing a digit every `every_s` seconds with the panels open."""
    for image in images * 1000:
        if stop.is_set():
            return
        after_a_stroke(model, image)
        stop.wait(every_s)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.why", description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=30, help="test digits drawn")
    parser.add_argument("--pairs", type=int, default=3, help="back-to-back training pairs for the cost to a run")
    parser.add_argument("--train-images", type=int, default=30_000)
    args = parser.parse_args(argv)
    mnist = load_mnist()
    model = Net()
    model.load_state_dict(pretrained().weights)
    print(f"{torch.get_num_threads()} threads, torch {torch.__version__}")

    start = time.perf_counter()
    found = REPRESENTATIONS.wait(model)  # as the app works them out, once: the strokes below reuse them
    first_seconds = time.perf_counter() - start
    print(f"training set's representations: {first_seconds:.2f} s for 60,000 digits, {found.nbytes / 1e6:.2f} MB")

    images = [canvas_image(digit) for digit in to_pixels(mnist.test_images[: args.digits])]
    after_a_stroke(model, images[0])  # warm-up
    laps = [after_a_stroke(model, image) for image in images]
    medians = {name: statistics.median(lap[name] for lap in laps) for name in laps[0]}
    worst = max(lap["total"] for lap in laps)
    for name, value in medians.items():
        print(f"after a stroke, {name}: median {value * 1000:.1f} ms")
    print(f"after a stroke, everything: slowest of {len(laps)} {worst * 1000:.1f} ms")

    x, lessons = read_digit(model, images[0], min_extent_px=40).x, []
    test = probe(load_mnist().test_images, load_mnist().test_labels)
    for _ in range(10):
        taught = copy.deepcopy(model)
        start = time.perf_counter()
        sgd_step(taught, x, 3, 0.01, test)  # the step, and the 1,000 test digits before and after
        lessons.append(time.perf_counter() - start)
    lesson_ms = statistics.median(lessons) * 1000
    print(f"one lesson (an SGD step on one drawing): median {lesson_ms:.1f} ms")

    threads = torch.get_num_threads()
    torch.set_num_threads(training_threads())  # as the app trains
    alone, with_learner, with_representations = [], [], []
    for pair in range(args.pairs):
        alone.append(training_speed(args.train_images))
        stop = threading.Event()
        learner = threading.Thread(target=learner_asking_why, args=(model, images, stop, 1.0), daemon=True)
        learner.start()
        with_learner.append(training_speed(args.train_images))
        stop.set()
        learner.join()
        busy = threading.Thread(target=TrainingSetRepresentations.of, args=(Net(), mnist.train_images), daemon=True)
        busy.start()
        with_representations.append(training_speed(args.train_images))
        busy.join()
        print(
            f"pair {pair + 1}: training alone {alone[-1]:,.0f} img/s, with a learner drawing every second "
            f"{with_learner[-1]:,.0f}, while a model's representations are worked out {with_representations[-1]:,.0f}"
        )
    torch.set_num_threads(threads)
    learner_cost = statistics.median(1 - w / a for w, a in zip(with_learner, alone, strict=True))
    representations_cost = statistics.median(1 - w / a for w, a in zip(with_representations, alone, strict=True))
    print(
        f"cost to a run: a learner drawing every second {learner_cost:+.1%}, "
        f"a model's representations worked out meanwhile {representations_cost:+.1%} (medians of pairs)"
    )

    summary = {
        "representations_seconds": round(first_seconds, 2),
        "representations_mb": round(found.nbytes / 1e6, 2),
        "after_a_stroke_ms_median": {name: round(v * 1000, 1) for name, v in medians.items()},
        "after_a_stroke_ms_slowest": round(worst * 1000, 1),
        "lesson_ms": round(lesson_ms, 1),
        "training_images_per_second": {
            "alone": [round(v) for v in alone],
            "learner_drawing_every_second": [round(v) for v in with_learner],
            "representations_meanwhile": [round(v) for v in with_representations],
        },
        "run_slowdown": {"learner": round(learner_cost, 3), "representations": round(representations_cost, 3)},
    }
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
