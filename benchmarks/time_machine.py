"""Benchmark of the time machine: what snapshots cost a run, what they weigh, and the server time of
showing the model at one step.

    python -m benchmarks.time_machine

Snapshots' cost is measured as the app trains: the run on the cores the app gives it, the probe
thread measuring each snapshot's accuracy beside it; back-to-back pairs with and without, their
medians compared. The last line of stdout is one JSON object with the figures.
"""

import argparse
import json
import statistics
import time
from unittest import mock

import torch

from benchmarks.why import canvas_image
from lenet.explain.evidence import evidence
from lenet.explain.journey import journey
from lenet.network.data import load_mnist
from lenet.network.inference import read_digit
from lenet.network.model import Net
from lenet.service.slots import training_threads
from lenet.training.events import Finished
from lenet.training.settings import preset
from lenet.training.snapshots import MAX_SNAPSHOTS, PROBE, SNAPSHOT_BYTES, Snapshot, SnapshotTaker, plan, probe
from lenet.training.train import fit

IN_THE_RUN = [0.0]  # seconds the training thread spent taking and collecting snapshots


def timed(method):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            IN_THE_RUN[0] += time.perf_counter() - started

    return wrapper


def one_run(config, snapshots: bool) -> tuple[float, float, list[Snapshot]]:
    """(training images/s, seconds until the last snapshot is measured, snapshots) of one seeded run."""
    mnist = load_mnist()
    digits = probe(mnist.test_images, mnist.test_labels)
    torch.manual_seed(0)
    measured: list[Snapshot] = []
    started = time.perf_counter()
    IN_THE_RUN[0] = 0.0
    for event in fit(Net(), config, mnist, snapshots=snapshots):
        if isinstance(event, Snapshot):
            PROBE.submit(event, *digits, measured.append)
        elif isinstance(event, Finished):
            finished = event
    PROBE.wait()
    return finished.images_per_second, time.perf_counter() - started, measured


def snapshot_cost(config, pairs: int) -> dict:
    without, with_ = [], []
    for pair in range(pairs):
        without.append(one_run(config, snapshots=False))
        with_.append(one_run(config, snapshots=True))
        print(
            f"pair {pair + 1}: without {without[-1][0]:,.0f} img/s, with snapshots {with_[-1][0]:,.0f} img/s "
            f"({with_[-1][0] / without[-1][0] - 1:+.1%}); wall {without[-1][1]:.2f} / {with_[-1][1]:.2f} s"
        )
    plain, kept = statistics.median(r[0] for r in without), statistics.median(r[0] for r in with_)
    pairwise = statistics.median(w[0] / o[0] - 1 for o, w in zip(without, with_, strict=True))
    snapshots = with_[-1][2]
    return {
        "pairwise_change_median": round(pairwise, 4),
        "seconds_in_the_training_thread": round(IN_THE_RUN[0], 4),
        "threads": torch.get_num_threads(),
        "images_per_second_without": round(plain, 1),
        "images_per_second_with": round(kept, 1),
        "throughput_change": round(kept / plain - 1, 4),
        "wall_seconds_without": round(statistics.median(r[1] for r in without), 3),
        "wall_seconds_with": round(statistics.median(r[1] for r in with_), 3),
        "snapshots": len(snapshots),
        "snapshot_megabytes": round(sum(s.nbytes for s in snapshots) / 1e6, 2),
        "accuracy_points": [(s.step, round(s.accuracy, 3)) for s in snapshots],
    }


def probe_seconds(snapshots: list[Snapshot], repeats: int = 10) -> float:
    """Median seconds to measure one snapshot on the 1,000 probe digits, in this thread."""
    mnist = load_mnist()
    digits = probe(mnist.test_images, mnist.test_labels)
    times = []
    for snapshot in snapshots[:repeats]:
        start = time.perf_counter()
        PROBE.submit(snapshot, *digits, lambda _: None)
        PROBE.wait()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def frame_seconds(snapshots: list[Snapshot], digits: int = 10) -> list[float]:
    """Server time of one time-machine frame on the Sketch pad: the past model from its snapshot,
    the drawing's prediction and feature maps, where it looked, and the pictures sent."""
    from lenet.ui import pictures

    mnist = load_mnist()
    images = [canvas_image(mnist.test_images[i, 0, 2:-2, 2:-2]) for i in range(digits)]
    times = []
    for image in images:
        for snapshot in snapshots:
            start = time.perf_counter()
            model = snapshot.model()
            reading = read_digit(model, image, min_extent_px=40)
            shares = evidence(model, reading.x, (reading.prediction, reading.runner_up))
            for share in shares:
                pictures.data_url(pictures.attribution(reading.digit, share, pictures.full_scale(shares)))
            pictures.data_url(pictures.picture(reading.feature_maps["conv1"], 6, diverging=False, cell_px=3))
            pictures.data_url(pictures.picture(reading.feature_maps["conv2"], 8, diverging=False, cell_px=5))
            pictures.data_url(pictures.filters(model.conv1.weight))
            times.append(time.perf_counter() - start)
    return times


def replay_seconds(snapshots: list[Snapshot], digits: int = 10) -> list[float]:
    """Server time of Play's frames for one drawing: every snapshot (padded to the most a run keeps) and
    now reading it in one batched pass, the animated figure built and serialised as Streamlit sends it."""
    from lenet.network.inference import NO_ANSWER_BELOW
    from lenet.ui.html import DIGIT_COLOURS
    from lenet.ui.replay import FRAMES_PER_S, journey_chart

    kept = (snapshots * MAX_SNAPSHOTS)[:MAX_SNAPSHOTS]
    kept = [Snapshot(step, s.weights) for step, s in enumerate(kept)]
    now = snapshots[-1].model()
    mnist = load_mnist()
    times = []
    for i in range(digits):
        x = read_digit(now, canvas_image(mnist.test_images[i, 0, 2:-2, 2:-2]), min_extent_px=40).x
        start = time.perf_counter()
        seen = journey(kept, x, now)
        journey_chart(seen.steps, seen.probabilities, NO_ANSWER_BELOW, 1000 // FRAMES_PER_S, DIGIT_COLOURS).to_json()
        times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.time_machine", description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1, help="of the fast preset on all 60,000 digits")
    parser.add_argument("--no-every-core", action="store_true", help="skip the measurement on every core")
    args = parser.parse_args(argv)
    config = preset("fast", epochs=args.epochs, device="cpu")
    load_mnist()
    all_threads = torch.get_num_threads()

    torch.set_num_threads(training_threads())  # as the app trains: a core left for the pages and the probe
    print(f"as the app trains ({torch.get_num_threads()} of {all_threads} threads), fast preset, {args.epochs} epochs")
    # Timed only while measured, and as they were afterwards, whoever imports this module.
    with (
        mock.patch.object(SnapshotTaker, "take", timed(SnapshotTaker.take)),
        mock.patch.object(SnapshotTaker, "collect", timed(SnapshotTaker.collect)),
    ):
        app = snapshot_cost(config, args.pairs)
        torch.set_num_threads(all_threads)
        every_core = None
        if not args.no_every_core:
            print(f"on every core ({all_threads} threads), the probe competing with the run")
            every_core = snapshot_cost(config, args.pairs)

    _, _, snapshots = one_run(config, snapshots=True)
    measure = probe_seconds(snapshots)
    frames = frame_seconds(snapshots)
    replays = replay_seconds(snapshots)
    steps = plan(3 * 468, 468)
    summary = {
        "as_the_app_trains": app,
        "on_every_core": every_core,
        "probe_seconds_per_snapshot": round(measure, 4),
        "frame_seconds_median": round(statistics.median(frames), 4),
        "frame_seconds_slowest": round(max(frames), 4),
        "frames_timed": len(frames),
        "replay_seconds_median": round(statistics.median(replays), 4),
        "replay_seconds_slowest": round(max(replays), 4),
        "replay_snapshots": MAX_SNAPSHOTS,
        "fast_preset_3_epochs": {"snapshots": len(steps), "megabytes": round(len(steps) * SNAPSHOT_BYTES / 1e6, 2)},
        "most_per_run": {"snapshots": MAX_SNAPSHOTS, "megabytes": round(MAX_SNAPSHOTS * SNAPSHOT_BYTES / 1e6, 2)},
    }
    print(
        f"snapshots' cost to training: {app['throughput_change']:+.1%} (medians), {app['pairwise_change_median']:+.1%} "
        f"(median of the pairs) as the app trains, {app['seconds_in_the_training_thread'] * 1e3:.1f} ms of it in "
        "the training thread"
        + (f", {every_core['throughput_change']:+.1%} on every core" if every_core else "")
        + f"; probe {measure * 1e3:.0f} ms a snapshot\n"
        f"a time-machine frame: median {summary['frame_seconds_median'] * 1e3:.0f} ms, "
        f"slowest {summary['frame_seconds_slowest'] * 1e3:.0f} ms of server time ({len(frames)} frames)\n"
        f"Play's frames for one drawing ({MAX_SNAPSHOTS} snapshots and now, the figure built and serialised): "
        f"median {summary['replay_seconds_median'] * 1e3:.0f} ms, "
        f"slowest {summary['replay_seconds_slowest'] * 1e3:.0f} ms of server time, once "
        f"(a page run per frame was {MAX_SNAPSHOTS + 1} x the frame above)\n"
        f"memory: the fast preset's 3 epochs keep {len(steps)} snapshots, "
        f"{summary['fast_preset_3_epochs']['megabytes']} MB; a run keeps at most {MAX_SNAPSHOTS}, "
        f"{summary['most_per_run']['megabytes']} MB"
    )
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
