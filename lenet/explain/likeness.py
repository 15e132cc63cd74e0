"""Which digits the model finds alike: 84 numbers per digit, what fc2 passes on after its ReLU.

The training set's 60,000 representations are worked out once per set of weights (2-4 s on two
cores), in one background thread per process, and kept as 8-bit codes with one scale per digit:
5.5 MB where floats take 20 MB. The neighbours hardly move: for the pretrained model the majority
label of a test digit's 8 nearest agrees with its prediction on 499 of the first 500, codes or
floats alike (measured). The pretrained weights' set is kept for the whole process and shared by
every session; any other set lives as long as a model with those weights does.
"""

import collections
import functools
import hashlib
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import torch

from lenet.memory import give_back_freed_memory
from lenet.network.anatomy import after_relu, forward_steps
from lenet.network.architecture import Architecture
from lenet.network.data import Mnist, MnistUnavailable, load_mnist, normalise
from lenet.network.model import Net
from lenet.store.checkpoint import pretrained
from lenet.workers import QueueWorker

LAYER = "fc2"  # the last hidden layer: what fc3 turns into the ten scores
CHUNK = 512  # digits per forward pass; the fastest size measured here (1,000 and more: 1.5-2x slower)
SEARCH_CHUNK = 10_000  # codes turned back into floats at a time while searching (3.4 MB)


LOOK_ALIKE_WORK = 60_000 * 1_200_000  # multiply-adds the job may spend on one set of weights: all 60,000
# training digits for the tutorial's network (4 times its own cost), fewer for a heavier one
LOOK_ALIKE_BYTES = 60_000 * 84  # the codes kept per set of weights: 5 MB, as the tutorial's fc2 makes them


def searched(arch: Architecture) -> int:
    """How many training digits (the first ones) the look-alikes are found among for network `arch`: all of
    them unless its arithmetic or its fc2's width would cost more than the tutorial's allowance."""
    return min(60_000, LOOK_ALIKE_WORK // arch.multiply_adds, LOOK_ALIKE_BYTES // arch.fc2_units)


class RepresentationsUnavailable(RuntimeError):
    """The training set's representations could not be worked out; the message says why."""


def representation(model: Net, x: torch.Tensor) -> torch.Tensor:
    """(N, 1, 32, 32) network input -> (N, 84): the output of fc2 after its ReLU."""
    return after_relu(forward_steps(model, x))[LAYER]


def fingerprint(state: dict[str, torch.Tensor]) -> str:
    """A digest of the weights, so sessions whose models hold the same weights share one set."""
    digest = hashlib.blake2b(digest_size=16)
    for name, tensor in state.items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


@dataclass(frozen=True, eq=False)
class TrainingSetRepresentations:
    """Every training digit's representation as uint8 codes: code * scale is the representation."""

    codes: torch.Tensor  # (60000, 84) uint8
    scales: torch.Tensor  # (60000,) float32
    squared_norms: torch.Tensor  # (60000,) float32, of code * scale

    @classmethod
    @torch.inference_mode()
    def of(
        cls, model: Net, images: torch.Tensor, cancelled: Callable[[], bool] = lambda: False
    ) -> "TrainingSetRepresentations | None":
        """Of uint8 `images` (N, 1, 32, 32), CHUNK digits at a time; None once `cancelled()`."""
        codes, scales, chunk = [], [], min(CHUNK, model.arch.digits_at_once)
        for start in range(0, len(images), chunk):
            if cancelled():
                return None
            rows = representation(model, normalise(images[start : start + chunk]))
            scale = rows.amax(dim=1).clamp_min(1e-12) / 255
            codes.append((rows / scale[:, None]).round_().to(torch.uint8))
            scales.append(scale)
        codes, scales = torch.cat(codes), torch.cat(scales)
        return cls(codes, scales, (codes.float().square().sum(dim=1)) * scales.square())

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (self.codes, self.scales, self.squared_norms))

    def nearest(self, query: torch.Tensor, k: int) -> torch.Tensor:
        """Indices of the `k` rows nearest to the (84,) `query` (euclidean), nearest first."""
        distances = []
        for start in range(0, len(self.codes), SEARCH_CHUNK):
            stop = start + SEARCH_CHUNK
            dots = (self.codes[start:stop].float() @ query) * self.scales[start:stop]
            distances.append(self.squared_norms[start:stop] - 2 * dots)
        return torch.cat(distances).topk(k, largest=False).indices  # + |query|^2 changes no order


class Representations(QueueWorker):
    """Per process: the training set's representations for each set of weights a live model holds.

    `lookup` never waits: it answers from what is there and queues the rest for the one worker
    thread, which works through the queue in order and skips models no one holds any more.
    """

    def __init__(self, data: Callable[[], Mnist] = load_mnist):
        super().__init__("lenet-likeness")
        self._data = data
        self._by_weights: weakref.WeakValueDictionary[str, TrainingSetRepresentations] = weakref.WeakValueDictionary()
        self._held: weakref.WeakKeyDictionary[Net, TrainingSetRepresentations] = weakref.WeakKeyDictionary()
        self._kept: dict[str, TrainingSetRepresentations] = {}  # the pretrained weights': never freed
        self._failed: dict[str, str] = {}
        self._queue: collections.deque[tuple[str, weakref.ref[Net]]] = collections.deque()
        self._working: str | None = None  # the weights being worked out now

    def lookup(self, model: Net) -> TrainingSetRepresentations | None:
        """The representations for `model`'s weights, or None while they are being worked out.

        `model` must not change afterwards (give it a published copy).
        `RepresentationsUnavailable` if they could not be worked out (MNIST missing, say).
        """
        with self._lock:
            if (found := self._held.get(model)) is not None:  # asked before: no digest of the weights again
                return found
        key = fingerprint(model.state_dict())
        with self._lock:
            if (found := self._by_weights.get(key)) is not None:
                self._held[model] = found  # this model keeps them alive too
                return found
            if key in self._failed:  # kept: trying again would only fail again, or start a download each time
                raise RepresentationsUnavailable(self._failed[key])
            if key != self._working and all(queued != key for queued, _ in self._queue):
                self._queue.append((key, weakref.ref(model)))
            self._wake()
            return None

    def wait(self, model: Net, timeout: float | None = None) -> TrainingSetRepresentations:
        """As `lookup`, but waits for them; `TimeoutError` after `timeout` seconds."""
        with self._lock:
            found = self._lock.wait_for(lambda: self.lookup(model), timeout)
        if found is None:
            raise TimeoutError(f"the training set's representations took longer than {timeout} s")
        return found

    def pending(self) -> int:
        """Sets of weights waiting to be worked out, the one being worked out included."""
        with self._lock:
            return len(self._queue) + (self._working is not None)

    def _work(self) -> None:
        while True:
            with self._lock:
                self._working = None
                if not self._queue or self._closing.is_set():
                    self._worker = None
                    return
                key, ref = self._queue.popleft()
                model = ref()
                if model is None:  # its weights changed again before their turn
                    continue
                self._working = key
            try:
                images = self._data().train_images[: searched(model.arch)]
                found = TrainingSetRepresentations.of(model, images, self._closing.is_set)
            except Exception as error:  # said to every page that waits for them, never lost in the thread
                cause = str(error) if isinstance(error, MnistUnavailable) else f"{type(error).__name__}: {error}"
                with self._lock:
                    self._failed[key] = cause
                    self._lock.notify_all()
                continue
            give_back_freed_memory()  # the passes' intermediate outputs, freed but kept by malloc
            if found is None:  # closing
                continue
            with self._lock:
                self._by_weights[key] = self._held[model] = found
                if key == _pretrained_key():
                    self._kept[key] = found
                self._lock.notify_all()
            del model, found  # the worker must not keep them alive while it waits for the lock


@functools.cache
def _pretrained_key() -> str:
    return fingerprint(pretrained().weights)


REPRESENTATIONS = Representations()  # the one per process
