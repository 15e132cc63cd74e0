"""The shape of a LeNet, as a learner may change it: channels, kernels, padding, pooling, activation, widths.

The default is the tutorial's network. Every field is bounded, and the parameter count is worked out
from the fields alone, so a file or a form can ask for a network and be refused before a single weight
is allocated. A combination that cannot run is refused with PyTorch's own words where PyTorch has them.
"""

from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F

INPUT_SIZE = 32  # MNIST's 28 x 28 padded by 2
CLASSES = 10
CHANNELS = (1, 64)
KERNELS = (3, 5)
PADDING = (0, 2)
POOLINGS = ("max", "avg", "none")
ACTIVATIONS = ("relu", "tanh", "sigmoid")
UNITS = (8, 512)
MAX_PARAMETERS = 1_500_000
# What one digit costs, whatever the parameters: a shared server's time and memory go by these. The largest
# networks the editor allows fit both (64 + 64 channels with pooling: 8.2 M multiply-adds, 156 k numbers);
# 64 + 64 channels of 5 x 5 without pooling would cost 390 times the tutorial's arithmetic.
MAX_MULTIPLY_ADDS = 10_000_000  # the tutorial's network: 275 k
MAX_VALUES = 160_000  # numbers forward() makes per digit (every step's output); the tutorial's: 18.6 k
VALUES_AT_ONCE = 20_000_000  # numbers a forward pass over many digits may hold at a time: 80 MB of float32
ACTIVATION_CODE = {"relu": "F.relu", "tanh": "torch.tanh", "sigmoid": "torch.sigmoid"}
POOLING_CODE = {"max": "F.max_pool2d", "avg": "F.avg_pool2d"}


class ArchitectureError(ValueError):
    """A network that is out of bounds or cannot run; the message says why (and PyTorch's words)."""


@dataclass(frozen=True)
class Architecture:
    """A LeNet's shape. `fc1_inputs` None follows the flatten; a number pins it (and may disagree)."""

    conv1_channels: int = 6
    conv2_channels: int = 16
    kernel_size: int = 3
    padding: int = 0
    pooling: str = "max"
    activation: str = "relu"
    fc1_units: int = 120
    fc2_units: int = 84
    fc1_inputs: int | None = None

    def __post_init__(self) -> None:
        bounds = {
            "conv1_channels": CHANNELS,
            "conv2_channels": CHANNELS,
            "padding": PADDING,
            "fc1_units": UNITS,
            "fc2_units": UNITS,
        }
        for name, (low, high) in bounds.items():
            value = getattr(self, name)
            if type(value) is not int or not low <= value <= high:
                raise ArchitectureError(f"{name} must be a whole number from {low} to {high}, not {value!r:.40}")
        if type(self.kernel_size) is not int or self.kernel_size not in KERNELS:
            raise ArchitectureError(f"kernel_size must be 3 or 5, not {self.kernel_size!r:.40}")
        for name, allowed in (("pooling", POOLINGS), ("activation", ACTIVATIONS)):
            if getattr(self, name) not in allowed:
                raise ArchitectureError(f"{name} must be one of {', '.join(allowed)}, not {getattr(self, name)!r:.40}")
        pinned = self.fc1_inputs
        if pinned is not None and (type(pinned) is not int or not 1 <= pinned <= 1_000_000):
            raise ArchitectureError(f"fc1_inputs must be None or a whole number from 1 to 1,000,000, not {pinned!r:.9}")
        if pinned == self.flatten_size:  # pinned to what the flatten gives: the same network as following it
            object.__setattr__(self, "fc1_inputs", None)

    @property
    def map_sizes(self) -> list[int]:
        """The side of the maps after conv1, its pool, conv2 and its pool (the pools' equal to the convs' with none)."""
        sizes, side = [], INPUT_SIZE
        for _ in range(2):
            side = side + 2 * self.padding - self.kernel_size + 1
            sizes.append(side)
            side = side // 2 if self.pooling != "none" else side
            sizes.append(side)
        return sizes

    @property
    def flatten_size(self) -> int:
        return self.conv2_channels * self.map_sizes[-1] ** 2

    @property
    def fc1_in(self) -> int:
        return self.flatten_size if self.fc1_inputs is None else self.fc1_inputs

    @property
    def multiply_adds(self) -> int:
        """Multiply-adds of one digit's forward pass: each convolution's and linear layer's."""
        sizes, total, before = self.map_sizes, 0, 1
        for i, channels in enumerate((self.conv1_channels, self.conv2_channels)):
            total += sizes[2 * i] ** 2 * channels * before * self.kernel_size**2
            before = channels
        return total + self.fc1_in * self.fc1_units + self.fc1_units * self.fc2_units + self.fc2_units * CLASSES

    @property
    def values(self) -> int:
        """Numbers one digit's forward pass makes: every convolution, activation, pooling and linear output."""
        sizes, total = self.map_sizes, 0
        for i, channels in enumerate((self.conv1_channels, self.conv2_channels)):
            total += 2 * sizes[2 * i] ** 2 * channels + (
                sizes[2 * i + 1] ** 2 * channels if self.pooling != "none" else 0
            )
        return total + 2 * (self.fc1_units + self.fc2_units) + CLASSES

    @property
    def digits_at_once(self) -> int:
        """How many digits a forward pass without gradients takes at a time: 1,000 of the tutorial's network,
        fewer of a bigger one (never under 16), so no reading holds more than `VALUES_AT_ONCE` numbers."""
        return max(16, min(1000, VALUES_AT_ONCE // self.values))

    @property
    def parameter_count(self) -> int:
        k2 = self.kernel_size**2
        conv1 = self.conv1_channels * (k2 + 1)
        conv2 = self.conv2_channels * (self.conv1_channels * k2 + 1)
        linear = [(self.fc1_in, self.fc1_units), (self.fc1_units, self.fc2_units), (self.fc2_units, CLASSES)]
        return conv1 + conv2 + sum(n_out * (n_in + 1) for n_in, n_out in linear)

    def forward_lines(self) -> list[str]:
        """`forward()` as the tutorial would write this network, a line per line of `Net.forward`."""
        act = ACTIVATION_CODE[self.activation]

        def block(layer: str) -> str:
            inner = f"{act}(self.{layer}(x))"
            return f"x = {POOLING_CODE[self.pooling]}({inner}, 2)" if self.pooling != "none" else f"x = {inner}"

        return [
            block("conv1"),
            block("conv2"),
            "x = torch.flatten(x, 1)",
            f"x = {act}(self.fc1(x))",
            f"x = {act}(self.fc2(x))",
            "return self.fc3(x)",
        ]

    def check(self) -> None:
        """`ArchitectureError` if this network cannot run, or is too big; nothing is allocated for it."""
        if min(self.map_sizes) < 1:
            raise ArchitectureError(f"the maps shrink to nothing: sides {self.map_sizes}")
        if self.fc1_in != self.flatten_size:
            # PyTorch's own words, from the very shapes forward() would multiply: zero-stride views, nothing
            # allocated whatever a file pins fc1 to
            flat, weight = (
                torch.zeros(()).expand(1, self.flatten_size),
                torch.zeros(()).expand(self.fc1_units, self.fc1_in),
            )
            try:
                F.linear(flat, weight)
            except RuntimeError as error:
                words = str(error).splitlines()[0]
            else:  # pragma: no cover - PyTorch always refuses a mismatch
                words = "the shapes differ"
            channels, side = self.conv2_channels, self.map_sizes[-1]
            raise ArchitectureError(
                f"{words}: the flatten gives {channels} x {side} x {side} = {self.flatten_size:,} numbers, "
                f"fc1 expects {self.fc1_in:,}"
            )
        if self.parameter_count > MAX_PARAMETERS:
            raise ArchitectureError(
                f"{self.parameter_count:,} parameters: at most {MAX_PARAMETERS:,} train on a shared server "
                f"(fc1 alone has {self.fc1_in:,} x {self.fc1_units} weights)"
            )
        if self.multiply_adds > MAX_MULTIPLY_ADDS:
            raise ArchitectureError(
                f"{self.multiply_adds:,} multiply-adds per digit: at most {MAX_MULTIPLY_ADDS:,} on a shared server "
                f"({self.multiply_adds / TUTORIAL.multiply_adds:.0f} times the tutorial's network; pooling or fewer "
                "channels make the maps smaller)"
            )
        if self.values > MAX_VALUES:
            raise ArchitectureError(
                f"{self.values:,} numbers per digit in forward(): at most {MAX_VALUES:,} on a shared server "
                "(pooling or fewer channels make the maps smaller)"
            )

    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        """The state_dict's names and shapes, from the fields alone: a file's weights are checked against
        them before anything is built."""
        k = self.kernel_size
        layers = {
            "conv1": ((self.conv1_channels, 1, k, k), self.conv1_channels),
            "conv2": ((self.conv2_channels, self.conv1_channels, k, k), self.conv2_channels),
            "fc1": ((self.fc1_units, self.fc1_in), self.fc1_units),
            "fc2": ((self.fc2_units, self.fc1_units), self.fc2_units),
            "fc3": ((CLASSES, self.fc2_units), CLASSES),
        }
        shapes: dict[str, tuple[int, ...]] = {}
        for name, (weight, bias) in layers.items():
            shapes[f"{name}.weight"], shapes[f"{name}.bias"] = weight, (bias,)
        return shapes

    @property
    def changes(self) -> list[str]:
        """What differs from the tutorial's network, as "kernel_size 5": for names and tables."""
        return [f"{f.name} {getattr(self, f.name)}" for f in fields(self) if getattr(self, f.name) != f.default]

    @property
    def name(self) -> str:
        """ "the tutorial's network", or what differs from it: "kernel 5, padding 2"."""
        if self == TUTORIAL:
            return "the tutorial's network"
        return ", ".join(change.replace("_size", "").replace("_", " ") for change in self.changes)

    def to_dict(self) -> dict[str, int | str | None]:
        """Plain values, as a checkpoint keeps them (only what differs from the tutorial's)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != f.default}

    @classmethod
    def from_dict(cls, raw: object) -> "Architecture":
        """From a file's plain values: `ArchitectureError` for anything but known names with values in bounds."""
        if not isinstance(raw, dict):
            raise ArchitectureError(f"a network is described by a dict of its fields, not {type(raw).__name__}")
        known = {f.name for f in fields(cls)}
        if unknown := [key for key in raw if key not in known]:
            raise ArchitectureError(f"no such field of a network: {str(unknown[0])[:40]!r}")
        return cls(**raw)


TUTORIAL = Architecture()
