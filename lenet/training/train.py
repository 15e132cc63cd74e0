"""The training loop: SGD on MNIST tensors that live on the device, reported as events.

The loop indexes batches out of device-resident tensors, never syncs with the host per step
(losses stay on the device and are pulled in chunks), and leaves how a step is done to a
`Stepper` (op by op, or CUDA graph replays). Progress comes out as events, so the same loop
drives a progress bar or a live chart. `python -m lenet` is the command line (lenet.cli).
"""

import threading
import time
from collections.abc import Generator, Iterator

import torch
from torch import nn

from lenet.network.data import Mnist
from lenet.network.evaluate import evaluate
from lenet.network.model import MAX_WEIGHT, within_bounds
from lenet.training.devices import CHANNELS_LAST_DEVICES, autocast_dtype, resolve_device
from lenet.training.events import EpochEnd, Event, Finished, Outcome, Steps
from lenet.training.settings import TrainConfig
from lenet.training.snapshots import Snapshot, SnapshotTaker, most_snapshots, plan
from lenet.training.steppers import Problem, Stepper, learning_rates, make_optimizer, make_stepper, restore_momentum

PULL_EVERY_S = 0.25  # how often step losses come back to the host: often enough for a live chart


class LastGoodWeights:
    """The weights after the last chunk of steps whose losses were all finite and whose weights stayed
    within the model's bounds (finite, at most MAX_WEIGHT), to fall back on: a run never leaves weights
    a checkpoint could not hold."""

    def __init__(self, model: nn.Module):
        self.params = list(model.parameters())
        self.saved = [p.detach().clone() for p in self.params]

    def check(self, losses: torch.Tensor) -> bool:
        """True, and the weights saved, if the losses are finite and the weights within bounds; else the
        saved ones put back."""
        finite = torch.stack([torch.isfinite(losses).all()] + [within_bounds(p) for p in self.params])
        ok = bool(finite.all())
        with torch.no_grad():
            for p, saved in zip(self.params, self.saved, strict=True):
                (saved if ok else p).copy_(p if ok else saved)
        return ok


class Stopwatch:
    """Training time: the wall time less the time spent away, while whoever reads the events holds the
    loop (in the app a run pauses there while another takes its turn)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.away = 0.0

    def seconds(self) -> float:
        return time.perf_counter() - self.started - self.away


def fit(
    model: nn.Module,
    config: TrainConfig,
    data: Mnist,
    stop: threading.Event | None = None,
    optimizer_state: dict | None = None,
    snapshots: bool = False,
) -> Iterator[Event]:
    """Train `model` in place on `config.device`, yielding progress; the last event is `Finished`.

    Setting `stop` ends the run between two steps, with the model as it was after the last one.
    A non-finite loss ends it too, with the last weights that gave finite losses put back.
    With `snapshots`, the weights at the steps `snapshots.plan` picks come out as `Snapshot`
    events (not yet measured), the weights the run ends with last (completed, stopped or diverged).
    """
    device = resolve_device(config.device)
    stop = stop or threading.Event()
    channels_last = device.type in CHANNELS_LAST_DEVICES
    model.to(device, memory_format=torch.channels_last if channels_last else torch.contiguous_format).train()
    images, labels = data.train_images, data.train_labels
    if config.train_subset:
        images, labels = images[: config.train_subset], labels[: config.train_subset]
    images, labels = images.to(device), labels.to(device)
    test_images, test_labels = data.test_images.to(device), data.test_labels.to(device)

    batch_size = min(config.batch_size, len(images))
    steps_per_epoch = len(images) // batch_size  # the last partial batch is dropped: static shapes
    optimizer = make_optimizer(model, config, device)
    if optimizer_state:
        restore_momentum(optimizer, optimizer_state)
    rates = learning_rates(config, steps_per_epoch * config.epochs)
    draws = torch.Generator(device=device).manual_seed(config.seed) if config.augment else None
    amp = autocast_dtype(config.precision, device)
    problem = Problem(model, optimizer, images, labels, batch_size, rates, amp, draws)
    stepper = make_stepper(problem, config.cuda_graph)
    generator = torch.Generator().manual_seed(config.seed)
    guard = LastGoodWeights(model)
    steps = plan(steps_per_epoch * config.epochs, steps_per_epoch, most_snapshots(model.arch)) if snapshots else []
    taker = SnapshotTaker(model, steps)
    taker.take(0)
    yield from taker.collect()
    train_seconds, images_seen, epochs_completed = 0.0, 0, 0
    outcome, message = Outcome.COMPLETED, f"trained {config.epochs} epoch{'s' * (config.epochs != 1)}"

    for epoch in range(1, config.epochs + 1):
        order = torch.randperm(len(images), generator=generator).to(device, non_blocking=True)
        losses = torch.empty(steps_per_epoch, device=device)
        stopwatch = Stopwatch()
        pulled, cut = yield from _epoch(
            stepper, order, losses, epoch, config.epochs, batch_size, stop, guard, taker, stopwatch
        )
        images_seen += pulled * batch_size
        if cut is not None:
            outcome, message = cut
        seconds = stopwatch.seconds()
        train_seconds += seconds
        if outcome != Outcome.COMPLETED:
            break
        epochs_completed = epoch
        evaluation = evaluate(model, test_images, test_labels)
        yield EpochEnd(epoch, losses.mean().item(), seconds, steps_per_epoch * batch_size / seconds, evaluation)
    if outcome != Outcome.COMPLETED:
        if outcome == Outcome.DIVERGED:
            optimizer.state.clear()  # the momentum buffers are poisoned too
        evaluation = evaluate(model, test_images, test_labels)
    if snapshots:  # the weights it ends with, whatever the plan
        taker.take(images_seen // batch_size, planned_only=False)
        yield from taker.collect()
    yield Finished(
        reason=outcome,
        message=message,
        epochs_completed=epochs_completed,
        train_seconds=train_seconds,
        images_per_second=images_seen / train_seconds if train_seconds else 0.0,
        evaluation=evaluation,
        optimizer_state=optimizer.state_dict(),
    )


def _epoch(
    stepper: Stepper,
    order: torch.Tensor,
    losses: torch.Tensor,
    epoch: int,
    epochs: int,
    batch_size: int,
    stop: threading.Event,
    guard: LastGoodWeights,
    taker: SnapshotTaker,
    stopwatch: Stopwatch,
) -> Generator[Steps | Snapshot, None, tuple[int, tuple[Outcome, str] | None]]:
    """One pass over `order`, yielding `Steps` as losses come back, and the snapshots taken meanwhile.

    Returns the number of steps whose losses came back, and the outcome and message if the epoch
    was cut short (stopped, or diverged).
    """
    steps = len(losses)
    done = pulled = 0
    last_pull = stopwatch.started
    while done < steps:
        stopping = stop.is_set()
        if not stopping:
            first = (epoch - 1) * steps + done
            n = min(stepper.steps_per_call, steps - done, taker.steps_to_next(first) or steps)  # lands on planned steps
            batches = order[done * batch_size : (done + n) * batch_size]
            stepper(batches, first, losses[done : done + n])
            done += n
            taker.take(first + n)
        now = time.perf_counter()
        if not stopping and now - last_pull < PULL_EVERY_S and done < steps:
            continue
        if done > pulled:  # a stop pulls the last losses too: the run reports every step it trained
            chunk = losses[pulled:done]
            finite = guard.check(chunk)  # the one host sync per chunk
            taken = taker.collect(finite)
            if not finite:
                message = (
                    f"the loss or the weights blew up in epoch {epoch}, near step {done} (not finite, or a weight "
                    f"past ±{MAX_WEIGHT:g}): the learning rate is probably too high. The last good weights were "
                    "restored."
                )
                return pulled, (Outcome.DIVERGED, message)
            values, now = chunk.tolist(), time.perf_counter()
            rate = done * batch_size / stopwatch.seconds()
            yield Steps(epoch, (epoch - 1) * steps + pulled, values, steps * epochs, rate)
            yield from taken
            stopwatch.away += time.perf_counter() - now
            pulled, last_pull = done, time.perf_counter()
        if stopping:
            step = (epoch - 1) * steps + done
            return pulled, (Outcome.STOPPED, f"stopped in epoch {epoch}, after step {step:,} of {steps * epochs:,}")
    return pulled, None
