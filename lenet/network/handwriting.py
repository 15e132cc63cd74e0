"""The learner's own digits: what the network saw of each drawing, with the label the learner gave it.

A set holds at most `MAX_DIGITS` digits as 28 x 28 uint8 pixels (784 bytes each: 200 digits take
157 KB). It travels as a `.npz` file of two arrays, `digits` (N, 28, 28) uint8 and `labels` (N,)
integers 0-9; `numpy.load(...)` reads it anywhere. A file may come from anyone, so reading one is
bounded before anything is unpacked (size, entries, what they declare they unpack to), never
unpickles (`allow_pickle=False`), and checks every array; any failure is a `DigitSetError`.
"""

import io
import zipfile
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lenet.network.data import to_network_input
from lenet.network.evaluate import NUM_CLASSES
from lenet.zipped import NotAnArchive, open_archive, read_record, unpacked_bytes

MAX_DIGITS = 1_000
MIN_FOR_ACCURACY = 10  # fewer digits say little about a hand
MAX_SET_FILE_BYTES = 2 * 1024 * 1024  # a full set is 0.8 MB unpacked, less as a file
MAX_SET_UNPACKED_BYTES = MAX_DIGITS * (28 * 28 + 8) + 4096  # the two arrays at their largest, and headers
ARRAYS = {"digits.npy", "labels.npy"}


class DigitSetError(ValueError):
    """The file is not a set of digits this app can use; the message says why."""


class SetFull(ValueError):
    """The set holds `MAX_DIGITS` already."""


@dataclass(frozen=True)
class HandAccuracy:
    """How a model reads the learner's digits."""

    right: int
    total: int
    predictions: list[int]
    confusion: list[list[int]]  # confusion[label][prediction]

    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else 0.0


class DigitSet:
    """The session's own digits, oldest first.

    Pixels and labels are replaced together, as one tuple, never changed in place: the training
    thread reads the set while the learner adds to it.
    """

    def __init__(self, pixels: torch.Tensor | None = None, labels: torch.Tensor | None = None):
        empty = (torch.empty((0, 28, 28), dtype=torch.uint8), torch.empty(0, dtype=torch.int64))
        self._items = (pixels, labels) if pixels is not None and labels is not None else empty
        self.version = 0  # changes with every change of the set: a key for what was worked out from it

    @property
    def pixels(self) -> torch.Tensor:
        return self._items[0]

    @property
    def labels(self) -> torch.Tensor:
        return self._items[1]

    def __len__(self) -> int:
        return len(self._items[1])

    def _replace(self, pixels: torch.Tensor, labels: torch.Tensor) -> None:
        self._items, self.version = (pixels, labels), self.version + 1

    def add(self, digit: torch.Tensor, label: int) -> None:
        """One 28 x 28 uint8 digit, as the network saw it, with its true label."""
        if len(self) >= MAX_DIGITS:
            raise SetFull(f"Your set holds {MAX_DIGITS:,} digits, the most it can: delete some first.")
        if digit.shape != (28, 28) or digit.dtype != torch.uint8 or label not in range(NUM_CLASSES):
            raise ValueError("a digit is 28 x 28 uint8 pixels with a label from 0 to 9")
        pixels, labels = self._items
        self._replace(torch.cat([pixels, digit[None].clone()]), torch.cat([labels, torch.tensor([label])]))

    def remove(self, index: int) -> None:
        keep = torch.arange(len(self)) != index
        self._replace(self.pixels[keep], self.labels[keep])

    def replace_with(self, other: "DigitSet") -> None:
        self._replace(*other._items)

    def clear(self) -> None:
        self._replace(*DigitSet()._items)

    @property
    def nbytes(self) -> int:
        return self.pixels.nbytes + self.labels.nbytes

    @torch.inference_mode()
    def read_by(self, model: nn.Module) -> HandAccuracy:
        """`model`'s answers for every digit of the set (a CPU model: the published one, or a snapshot's)."""
        pixels, labels, at_once = self._items[0], self._items[1].tolist(), model.arch.digits_at_once
        predictions = [
            prediction
            for start in range(0, len(labels), at_once)
            for prediction in model(to_network_input(pixels[start : start + at_once])).argmax(1).tolist()
        ]
        confusion = [[0] * NUM_CLASSES for _ in range(NUM_CLASSES)]
        for label, prediction in zip(labels, predictions, strict=True):
            confusion[label][prediction] += 1
        right = sum(label == prediction for label, prediction in zip(labels, predictions, strict=True))
        return HandAccuracy(right, len(labels), predictions, confusion)

    def to_npz(self) -> bytes:
        pixels, labels = self._items
        buffer = io.BytesIO()
        np.savez_compressed(buffer, digits=pixels.numpy(), labels=labels.numpy().astype(np.uint8))
        return buffer.getvalue()

    @classmethod
    def from_npz(cls, raw: bytes) -> "DigitSet":
        """A set from a `.npz` file, checked; `DigitSetError` says what is wrong with it."""
        digits, labels = _read_arrays(raw)
        if digits.dtype != np.uint8 or digits.ndim != 3 or digits.shape[1:] != (28, 28):
            raise DigitSetError(f"its digits are {digits.dtype} {digits.shape}; a set holds (N, 28, 28) uint8 pixels")
        if labels.ndim != 1 or labels.dtype.kind not in "iu" or len(labels) != len(digits):
            raise DigitSetError(f"its labels are {labels.dtype} {labels.shape}: one whole number per digit is needed")
        if len(digits) > MAX_DIGITS:
            raise DigitSetError(f"it holds {len(digits):,} digits; a set holds at most {MAX_DIGITS:,}")
        if len(labels) and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
            raise DigitSetError("its labels must be digits from 0 to 9")
        return cls(torch.from_numpy(digits.copy()), torch.from_numpy(labels.astype(np.int64)))


def _read_arrays(raw: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The two arrays of a `.npz` file, bounded before anything is unpacked, each read from at most its
    declared bytes (numpy's own reader would inflate a record whole)."""
    if len(raw) > MAX_SET_FILE_BYTES:
        raise DigitSetError(f"the file is {len(raw) / 1e6:.1f} MB; a set of digits is under 1 MB")
    try:
        archive = open_archive(raw)
    except NotAnArchive as error:
        raise DigitSetError(f"not a set of digits (a .npz file, as this app downloads it): {error}") from None
    with archive:
        entries = archive.infolist()
        names = {entry.filename for entry in entries}
        if names != ARRAYS or len(entries) != len(ARRAYS):
            shown = ", ".join(sorted(names))[:200] or "none"
            raise DigitSetError(f"a set holds the arrays digits and labels, not {shown}")
        if unpacked_bytes(entries) > MAX_SET_UNPACKED_BYTES:
            raise DigitSetError(f"it unpacks to more than {MAX_DIGITS:,} digits could")
        arrays = {entry.filename: _array(archive, entry) for entry in entries}
    return arrays["digits.npy"], arrays["labels.npy"]


def _array(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> np.ndarray:
    try:
        array = np.load(io.BytesIO(read_record(archive, entry)), allow_pickle=False)
    except NotAnArchive as error:
        raise DigitSetError(f"not a set of digits: {error}") from None
    except Exception as error:  # numpy raises many types for broken arrays and refused pickles
        raise DigitSetError(f"its array {entry.filename} cannot be read safely ({type(error).__name__})") from None
    if not isinstance(array, np.ndarray):  # an archive inside the archive, say
        raise DigitSetError(f"its {entry.filename} is not an array")
    return array
