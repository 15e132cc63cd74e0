"""Benchmark of networks a learner can build: how long one epoch takes on this machine, and what the editor
pays to redraw.

    python -m benchmarks.architectures [--images 10000]

For the tutorial's network, LeNet-5-like kernels, the most parameters the editor allows and nearly the
most arithmetic per digit it allows (10 M multiply-adds), it trains the fast
preset on `--images` MNIST digits on the CPU and reports images/s and the time one epoch of 60,000
digits takes at that pace; and it times what the editor does on a change (build the network, record
forward() for its table, print it). The last line of stdout is one JSON object.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from lenet.model import TUTORIAL, Architecture, Net
from lenet.network.anatomy import forward_table
from lenet.network.data import load_mnist
from lenet.training.events import Finished
from lenet.training.settings import preset
from lenet.training.train import fit

NETWORKS = {
    "the tutorial's": TUTORIAL,
    "LeNet-5-like (kernel 5, padding 2)": Architecture(kernel_size=5, padding=2),
    "most parameters (64 + 64 channels, fc1 512 of 2,304, fc2 512)": Architecture(
        conv1_channels=64, conv2_channels=64, fc1_units=512, fc2_units=512
    ),
    "near the most arithmetic (28 + 48 channels of 5 x 5, padding 2: 9.7 M multiply-adds a digit)": Architecture(
        conv1_channels=28, conv2_channels=48, kernel_size=5, padding=2
    ),
}


def editor_seconds(arch: Architecture, repeats: int = 5) -> float:
    def change() -> None:
        net = Net(arch)
        forward_table(net)
        str(net)

    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        change()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def editor_round_trips(changes: int) -> list[float]:
    """In Chromium: switch the kernel between 3 x 3 and 5 x 5, from the click to the new parameter count."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "tools"))
    from browser import page_of_a_fresh_server

    seconds = []
    with page_of_a_fresh_server("Architecture") as page:
        editor = page.locator(".st-key-editor")
        editor.scroll_into_view_if_needed()
        for i in range(changes):
            kernel, count = ("5 x 5", "61,706") if i % 2 == 0 else ("3 x 3", "81,194")
            started = time.perf_counter()
            editor.get_by_text(kernel, exact=True).click()
            editor.get_by_text(f"{count} parameters").wait_for(timeout=30_000)  # fails the measure if never shown
            seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=20, help="kernel changes timed in the browser")
    args = parser.parse_args()
    mnist = load_mnist()
    rows = []
    for name, arch in NETWORKS.items():
        torch.manual_seed(0)
        config = preset("fast", epochs=1, train_subset=args.images, device="cpu")
        *_, finished = fit(Net(arch), config, mnist)
        assert isinstance(finished, Finished) and finished.epochs_completed == 1, finished.message
        epoch_s = 60_000 / finished.images_per_second
        redraw = editor_seconds(arch)
        rows.append(
            {
                "network": name,
                "parameters": arch.parameter_count,
                "images_per_second": round(finished.images_per_second),
                "epoch_of_60000_s": round(epoch_s, 1),
                "editor_redraw_ms": round(redraw * 1000, 1),
            }
        )
        print(
            f"{name}: {arch.parameter_count:,} parameters, {finished.images_per_second:,.0f} images/s, "
            f"an epoch of 60,000 in {epoch_s:.0f} s; the editor redraws it in {redraw * 1000:.0f} ms"
        )
    trips = editor_round_trips(args.changes)
    print(
        f"the editor in Chromium, a click to the new count on screen: median {statistics.median(trips) * 1000:.0f} ms, "
        f"slowest {max(trips) * 1000:.0f} ms ({len(trips)} changes)"
    )
    figures = {"median_ms": round(statistics.median(trips) * 1000), "slowest_ms": round(max(trips) * 1000)}
    print(json.dumps({"threads": torch.get_num_threads(), "networks": rows, "editor_round_trip": figures}))


if __name__ == "__main__":
    main()
