"""Benchmark: this project's trainer against the DataLoader loop people usually write, in one process.

Prints images/s, seconds per epoch and their ratio (medians of back-to-back pairs, since a shared
machine's speed swings), evaluation time, the cost of the app's live chart, and time to 99 % test
accuracy with the default preset. The last line of stdout is one JSON object with the figures.
"""

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from benchmarks import against
from lenet.network.data import MNIST_MEAN, MNIST_STD, PAD, default_data_dir, ensure_mnist, load_mnist
from lenet.network.evaluate import evaluate
from lenet.network.model import Net
from lenet.training.devices import resolve_device
from lenet.training.events import EpochEnd, Finished
from lenet.training.settings import Schedule, preset
from lenet.training.train import fit

TRAIN_IMAGES = 60_000


def sync(device: torch.device) -> None:
    if device.type != "cpu":
        torch.accelerator.synchronize()


def reference_transform() -> transforms.Compose:
    return transforms.Compose(
        [transforms.Pad(PAD), transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))]
    )


def dataloader_images_per_second(
    data_dir: Path, device: torch.device, batch_size: int, steps: int, workers: int, warmup: int = 10
) -> float:
    """The pytorch/examples loop: torchvision dataset, transforms, DataLoader, .to(device) per batch."""
    dataset = datasets.MNIST(str(data_dir), train=True, transform=reference_transform())
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=workers, drop_last=True)
    torch.manual_seed(0)
    model = Net().to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model.train()
    for i, (images, labels) in enumerate(loader):
        if i == warmup:
            sync(device)
            start = time.perf_counter()
        if i == warmup + steps:
            break
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        if i % 10 == 0:
            loss.item()  # the examples' periodic logging
    sync(device)
    return steps * batch_size / (time.perf_counter() - start)


def trainer_images_per_second(device: str, batch_size: int, steps: int) -> float:
    """This project's trainer: same model, batch size and optimizer (SGD, lr 0.01, momentum 0.9)."""
    torch.manual_seed(0)
    config = preset(
        "fast",
        device=device,
        batch_size=batch_size,
        lr=0.01,
        momentum=0.9,
        nesterov=False,
        weight_decay=0.0,
        schedule=Schedule.CONSTANT,
        epochs=1,
        train_subset=steps * batch_size,
    )
    finished = list(fit(Net(), config, load_mnist()))[-1]
    return finished.images_per_second


def evaluation_seconds(data_dir: Path, device: torch.device) -> tuple[float, float]:
    """The 10,000 test digits: the DataLoader way against `evaluate` on device tensors."""
    model = Net().to(device)
    test = datasets.MNIST(str(data_dir), train=False, transform=reference_transform())
    start = time.perf_counter()
    with torch.no_grad():
        for images, labels in DataLoader(test, batch_size=1000):
            (model(images.to(device)).argmax(1) == labels.to(device)).sum().item()
    usual = time.perf_counter() - start
    mnist = load_mnist()
    images, labels = mnist.test_images.to(device), mnist.test_labels.to(device)
    evaluate(model, images, labels)  # warm-up
    start = time.perf_counter()
    evaluate(model, images, labels)
    return usual, time.perf_counter() - start


def time_to_99(device: str, seed: int) -> dict:
    """Training seconds (evaluation excluded) until an epoch ends at >= 99.0 % test accuracy."""
    torch.manual_seed(seed)
    seconds, reached = 0.0, None
    for event in fit(Net(), preset("fast", device=device, seed=seed), load_mnist()):
        if isinstance(event, EpochEnd):
            seconds += event.seconds
            if reached is None and event.evaluation.accuracy >= 0.99:
                reached = {"seed": seed, "epochs": event.epoch, "seconds": round(seconds, 3)}
        elif isinstance(event, Finished):
            return reached or {"seed": seed, "epochs": None, "seconds": None, "accuracy": event.evaluation.accuracy}
    raise AssertionError("fit ended without Finished")


def live_chart_cost(device: str, steps: int) -> tuple[float, float]:
    """images/s headless, and as the Train page drives a run: a background thread, the page
    reading the run and rebuilding the loss chart twice a second."""
    from lenet.service.slots import training_threads
    from lenet.service.workspace import Workspace
    from lenet.ui.charts import loss_chart  # plotly: only this measurement needs it

    config = preset("fast", device=device, epochs=1, train_subset=steps * 128)
    threads = torch.get_num_threads()
    torch.set_num_threads(training_threads())  # as the app runs it
    headless = next(e for e in fit(Net(), config, load_mnist()) if isinstance(e, Finished)).images_per_second
    workspace = Workspace.from_random_init()
    run = workspace.start(config)
    while run.active:
        view = run.view()
        if view.losses:
            loss_chart(view.losses, view.steps_per_epoch).to_json()
        time.sleep(0.5)
    run.thread.join()
    torch.set_num_threads(threads)
    steps_done = len(run.losses)
    seconds = sum(record.seconds for record in run.epochs) or float("nan")
    return headless, steps_done * config.batch_size / seconds


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.training", description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=64, help="for the side-by-side comparison (default 64)")
    parser.add_argument("--steps", type=int, default=300, help="timed steps per measurement")
    parser.add_argument("--pairs", type=int, default=3, help="back-to-back pairs; the medians are reported")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers of the reference loop")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2], help="seeds for time to 99 %%")
    parser.add_argument("--no-live-chart", action="store_true", help="skip the live chart measurement")
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--against", metavar="REF", help="instead: this tree's trainer against commit REF, in pairs")
    args = parser.parse_args(argv)
    if args.against:
        return against.main([args.against, "--pairs", str(max(args.pairs, 6)), "--steps", str(args.steps)])
    device = resolve_device(args.device)
    if args.data_dir:
        os.environ["LENET_DATA_DIR"] = str(args.data_dir)  # one data folder for every measurement
    data_dir = default_data_dir()
    ensure_mnist(data_dir)
    load_mnist(data_dir)
    print(
        f"device {device}, batch size {args.batch_size}, {args.steps} steps, {args.pairs} pairs, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}"
    )

    reference, ours = [], []
    for pair in range(args.pairs):
        reference.append(dataloader_images_per_second(data_dir, device, args.batch_size, args.steps, args.workers))
        ours.append(trainer_images_per_second(args.device, args.batch_size, args.steps))
        print(
            f"pair {pair + 1}: DataLoader loop {reference[-1]:,.0f} img/s, trainer {ours[-1]:,.0f} img/s, "
            f"ratio {ours[-1] / reference[-1]:.2f}x"
        )
    ratio = statistics.median(o / r for o, r in zip(ours, reference, strict=True))
    reference_ips, ours_ips = statistics.median(reference), statistics.median(ours)
    print(
        f"median: DataLoader loop {reference_ips:,.0f} img/s ({TRAIN_IMAGES / reference_ips:.2f} s/epoch), "
        f"trainer {ours_ips:,.0f} img/s ({TRAIN_IMAGES / ours_ips:.2f} s/epoch), ratio {ratio:.2f}x"
    )
    fast_ips = trainer_images_per_second(args.device, 128, args.steps)
    print(f"trainer at the fast preset's batch 128: {fast_ips:,.0f} img/s ({TRAIN_IMAGES / fast_ips:.2f} s/epoch)")

    usual_eval, our_eval = evaluation_seconds(data_dir, device)
    print(f"evaluation of 10,000 test digits: DataLoader {usual_eval:.3f} s, evaluate() {our_eval:.3f} s")

    chart = None
    if not args.no_live_chart:
        headless, with_chart = live_chart_cost(args.device, args.steps)
        chart = {
            "headless": round(headless, 1),
            "with_chart": round(with_chart, 1),
            "slowdown": round(1 - with_chart / headless, 3),
        }
        print(
            f"live chart: headless {headless:,.0f} img/s, driven like the Train page {with_chart:,.0f} img/s "
            f"({chart['slowdown']:+.1%} slower)"
        )

    reached = [time_to_99(args.device, seed) for seed in args.seeds]
    for r in reached:
        print(
            f"time to 99 %, seed {r['seed']}: "
            + (
                f"{r['seconds']:.2f} s of training ({r['epochs']} epochs)"
                if r["seconds"] is not None
                else f"not reached (final accuracy {r['accuracy']:.2%})"
            )
        )

    summary = {
        "device": str(device),
        "device_name": torch.cuda.get_device_name() if device.type == "cuda" else None,
        "batch_size": args.batch_size,
        "ratio_vs_dataloader": round(ratio, 2),
        "images_per_second": round(ours_ips, 1),
        "dataloader_images_per_second": round(reference_ips, 1),
        "seconds_per_epoch": round(TRAIN_IMAGES / ours_ips, 3),
        "dataloader_seconds_per_epoch": round(TRAIN_IMAGES / reference_ips, 3),
        "fast_preset_images_per_second": round(fast_ips, 1),
        "eval_seconds": round(our_eval, 3),
        "dataloader_eval_seconds": round(usual_eval, 3),
        "live_chart": chart,
        "time_to_99_seconds": [r["seconds"] for r in reached],
        "time_to_99": reached,
        "threads": torch.get_num_threads(),
    }
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
