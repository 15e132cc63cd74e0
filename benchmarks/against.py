"""The trainer's speed in this working tree against a commit, in alternating pairs, in one run:

    python -m benchmarks.against 2a7e632            # or: python -m benchmarks.training --against 2a7e632

The commit's `lenet/` is unpacked to a temporary folder (`git archive`); each measurement is a fresh
Python process that imports one tree or the other, trains `--steps` SGD steps on real MNIST and
reports images/s. The order alternates (this tree first in odd pairs, the commit first in even ones),
so a machine that speeds up or slows down during the run favours neither, and each case ends with a
verdict: slower or faster only when every pair agrees. A change that costs speed shows up the day
it is made; `python -m benchmarks.against HEAD` (this tree against itself) shows the noise. The
last line of stdout is one JSON object with the figures.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Run in each tree: the trainer at the given batch size, as benchmarks.training measures it. The
# imports cover the layouts the project has had (lenet.train held the settings once).
MEASURE = r"""
import json, sys, torch
try:
    from lenet.training.train import fit
    from lenet.training.settings import preset
    from lenet.network.data import load_mnist
    from lenet.network.model import Net
except ImportError:
    from lenet.train import fit
    from lenet.data import load_mnist
    from lenet.model import Net
    try:
        from lenet.settings import preset
    except ImportError:
        from lenet.train import preset
batch, steps, tutorial_like = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
torch.set_num_threads(int(sys.argv[4]))
changes = dict(lr=0.01, momentum=0.9, nesterov=False, weight_decay=0.0, schedule="constant") if tutorial_like else {}
config = preset("fast", device="cpu", batch_size=batch, epochs=1, train_subset=steps * batch, **changes)
mnist = load_mnist()
torch.manual_seed(0)
list(fit(Net(), preset("fast", device="cpu", batch_size=batch, epochs=1, train_subset=20 * batch), mnist))  # warm-up
torch.manual_seed(0)
finished = list(fit(Net(), config, mnist))[-1]
print(json.dumps({"images_per_second": finished.images_per_second}))
"""

CASES = {"batch 64": (64, True), "fast preset (batch 128)": (128, False)}


def unpack(ref: str, into: Path) -> Path:
    """The `lenet/` package as it is at `ref`, under `into`."""
    archive = subprocess.run(["git", "archive", ref, "lenet"], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def measure(tree: Path, batch: int, steps: int, tutorial_like: bool, threads: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    args = [str(batch), str(steps), "1" if tutorial_like else "0", str(threads)]
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, *args], cwd=tree, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"the measurement in {tree} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])["images_per_second"]


def verdict(ratios: list[float]) -> str:
    """Slower or faster only when every pair says so (a sign test: 6 pairs one way by chance, 1 in 64);
    else the difference is within this machine's noise (this tree against itself swings by 5-13 % a pair)."""
    if len(ratios) >= 5 and all(r < 1 for r in ratios):
        return "slower in every pair"
    if len(ratios) >= 5 and all(r > 1 for r in ratios):
        return "faster in every pair"
    return "within this machine's noise"


def compare(ref: str, pairs: int, steps: int, threads: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        trees = {"this tree": ROOT, ref: unpack(ref, Path(folder))}
        figures = {}
        for case, (batch, tutorial_like) in CASES.items():
            speeds: dict[str, list[float]] = {name: [] for name in trees}
            for pair in range(pairs):
                order = list(trees) if pair % 2 == 0 else list(trees)[::-1]
                for name in order:
                    speeds[name].append(measure(trees[name], batch, steps, tutorial_like, threads))
                ratio = speeds["this tree"][-1] / speeds[ref][-1]
                print(
                    f"{case}, pair {pair + 1} ({' then '.join(order)}): this tree {speeds['this tree'][-1]:,.0f}, "
                    f"{ref} {speeds[ref][-1]:,.0f} img/s, ratio {ratio:.3f}",
                    flush=True,
                )
            ratios = [new / old for new, old in zip(speeds["this tree"], speeds[ref], strict=True)]
            figures[case] = {
                "this_tree": [round(s) for s in speeds["this tree"]],
                ref: [round(s) for s in speeds[ref]],
                "ratios": [round(r, 3) for r in ratios],
                "median_ratio": round(statistics.median(ratios), 3),
                "verdict": verdict(ratios),
            }
            print(
                f"{case}: median ratio {figures[case]['median_ratio']:.3f} (this tree / {ref}), pairs "
                f"{min(ratios):.3f}-{max(ratios):.3f}: {figures[case]['verdict']}",
                flush=True,
            )
    return figures


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.against", description=__doc__.splitlines()[0])
    parser.add_argument("ref", help="a git commit, branch or tag")
    parser.add_argument("--pairs", type=int, default=6, help="pairs per case, in alternating order")
    parser.add_argument("--steps", type=int, default=300, help="timed SGD steps per measurement")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads of each run")
    args = parser.parse_args(argv)
    figures = compare(args.ref, args.pairs, args.steps, args.threads)
    summary = {"against": args.ref, "steps": args.steps, "threads": args.threads, "cases": figures}
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
