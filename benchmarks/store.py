"""Benchmark of the learners' store: what a page pays, what the keeper's thread pays, what giving a
learner's work back costs, and what saving costs a run that trains.

    python -m benchmarks.store

The work is a class's: three runs from scratch on 10,000 digits (their snapshots kept), two lessons,
30 digits of the learner's own, a drawing. The training cost is measured in back-to-back pairs, the
same run with and without the keeper writing its workspace every 2 s (its weights every 10 s): the
median of the pairs' ratios of images/s. The last line of stdout is one JSON object with the figures.
"""

import argparse
import hashlib
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from lenet.network.data import load_mnist
from lenet.service.keeper import Keeper
from lenet.service.saved_work import Extras, changes, restore
from lenet.service.slots import RunSlots
from lenet.service.workspace import Workspace
from lenet.store.learners import LearnerStore
from lenet.training.settings import preset

KEY = hashlib.sha256(b"benchmark").hexdigest()
STROKES = ((70, 60, 210, 60), (210, 60, 120, 255))


def worked() -> Workspace:
    mnist = load_mnist()
    ws = Workspace.from_random_init(0)
    for lr in (0.05, 0.1, 0.02):
        run = ws.start(preset("quick", epochs=1, train_subset=10_000, lr=lr), slots=RunSlots(1))
        run.thread.join()
    x = torch.zeros(1, 1, 32, 32)
    x[..., 8:24, 15:17] = 1.0
    ws.teach(x, 1, 0.05)
    ws.teach(x, 1, 0.05)
    for i in range(30):
        ws.digits.add(mnist.test_images[i, 0, 2:30, 2:30].clone(), int(mnist.test_labels[i]))
    return ws


def ms(seconds: list[float]) -> float:
    return round(1000 * statistics.median(seconds), 3)


def images_per_second(ws: Workspace, keeper: Keeper | None) -> float:
    run = ws.start(preset("fast", epochs=1, train_subset=30_000, seed=0), slots=RunSlots(1))
    if keeper is not None:
        keeper.keep(KEY, ws, Extras(STROKES))
    run.thread.join()
    return run.view().images_per_second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = LearnerStore(Path(tmp) / "learners.sqlite")
        keeper = Keeper(store, changes)
        ws = worked()
        extras = Extras(STROKES, (("path", ["draw", "replay"]),))
        keep = []
        for _ in range(1_000):
            started = time.perf_counter()
            keeper.keep(KEY, ws, extras)
            keep.append(time.perf_counter() - started)
        started = time.perf_counter()
        keeper.flush()
        first_save = time.perf_counter() - started
        unchanged = []
        for _ in range(20):
            started = time.perf_counter()
            keeper.flush()
            unchanged.append(time.perf_counter() - started)
        drawing = []
        for i in range(20):
            keeper.keep(KEY, ws, Extras(((70 + i, 60, 210, 60),)))
            started = time.perf_counter()
            keeper.flush()
            drawing.append(time.perf_counter() - started)
        give_back = []
        for _ in range(5):
            started = time.perf_counter()
            back = restore(store.load(KEY))
            give_back.append(time.perf_counter() - started)
        assert back.dropped == () and len(back.workspace.runs) == 3
        parts = store.load(KEY)
        learner_mb = sum(map(len, parts.values())) / 1e6

        saving = Keeper(store, changes)  # its own thread: every 2 s, the weights every 10 s
        with_keeper, without = [], []
        for _ in range(args.pairs):
            without.append(images_per_second(Workspace.from_random_init(0), None))
            with_keeper.append(images_per_second(Workspace.from_random_init(0), saving))
        saving.close()
    figures = {
        "page_keep_ms": ms(keep),
        "keeper_first_save_ms": round(1000 * first_save, 1),
        "keeper_round_unchanged_ms": ms(unchanged),
        "keeper_round_drawing_changed_ms": ms(drawing),
        "give_back_ms": ms(give_back),
        "learner_mb": round(learner_mb, 2),
        "learner_parts": len(parts),
        "train_images_per_s_without": [round(v) for v in without],
        "train_images_per_s_saving": [round(v) for v in with_keeper],
        # each pair back to back, the median of their ratios: the machine's speed drifts between pairs
        "training_cost_percent": round(
            100 * statistics.median(1 - saving / plain for saving, plain in zip(with_keeper, without, strict=True)), 1
        ),
    }
    print(
        f"a page pays {figures['page_keep_ms']} ms; the keeper writes a learner's work ({figures['learner_mb']} MB, "
        f"{len(parts)} parts) in {figures['keeper_first_save_ms']} ms, a new drawing in "
        f"{figures['keeper_round_drawing_changed_ms']} ms, nothing changed in "
        f"{figures['keeper_round_unchanged_ms']} ms; "
        f"giving it back takes {figures['give_back_ms']} ms; a run trains at {statistics.median(with_keeper):,.0f} "
        f"images/s saving vs {statistics.median(without):,.0f} without ({figures['training_cost_percent']} % cost)"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
