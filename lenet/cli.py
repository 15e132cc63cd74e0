"""`python -m lenet`: train from the command line, a progress bar on stderr, JSON on stdout.

Its options are made from `TrainConfig`'s fields, with their help and ranges.
"""

import argparse
import json
import sys
from enum import StrEnum
from pathlib import Path

import torch

from lenet.network.data import load_mnist
from lenet.network.model import Net
from lenet.store.checkpoint import save_checkpoint
from lenet.store.records import EpochRecord
from lenet.training.devices import device_choices, resolve_device
from lenet.training.events import EpochEnd, Finished, Outcome, Steps
from lenet.training.settings import PRESET_HELP, PRESETS, preset, settings
from lenet.training.train import fit


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lenet", description="Train LeNet on MNIST.")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="fast", help=PRESET_HELP.replace("%", "%%"))
    for f, how in settings():
        option, help = "--" + f.name.replace("_", "-"), how.help.replace("%", "%%")  # argparse formats help with %
        if how.low is not None:
            help += f" ({how.range_text})"
        if f.type is bool:
            parser.add_argument(option, action=argparse.BooleanOptionalAction, help=help)
        elif isinstance(f.type, type) and issubclass(f.type, StrEnum):
            parser.add_argument(option, choices=list(f.type), help=help)
        elif f.name == "device":
            parser.add_argument(option, help=f"{help}; here: {', '.join(device_choices())}")
        else:
            parser.add_argument(option, type=f.type, help=help)
    parser.add_argument(
        "--data-dir", type=Path, help="folder holding MNIST/raw (default: $LENET_DATA_DIR or ~/.cache/lenet/data)"
    )
    parser.add_argument("--out", type=Path, help="save a checkpoint here")
    return parser


def main(argv: list[str] | None = None) -> dict:
    from tqdm import tqdm

    arguments = parser()
    args = arguments.parse_args(argv)
    overrides = {f.name: getattr(args, f.name) for f, _ in settings() if getattr(args, f.name) is not None}
    try:
        config = preset(args.preset, **overrides)
    except ValueError as error:
        arguments.error(str(error))

    data = load_mnist(args.data_dir)
    torch.manual_seed(config.seed)
    model = Net()
    history: list[EpochRecord] = []
    with tqdm(unit="step", file=sys.stderr) as bar:
        for event in fit(model, config, data):
            if isinstance(event, Steps):
                bar.total = event.total_steps
                bar.update(len(event.losses))
                bar.set_postfix(
                    epoch=event.epoch, loss=f"{event.losses[-1]:.3f}", img_s=f"{event.images_per_second:,.0f}"
                )
            elif isinstance(event, EpochEnd):
                history.append(EpochRecord(event.epoch, **event.summary(), config=config.to_dict()))
                bar.write(
                    f"epoch {event.epoch}: loss {event.train_loss:.4f}, "
                    f"test accuracy {event.evaluation.accuracy:.2%}, {event.images_per_second:,.0f} img/s",
                    file=sys.stderr,
                )
            elif isinstance(event, Finished):
                result = event
    if result.reason == Outcome.DIVERGED:
        print(result.message, file=sys.stderr)
    if args.out:
        save_checkpoint(args.out, model, config=config.to_dict(), history=history)
    summary = {
        "test_accuracy": result.evaluation.accuracy,
        "epochs": result.epochs_completed,
        "train_seconds": round(result.train_seconds, 3),
        "images_per_second": round(result.images_per_second, 1),
        "device": str(resolve_device(config.device)),
        "preset": args.preset,
        "config": config.to_dict(),
        "result": str(result.reason),
    }
    print(json.dumps(summary))
    return summary
