"""Benchmark of "↩ Bring it back" and the time machine's "Continue": what a swap costs the server, and what
the kept model costs a session and the store, against a Reset to the pretrained weights in the same run.

    python -m benchmarks.bring_back [--repeats 20]

For the tutorial's network and the largest the editor allows: the median seconds of a Reset (the baseline:
a model read from the process's pretrained weights), of a swap (the replaced model kept, the other built back),
and of a Continue from a snapshot; the bytes of the kept weights (the session's memory) and of its part in the
store; and what the full garbage collection that a replacement asks of the janitor takes in a process that holds
torch, Streamlit and plotly. Every swap is checked to bring back the very weights. The last line of stdout is
one JSON object.
"""

import argparse
import json
import statistics
import time
from collections.abc import Callable

import torch

from lenet.model import TUTORIAL, Architecture
from lenet.service.saved_work import replaced_part
from lenet.service.workspace import Workspace
from lenet.store.checkpoint import pretrained
from lenet.training.snapshots import Snapshot

LARGEST = Architecture(conv1_channels=64, conv2_channels=64, fc1_units=512, fc2_units=512)


def median_s(action: Callable[[Workspace], object], repeats: int, arch: Architecture) -> float:
    """The median time of `action` on a model that holds work (made before the clock starts)."""
    times = []
    for _ in range(repeats):
        ws = trained_looking(arch).replaced_by(trained_looking(arch))
        started = time.perf_counter()
        action(ws)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def trained_looking(arch: Architecture) -> Workspace:
    """A model that holds work (a lesson's worth of facts), so that a replacement keeps it."""
    ws = Workspace.from_random_init(1, arch)
    ws.lessons = 1
    return ws


def measure(arch: Architecture, repeats: int) -> dict:
    reset_s = median_s(lambda ws: ws.replaced_by(Workspace.from_checkpoint(pretrained(), "pretrained")), repeats, arch)

    def swap(ws: Workspace) -> None:
        before = ws.inference_model().state_dict()
        back = ws.replaced_by(Workspace.from_replaced(ws.replaced))
        again = back.replaced.weights
        assert all(torch.equal(before[name], again[name]) for name in before), "a swap lost the weights"

    swap_s = median_s(swap, repeats, arch)
    ws = trained_looking(arch).replaced_by(trained_looking(arch))
    snapshot = Snapshot(4, {k: v.half() for k, v in ws.inference_model().state_dict().items()}, 0.5, arch)
    continue_s = median_s(lambda ws: ws.replaced_by(Workspace(snapshot.model(), "step 4 of run 1", [])), repeats, arch)
    return {
        "parameters": arch.parameter_count,
        "reset_ms": round(reset_s * 1e3, 2),
        "swap_ms": round(swap_s * 1e3, 2),
        "continue_ms": round(continue_s * 1e3, 2),
        "kept_kb": round(sum(t.nbytes for t in ws.replaced.weights.values()) / 1024),
        "stored_kb": round(len(replaced_part(ws.replaced)) / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    figures = {}
    for name, arch in (("the tutorial's", TUTORIAL), ("the largest", LARGEST)):
        figures[name] = measure(arch, args.repeats)
        f = figures[name]
        print(
            f"{name} ({f['parameters']:,} parameters): reset {f['reset_ms']} ms (baseline), swap {f['swap_ms']} ms, "
            f"continue {f['continue_ms']} ms; kept {f['kept_kb']:,} KB in memory, {f['stored_kb']:,} KB in the store"
        )
    import gc

    import plotly.graph_objects  # noqa: F401  what a server process holds besides torch
    import streamlit  # noqa: F401

    figures["full collection ms"] = round(median_s(lambda ws: gc.collect(), args.repeats, TUTORIAL) * 1e3, 1)
    print(f"the full collection a replacement asks of the janitor: {figures['full collection ms']} ms in this process")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
