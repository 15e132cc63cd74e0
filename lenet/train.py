"""One trainer for the app and the CLI: SGD on MNIST tensors that live on the device.

The hot loop indexes batches out of device-resident tensors, never syncs with the host per step
(losses stay on the device and are pulled in chunks), and on CUDA replays the whole step as one
CUDA graph. Progress comes out as events, so the same loop drives a progress bar or a live chart.
"""

import argparse
import copy
import json
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from lenet.data import Mnist, load_mnist, normalise
from lenet.evaluate import Evaluation, evaluate

SCHEDULES = ("onecycle", "constant")
PRECISIONS = ("auto", "fp32", "bf16")
CHANNELS_LAST_DEVICES = ("cpu",)
PULL_EVERY_S = 0.25  # how often step losses come back to the host: often enough for a live chart


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 3
    batch_size: int = 128
    lr: float = 0.1  # the peak learning rate with the onecycle schedule
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    schedule: str = "onecycle"
    seed: int = 0
    device: str = "auto"
    train_subset: int = 0  # train on the first N images only; 0 means all 60,000
    cuda_graph: bool = True  # on CUDA, replay each step as one captured graph
    precision: str = "auto"  # bf16 autocast on CPUs with native bf16 (AVX512-BF16, AMX), else fp32

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, not {self.precision!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, not {self.schedule!r}")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0 or self.train_subset < 0:
            raise ValueError(f"epochs, batch size and lr must be positive: {self}")
        if self.nesterov and self.momentum <= 0:
            raise ValueError("nesterov needs a positive momentum")


PRESETS = {
    # As PyTorch's tutorial: plain SGD, lr 0.01, batch 64.
    "tutorial": TrainConfig(
        batch_size=64, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0, schedule="constant"
    ),
    # About 99.1 % test accuracy in 3 epochs, at the edge of 99 %: seeds 0-2 reach it on the CPU
    # (99.01-99.14 %), 6 of seeds 0-7 did on an H100 (mean 99.08 %, lowest 98.91 %).
    "fast": TrainConfig(),
}


def preset(name: str, **overrides: object) -> TrainConfig:
    return replace(PRESETS[name], **overrides)


def resolve_device(name: str = "auto") -> torch.device:
    """`auto` is the machine's accelerator (CUDA, MPS, XPU...) when it has one, else the CPU."""
    if name == "auto":
        if torch.accelerator.is_available():
            return torch.accelerator.current_accelerator()
        return torch.device("cpu")
    device = torch.device(name)
    if device.type != "cpu" and not (
        torch.accelerator.is_available() and torch.accelerator.current_accelerator().type == device.type
    ):
        raise ValueError(f"device {name!r} is not available on this machine")
    return device


def cpu_has_native_bf16() -> bool:
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # private, so looked up defensively
    return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)


def autocast_dtype(config: TrainConfig, device: torch.device) -> torch.dtype | None:
    """bf16 where it is measured faster at the same accuracy: CPUs with bf16 units, not CUDA graphs."""
    if config.precision == "bf16" or (config.precision == "auto" and device.type == "cpu" and cpu_has_native_bf16()):
        return torch.bfloat16
    return None


@dataclass(frozen=True)
class Steps:
    """Losses of consecutive training steps, pulled from the device in one transfer."""

    epoch: int  # 1-based
    first_step: int  # 0-based index of losses[0] counted over the whole run
    losses: list[float]
    total_steps: int
    images_per_second: float  # this epoch so far


@dataclass(frozen=True)
class EpochEnd:
    epoch: int
    train_loss: float  # mean over the epoch's steps
    seconds: float  # training time of this epoch, evaluation excluded
    images_per_second: float
    evaluation: Evaluation


@dataclass(frozen=True)
class Finished:
    reason: str  # "completed", "stopped" or "diverged"
    message: str
    epochs_completed: int
    train_seconds: float
    images_per_second: float
    evaluation: Evaluation
    optimizer_state: dict = field(repr=False)


Event = Steps | EpochEnd | Finished


def epoch_record(event: EpochEnd, number: int, config: TrainConfig) -> dict:
    """One line of a model's training history, as checkpoints and the app keep it."""
    return {
        "epoch": number,
        "train_loss": event.train_loss,
        "test_accuracy": event.evaluation.accuracy,
        "seconds": event.seconds,
        "images_per_second": event.images_per_second,
        "config": asdict(config),
    }


def fit(
    model: nn.Module,
    config: TrainConfig,
    data: Mnist,
    stop: threading.Event | None = None,
    optimizer_state: dict | None = None,
) -> Iterator[Event]:
    """Train `model` in place on `config.device`, yielding progress; the last event is `Finished`.

    Setting `stop` ends the run between two steps, with the model as it was after the last one.
    A non-finite loss ends it too, with the last weights that gave finite losses put back.
    """
    device = resolve_device(config.device)
    stop = stop or threading.Event()
    # Channels-last convolutions are about 20 % faster on CPU; a 1-channel input needs no copy for it.
    channels_last = device.type in CHANNELS_LAST_DEVICES
    model.to(device, memory_format=torch.channels_last if channels_last else torch.contiguous_format).train()
    images, labels = data.train_images, data.train_labels
    if config.train_subset:
        images, labels = images[: config.train_subset], labels[: config.train_subset]
    images, labels = images.to(device), labels.to(device)
    test_images, test_labels = data.test_images.to(device), data.test_labels.to(device)
    amp = autocast_dtype(config, device)

    batch_size = min(config.batch_size, len(images))
    steps_per_epoch = len(images) // batch_size  # the last partial batch is dropped: static shapes
    total_steps = steps_per_epoch * config.epochs
    use_graph = device.type == "cuda" and config.cuda_graph
    optimizer = make_optimizer(model, config, device)
    if optimizer_state:
        restore_momentum(optimizer, optimizer_state)
    rates = learning_rates(config, total_steps)
    stepper = (GraphSteps if use_graph else EagerSteps)(model, optimizer, images, labels, batch_size, rates, amp)
    generator = torch.Generator().manual_seed(config.seed)
    params = list(model.parameters())
    last_good = [p.detach().clone() for p in params]
    train_seconds, images_seen, epochs_completed = 0.0, 0, 0
    reason, message = "completed", f"trained {config.epochs} epochs"

    for epoch in range(1, config.epochs + 1):
        order = torch.randperm(len(images), generator=generator).to(device, non_blocking=True)
        losses = torch.empty(steps_per_epoch, device=device)
        epoch_start = last_pull = time.perf_counter()
        done = pulled = 0
        while done < steps_per_epoch:
            if stop.is_set():
                reason, message = "stopped", f"stopped in epoch {epoch} after {done} steps"
                break
            n = min(stepper.steps_per_call, steps_per_epoch - done)
            batches = order[done * batch_size : (done + n) * batch_size]
            stepper(batches, (epoch - 1) * steps_per_epoch + done, losses[done : done + n])
            done += n
            now = time.perf_counter()
            if now - last_pull >= PULL_EVERY_S or done == steps_per_epoch:
                chunk = losses[pulled:done]
                finite = torch.stack([torch.isfinite(chunk).all()] + [torch.isfinite(p).all() for p in params])
                values, ok = chunk.tolist(), bool(finite.all())  # the one host sync per chunk
                if not ok:
                    with torch.no_grad():
                        for p, good in zip(params, last_good, strict=True):
                            p.copy_(good)
                    optimizer.state.clear()  # the momentum buffers are poisoned too
                    reason = "diverged"
                    message = (
                        f"the loss stopped being finite in epoch {epoch}, near step {done}: the learning "
                        "rate is probably too high. The last weights with a finite loss were restored."
                    )
                    break
                for p, good in zip(params, last_good, strict=True):
                    good.copy_(p.detach())
                now = time.perf_counter()
                yield Steps(
                    epoch=epoch,
                    first_step=(epoch - 1) * steps_per_epoch + pulled,
                    losses=values,
                    total_steps=total_steps,
                    images_per_second=done * batch_size / (now - epoch_start),
                )
                pulled, last_pull = done, now
        seconds = time.perf_counter() - epoch_start
        train_seconds += seconds
        images_seen += pulled * batch_size
        if reason != "completed":
            break
        epochs_completed = epoch
        evaluation = evaluate(model, test_images, test_labels)
        yield EpochEnd(
            epoch=epoch,
            train_loss=losses.mean().item(),
            seconds=seconds,
            images_per_second=steps_per_epoch * batch_size / seconds,
            evaluation=evaluation,
        )
    if reason != "completed":
        evaluation = evaluate(model, test_images, test_labels)
    yield Finished(
        reason=reason,
        message=message,
        epochs_completed=epochs_completed,
        train_seconds=train_seconds,
        images_per_second=images_seen / train_seconds if train_seconds else 0.0,
        evaluation=evaluation,
        optimizer_state=optimizer.state_dict(),
    )


def make_optimizer(model: nn.Module, config: TrainConfig, device: torch.device) -> torch.optim.SGD:
    return torch.optim.SGD(
        model.parameters(),
        lr=config.lr,
        momentum=config.momentum,
        nesterov=config.nesterov,
        weight_decay=config.weight_decay,
        fused=device.type in ("cuda", "cpu"),
    )


def learning_rates(config: TrainConfig, total_steps: int) -> list[float]:
    """The learning rate of every step, computed up front: a CUDA graph replays many steps at once."""
    if config.schedule == "constant":
        return [config.lr] * total_steps
    probe = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=config.lr)
    # Momentum stays constant: a CUDA graph bakes it in at capture.
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        probe, max_lr=config.lr, total_steps=total_steps, cycle_momentum=False
    )
    rates = []
    for step in range(total_steps):
        rates.append(probe.param_groups[0]["lr"])
        if step < total_steps - 1:
            probe.step()
            schedule.step()
    return rates


def restore_momentum(optimizer: torch.optim.Optimizer, saved: dict) -> None:
    """Carry the momentum buffers of an earlier run over; the hyperparameters stay as configured."""
    state = optimizer.state_dict()
    state["state"] = saved.get("state", {})
    optimizer.load_state_dict(state)


def batch_loss(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, amp: torch.dtype | None) -> torch.Tensor:
    if amp is None:
        return F.cross_entropy(model(images), labels)
    with torch.autocast(images.device.type, dtype=amp):
        return F.cross_entropy(model(images), labels)


class EagerSteps:
    """SGD steps op by op, one per call."""

    steps_per_call = 1

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        rates: list[float],
        amp: torch.dtype | None,
    ):
        self.model, self.optimizer, self.images, self.labels, self.amp = model, optimizer, images, labels, amp
        self.batch_size, self.rates = batch_size, rates

    def __call__(self, indices: torch.Tensor, first_step: int, losses: torch.Tensor) -> None:
        """Train on the batch at `indices` with the learning rate of step `first_step`; its loss into `losses`."""
        for group in self.optimizer.param_groups:
            group["lr"] = self.rates[first_step]
        images, labels = normalise(self.images.index_select(0, indices)), self.labels.index_select(0, indices)
        loss = batch_loss(self.model, images, labels, self.amp)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        losses[0] = loss.detach()


class GraphSteps(EagerSteps):
    """Whole SGD steps (gather, forward, backward, update) captured as CUDA graphs and replayed.

    One graph holds `steps_per_call` consecutive steps, so a replay costs one launch for all their
    kernels; a one-step graph does an epoch's remainder. Every kernel a step can shed is shed: the
    images are normalised once for the whole set, a replay gathers all its batches with one
    `index_select`, each captured step reads its learning rate from its own slot of a static
    buffer, and the losses are stacked once per replay. Warm-up before capture changes the weights
    and momentum, so both are put back: the run matches the eager path.
    """

    steps_per_call = 32

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        device, chunk = self.images.device, self.steps_per_call * self.batch_size
        self.inputs = normalise(self.images)  # the same values `normalise` gives batch by batch
        self.rates = torch.tensor(self.rates, device=device)
        self.indices = torch.arange(chunk, device=device) % len(self.images)
        self.step_rates = torch.zeros(self.steps_per_call, device=device)
        self.losses = torch.zeros(self.steps_per_call, device=device)
        self.pixels = torch.empty((chunk, *self.inputs.shape[1:]), device=device)
        self.targets = torch.empty(chunk, dtype=self.labels.dtype, device=device)

        weights = copy.deepcopy(self.model.state_dict())
        momentum = {p: s["momentum_buffer"].clone() for p, s in self.optimizer.state.items() if "momentum_buffer" in s}
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                self._steps(1)
        torch.cuda.current_stream().wait_stream(side)
        self.graphs = {n: self._capture(n) for n in (1, self.steps_per_call)}
        with torch.no_grad():
            self.model.load_state_dict(weights)
            for p, state in self.optimizer.state.items():
                if p in momentum:
                    state["momentum_buffer"].copy_(momentum[p])
                elif "momentum_buffer" in state:
                    state["momentum_buffer"].zero_()  # updated by a first step, zero equals a fresh SGD's buffer

    def _steps(self, n: int) -> None:
        size = n * self.batch_size
        torch.index_select(self.inputs, 0, self.indices[:size], out=self.pixels[:size])
        torch.index_select(self.labels, 0, self.indices[:size], out=self.targets[:size])
        losses = []
        for k in range(n):
            batch = slice(k * self.batch_size, (k + 1) * self.batch_size)
            self.optimizer.zero_grad(set_to_none=True)  # backward allocates the gradients in the graph's pool
            loss = batch_loss(self.model, self.pixels[batch], self.targets[batch], self.amp)
            loss.backward()
            for group in self.optimizer.param_groups:
                group["lr"] = self.step_rates[k]  # a 0-d view: the captured update reads its slot at replay
            self.optimizer.step()
            losses.append(loss.detach())
        torch.stack(losses, out=self.losses[:n])

    def _capture(self, n: int) -> torch.cuda.CUDAGraph:
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self._steps(n)
        return graph

    def __call__(self, indices: torch.Tensor, first_step: int, losses: torch.Tensor) -> None:
        """Train on `len(losses)` consecutive batches from `indices`, from step `first_step` on."""
        n = len(losses)
        if n == self.steps_per_call:
            self._replay(self.graphs[n], indices, first_step, losses)
        else:
            for k in range(n):
                batch = indices[k * self.batch_size : (k + 1) * self.batch_size]
                self._replay(self.graphs[1], batch, first_step + k, losses[k : k + 1])

    def _replay(
        self, graph: torch.cuda.CUDAGraph, indices: torch.Tensor, first_step: int, losses: torch.Tensor
    ) -> None:
        n = len(losses)
        self.indices[: len(indices)].copy_(indices)
        self.step_rates[:n].copy_(self.rates[first_step : first_step + n])
        graph.replay()
        losses.copy_(self.losses[:n])


def main(argv: list[str] | None = None) -> dict:
    from tqdm import tqdm

    from lenet.checkpoint import save_checkpoint
    from lenet.model import Net

    parser = argparse.ArgumentParser(prog="python -m lenet.train", description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="fast")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--momentum", type=float)
    parser.add_argument("--nesterov", action=argparse.BooleanOptionalAction)
    parser.add_argument("--weight-decay", type=float)
    parser.add_argument("--schedule", choices=SCHEDULES)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--device", help="auto, cpu, cuda, mps, xpu... (default: auto)")
    parser.add_argument("--precision", choices=PRECISIONS, help="auto: bf16 on CPUs with bf16 units, else fp32")
    parser.add_argument("--train-subset", type=int, help="train on the first N images only")
    parser.add_argument(
        "--data-dir", type=Path, help="folder holding MNIST/raw (default: $LENET_DATA_DIR or ~/.cache/lenet/data)"
    )
    parser.add_argument("--out", type=Path, help="save a checkpoint here")
    args = parser.parse_args(argv)
    overrides = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name, None) is not None}
    config = preset(args.preset, **overrides)

    data = load_mnist(args.data_dir)
    torch.manual_seed(config.seed)
    model = Net()
    history: list[dict] = []
    with tqdm(unit="step", file=sys.stderr) as bar:
        for event in fit(model, config, data):
            if isinstance(event, Steps):
                bar.total = event.total_steps
                bar.update(len(event.losses))
                bar.set_postfix(
                    epoch=event.epoch, loss=f"{event.losses[-1]:.3f}", img_s=f"{event.images_per_second:,.0f}"
                )
            elif isinstance(event, EpochEnd):
                history.append(epoch_record(event, event.epoch, config))
                bar.write(
                    f"epoch {event.epoch}: loss {event.train_loss:.4f}, "
                    f"test accuracy {event.evaluation.accuracy:.2%}, {event.images_per_second:,.0f} img/s",
                    file=sys.stderr,
                )
            else:
                result = event
    if result.reason == "diverged":
        print(result.message, file=sys.stderr)
    if args.out:
        save_checkpoint(args.out, model, config=asdict(config), history=history)
    summary = {
        "test_accuracy": result.evaluation.accuracy,
        "epochs": result.epochs_completed,
        "train_seconds": round(result.train_seconds, 3),
        "images_per_second": round(result.images_per_second, 1),
        "device": str(resolve_device(config.device)),
        "preset": args.preset,
        "config": asdict(config),
        "result": result.reason,
    }
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
