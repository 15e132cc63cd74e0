"""Real MNIST as padded uint8 tensors, decoded once per process, and `normalise`.

Where the files come from, in order: the data folder itself; the gzip copies shipped in
`lenet/assets/mnist` (so training works offline); a torchvision download. The tests check the
decoded digits against torchvision's `MNIST` dataset, pixel for pixel.
"""

import gzip
import hashlib
import os
import shutil
import struct
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

# The training set's pixel statistics, defined once for training and inference alike.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
PAD = 2  # 28 + 2 * 2 = 32, the input size LeNet expects
TRAIN_IMAGES = 60_000
BACKGROUND = (0.0 - MNIST_MEAN) / MNIST_STD  # a black pixel after normalisation

# md5 of the four original, uncompressed files.
RAW_FILES = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
SHIPPED_DIR = Path(__file__).parents[1] / "assets" / "mnist"


class MnistUnavailable(RuntimeError):
    """MNIST could be neither found, extracted nor downloaded."""


@dataclass(frozen=True)
class Mnist:
    """Digits as padded uint8 pixels: 4x less memory than floats; `normalise` turns a batch into input."""

    train_images: torch.Tensor  # (60000, 1, 32, 32) uint8, white on black
    train_labels: torch.Tensor  # (60000,) int64
    test_images: torch.Tensor  # (10000, 1, 32, 32) uint8
    test_labels: torch.Tensor  # (10000,) int64


def default_data_dir() -> Path:
    """`LENET_DATA_DIR` if set, else a per-user cache folder that is writable on any host."""
    if env := os.environ.get("LENET_DATA_DIR"):
        return Path(env)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "lenet" / "data"


def raw_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "MNIST" / "raw"


def missing_files(data_dir: Path) -> list[str]:
    return [name for name, md5 in RAW_FILES.items() if not _intact(raw_dir(data_dir) / name, md5)]


def _intact(path: Path, md5: str) -> bool:
    if not path.is_file():
        return False
    digest = hashlib.md5()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest() == md5


def ensure_mnist(data_dir: Path, shipped_dir: Path = SHIPPED_DIR, download: bool = True) -> Path:
    """Make the four raw files present and intact in `data_dir`; return their folder.

    torchvision is imported only to download: its import alone costs a server more memory than MNIST.
    """
    folder = raw_dir(data_dir)
    if not (missing := missing_files(data_dir)):  # the usual case: one md5 pass, nothing to do
        return folder
    try:
        for name in missing:
            archive = shipped_dir / f"{name}.gz"
            if archive.is_file():
                folder.mkdir(parents=True, exist_ok=True)
                with gzip.open(archive) as packed, (folder / name).open("wb") as unpacked:
                    shutil.copyfileobj(packed, unpacked)
        if (missing := missing_files(data_dir)) and download:
            from torchvision.datasets import MNIST

            print(f"Downloading MNIST into {folder} (missing: {', '.join(missing)})")
            MNIST(str(data_dir), download=True)
            missing = missing_files(data_dir)
    except (OSError, EOFError, RuntimeError, zlib.error) as error:
        raise MnistUnavailable(_help(folder, f"{type(error).__name__}: {error}")) from error
    if missing:
        raise MnistUnavailable(_help(folder, f"missing or corrupt: {', '.join(missing)}"))
    return folder


def _help(folder: Path, cause: str) -> str:
    names = "\n".join(f"  {name}  (md5 {md5})" for name, md5 in RAW_FILES.items())
    return (
        f"MNIST is not available ({cause}).\n"
        f"Put these four uncompressed files into {folder}:\n{names}\n"
        "or connect to the internet so torchvision can download them, "
        "or set LENET_DATA_DIR (or --data-dir) to a folder that holds MNIST/raw/."
    )


def pad(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 digits (N, 28, 28) -> (N, 1, 32, 32), the border black like MNIST's background."""
    return F.pad(pixels.unsqueeze(1), (PAD, PAD, PAD, PAD), value=0)


def normalise(x: torch.Tensor) -> torch.Tensor:
    """uint8 pixels -> float32 with the training set's statistics: the one definition for training and inference."""
    return x.to(torch.float32).div_(255).sub_(MNIST_MEAN).div_(MNIST_STD)


def to_network_input(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 digits (N, 28, 28), white on black, -> normalised (N, 1, 32, 32) float32."""
    return normalise(pad(pixels))


def from_network_input(x: torch.Tensor) -> torch.Tensor:
    """Normalised (N, 1, 32, 32) input -> the (N, 28, 28) uint8 digits it shows, the inverse of `to_network_input`."""
    return to_pixels(((x * MNIST_STD + MNIST_MEAN) * 255).round().clamp(0, 255).to(torch.uint8))


def to_pixels(x: torch.Tensor) -> torch.Tensor:
    """Padded uint8 digits (N, 1, 32, 32) -> the original (N, 28, 28), for display."""
    return x[:, 0, PAD:-PAD, PAD:-PAD]


_cache: dict[Path, Mnist] = {}
_cache_lock = threading.Lock()


def read_idx(path: Path) -> torch.Tensor:
    """A file in MNIST's IDX format: two zero bytes, the type (8: unsigned bytes), the rank, each
    size as a big-endian 32-bit number, then the values. The files are md5-checked before this."""
    raw = path.read_bytes()
    kind, rank = raw[2], raw[3]
    if raw[:2] != b"\0\0" or kind != 0x08:
        raise MnistUnavailable(_help(path.parent, f"{path.name} is not an IDX file of bytes"))
    shape = struct.unpack(f">{rank}I", raw[4 : 4 + 4 * rank])
    return torch.frombuffer(bytearray(raw[4 + 4 * rank :]), dtype=torch.uint8).reshape(shape)


def load_mnist(data_dir: Path | None = None) -> Mnist:
    """MNIST as padded uint8 tensors, decoded once per process and data folder, shared by every caller."""
    key = Path(data_dir or default_data_dir()).resolve()
    with _cache_lock:
        if key not in _cache:
            folder = ensure_mnist(key)
            _cache[key] = Mnist(
                train_images=pad(read_idx(folder / "train-images-idx3-ubyte")),
                train_labels=read_idx(folder / "train-labels-idx1-ubyte").long(),
                test_images=pad(read_idx(folder / "t10k-images-idx3-ubyte")),
                test_labels=read_idx(folder / "t10k-labels-idx1-ubyte").long(),
            )
        return _cache[key]
