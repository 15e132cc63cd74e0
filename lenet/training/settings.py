"""The training settings: one dataclass whose fields carry their label, help and range.

The CLI's options, the Train page's widgets and the validation are all made from these fields,
so a setting is described once, here.
"""

import math
from collections.abc import Mapping
from dataclasses import Field, asdict, dataclass, field, fields, replace
from enum import StrEnum
from typing import Any

from lenet.text import described, is_clean


class Schedule(StrEnum):
    ONECYCLE = "onecycle"
    CONSTANT = "constant"


class Precision(StrEnum):
    AUTO = "auto"
    FP32 = "fp32"
    BF16 = "bf16"


@dataclass(frozen=True)
class Setting:
    """How one field of `TrainConfig` is shown, parsed and checked."""

    label: str
    help: str
    low: float | None = None  # inclusive bounds, checked on every config
    high: float | None = None
    options: tuple = ()  # the values a page offers in a select box; the CLI still takes any value in range
    option_names: Mapping[Any, str] = field(default_factory=dict)  # how an option reads, when not str(value)
    page: str | None = "main"  # "main", "more" (folded away) or None: command line only
    typed: bool = False  # typed as text on a page (0.1, 1e-3...), so a value out of range is refused, not clamped
    step: float | None = None  # a number input's step

    def name_of(self, value: object) -> str:
        return self.option_names.get(value, str(value))

    @property
    def range_text(self) -> str:
        return f"{_number(self.low)} to {_number(self.high)}"


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def setting(default: object, label: str, help: str, **how: Any) -> Any:
    return field(default=default, metadata={"setting": Setting(label, help, **how)})


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = setting(3, "Epochs", "Passes over the training images", low=1, high=30)
    batch_size: int = setting(
        128, "Batch size", "Digits per SGD step", low=1, high=60_000, options=(16, 32, 64, 128, 256, 512, 1024)
    )
    lr: float = setting(
        0.1,
        "Learning rate",
        "How far each step moves the weights down the gradient; with onecycle, the highest rate it reaches",
        low=1e-4,
        high=100.0,
        typed=True,
    )
    momentum: float = setting(
        0.9,
        "Momentum",
        "Each step keeps this share of the step before, so steps gather speed along a steady slope; "
        "0 is plain SGD, as the tutorial",
        low=0.0,
        high=0.99,
        step=0.05,
    )
    nesterov: bool = setting(
        True,
        "Nesterov momentum",
        "Take the gradient where the momentum is about to carry the weights, not where they are: a steadier step",
        page="more",
    )
    weight_decay: float = setting(
        5e-4,
        "Weight decay",
        "Shrink every weight by this share of itself each step (an L2 penalty): weights grow only where the digits ask",
        low=0.0,
        high=0.1,
        typed=True,
        page="more",
    )
    schedule: Schedule = setting(
        Schedule.ONECYCLE,
        "Schedule",
        "onecycle: the rate climbs to its peak over the first 30 % of the steps (a warm-up), then falls "
        "slowly to almost 0 (it anneals); constant: the same rate throughout, as the tutorial",
    )
    seed: int = setting(0, "Seed", "Seeds the order of the training images", low=0, high=2**31 - 1, page="more")
    device: str = setting("auto", "Device", "auto: the machine's GPU or accelerator if it has one, else the CPU")
    train_subset: int = setting(
        0,
        "Training images",
        "Train on the first N of MNIST's 60,000 training images, or on all of them",
        low=0,
        high=60_000,
        options=(0, 10_000, 1_000),
        option_names={0: "all 60,000", 10_000: "10,000", 1_000: "1,000"},
    )
    augment: bool = setting(
        False,
        "Augment",
        "Turn (±15°), move (±3 px), resize (±15 %) and shear (±10°) each training digit at random, "
        "on the device: closer to how people write",
        page="more",
    )
    cuda_graph: bool = setting(True, "CUDA graphs", "On CUDA, replay each step as one captured graph", page=None)
    precision: Precision = setting(
        Precision.AUTO, "Precision", "auto: bf16 on CPUs with bf16 units, else fp32", page=None
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(f.type, type) and issubclass(f.type, StrEnum):
                try:
                    object.__setattr__(self, f.name, f.type(value))
                except ValueError:
                    choices = ", ".join(f.type)
                    raise ValueError(f"{f.name} must be one of {choices}, not {described(value)}") from None
            how = setting_of(f)
            if how.low is not None and not how.low <= value <= how.high:  # also refuses NaN
                raise ValueError(f"{how.label} must be from {how.range_text}, not {described(value)}")
        if self.nesterov and self.momentum <= 0:
            raise ValueError("Nesterov momentum needs a positive momentum")

    def to_dict(self) -> dict[str, int | float | bool | str]:
        """Plain values only, as checkpoints and JSON keep them (a checkpoint must not pickle an enum)."""
        return {name: str(value) if isinstance(value, StrEnum) else value for name, value in asdict(self).items()}


def setting_of(f: Field) -> Setting:
    return f.metadata["setting"]


def settings() -> list[tuple[Field, Setting]]:
    """Every field of `TrainConfig` with its description, in declaration order."""
    return [(f, setting_of(f)) for f in fields(TrainConfig)]


def plain_config(raw: object) -> dict:
    """A config as a checkpoint records it, checked: known setting names, plain values (ValueError if not).

    Values are not held to today's ranges: a config records what a run did.
    """
    if not isinstance(raw, dict):
        raise ValueError("a config is not a dict")
    names = {f.name for f in fields(TrainConfig)}
    for key, value in raw.items():
        if key not in names:
            raise ValueError(f"a config has an unknown setting {described(key)}")
        if type(value) not in (int, float, bool, str):
            raise ValueError(f"the config's {key} is not a plain value")
        if not (math.isfinite(value) if isinstance(value, float) else is_clean(str(value), 64)):
            raise ValueError(f"the config's {key} is not a valid value")
    return dict(raw)


PRESETS = {
    # As PyTorch's tutorial: plain SGD, lr 0.01, batch 64.
    "tutorial": TrainConfig(
        batch_size=64, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0, schedule=Schedule.CONSTANT
    ),
    # About 99.1 % test accuracy in 3 epochs, at the edge of 99 % (the seeds' figures:
    # docs/measurements/2026-11-27-training-speed.md).
    "fast": TrainConfig(),
    # Short runs from scratch (10,000 digits, one epoch): onecycle spends them warming up and annealing;
    # a constant rate learns from the first step (docs/measurements/2026-12-01-readable-panels.md).
    "quick": TrainConfig(lr=0.05, schedule=Schedule.CONSTANT),
}
PRESET_HELP = (
    "tutorial: plain SGD, lr 0.01, batch 64, as in PyTorch's tutorial. fast: about 99 % in 3 epochs. "
    "quick: for short runs from scratch (10,000 digits, 1 epoch: about 90 %), a constant rate 0.05, no warm-up."
)


def preset(name: str, **overrides: object) -> TrainConfig:
    return replace(PRESETS[name], **overrides)


OPTIMISATION = ("batch_size", "lr", "momentum", "nesterov", "weight_decay", "schedule")  # what a preset fixes


def preset_name(config: TrainConfig) -> str:
    """The preset whose optimisation settings `config` has, or "custom"."""
    chosen = config.to_dict()
    for name, settings_of_preset in PRESETS.items():
        if all(chosen[key] == settings_of_preset.to_dict()[key] for key in OPTIMISATION):
            return name
    return "custom"
