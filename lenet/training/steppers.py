"""How one SGD step is done: op by op (any device), or as replays of captured CUDA graphs.

`fit` sees only the `Stepper` protocol: how many steps a call does, and the call itself.
"""

import copy
import math
from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from lenet.network.augment import augment
from lenet.network.data import normalise
from lenet.training.settings import Schedule, TrainConfig


class Stepper(Protocol):
    steps_per_call: int  # the most steps one call may do; `fit` asks for fewer at an epoch's end

    def __call__(self, indices: torch.Tensor, first_step: int, losses: torch.Tensor) -> None:
        """Train on `len(losses)` consecutive batches drawn from `indices`, the first being step
        `first_step` of the run (for its learning rate), and write their losses into `losses`."""


@dataclass(frozen=True)
class Problem:
    """What every stepper trains: a model and its optimizer on uint8 images that live on the device."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    images: torch.Tensor  # (N, 1, 32, 32) uint8
    labels: torch.Tensor  # (N,) int64
    batch_size: int
    rates: list[float]  # the learning rate of every step of the run
    amp: torch.dtype | None  # autocast dtype, or None for fp32
    augment: torch.Generator | None = None  # draws each batch's random transforms; None: no augmentation


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
    """The learning rate of every step, computed up front: a CUDA graph replays many steps at once.

    onecycle is `torch.optim.lr_scheduler.OneCycleLR`'s default schedule, written out (a test holds
    it to torch's): stepping torch's scheduler takes 30 us a step, 3 s before a long run's first step.
    """
    if config.schedule == Schedule.CONSTANT:
        return [config.lr] * total_steps
    peak, warm_up_end = config.lr, 0.3 * total_steps - 1  # torch's pct_start 0.3
    start, end = peak / 25, peak / 25 / 1e4  # div_factor 25, final_div_factor 1e4

    def cosine(high: float, low: float, share: float) -> float:
        return low + (high - low) / 2 * (math.cos(math.pi * share) + 1)

    return [
        cosine(start, peak, step / warm_up_end)
        if step <= warm_up_end
        else cosine(peak, end, (step - warm_up_end) / (total_steps - 1 - warm_up_end))
        for step in range(total_steps)
    ]


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

    def __init__(self, problem: Problem):
        self.problem = problem

    def __call__(self, indices: torch.Tensor, first_step: int, losses: torch.Tensor) -> None:
        p = self.problem
        for group in p.optimizer.param_groups:
            group["lr"] = p.rates[first_step]
        images, labels = normalise(p.images.index_select(0, indices)), p.labels.index_select(0, indices)
        if p.augment is not None:
            images = augment(images, p.augment)
        loss = batch_loss(p.model, images, labels, p.amp)
        p.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        p.optimizer.step()
        losses[0] = loss.detach()


class GraphSteps:
    """Whole SGD steps (gather, forward, backward, update) captured as CUDA graphs and replayed.

    One graph holds `steps_per_call` consecutive steps, so a replay costs one launch for all their
    kernels; a one-step graph does an epoch's remainder. Every kernel a step can shed is shed: the
    images are normalised once for the whole set, a replay gathers all its batches with one
    `index_select`, each captured step reads its learning rate from its own slot of a static
    buffer, and the losses are stacked once per replay. Warm-up before capture changes the weights
    and momentum, so both are put back: the run matches the eager path.
    """

    steps_per_call = 32

    def __init__(self, problem: Problem):
        self.problem = p = problem
        device, chunk = p.images.device, self.steps_per_call * p.batch_size
        self.inputs = normalise(p.images)  # the same values `normalise` gives batch by batch
        self.rates = torch.tensor(p.rates, device=device)
        self.indices = torch.arange(chunk, device=device) % len(p.images)
        self.step_rates = torch.zeros(self.steps_per_call, device=device)
        self.losses = torch.zeros(self.steps_per_call, device=device)
        self.pixels = torch.empty((chunk, *self.inputs.shape[1:]), device=device)
        self.targets = torch.empty(chunk, dtype=p.labels.dtype, device=device)

        weights = copy.deepcopy(p.model.state_dict())
        momentum = {q: s["momentum_buffer"].clone() for q, s in p.optimizer.state.items() if "momentum_buffer" in s}
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                self._steps(1)
        torch.cuda.current_stream().wait_stream(side)
        self.graphs = {n: self._capture(n) for n in (1, self.steps_per_call)}
        with torch.no_grad():
            p.model.load_state_dict(weights)
            for q, state in p.optimizer.state.items():
                if q in momentum:
                    state["momentum_buffer"].copy_(momentum[q])
                elif "momentum_buffer" in state:
                    state["momentum_buffer"].zero_()  # updated by a first step, zero equals a fresh SGD's buffer

    def _steps(self, n: int) -> None:
        p, size = self.problem, n * self.problem.batch_size
        torch.index_select(self.inputs, 0, self.indices[:size], out=self.pixels[:size])
        torch.index_select(p.labels, 0, self.indices[:size], out=self.targets[:size])
        losses = []
        for k in range(n):
            batch = slice(k * p.batch_size, (k + 1) * p.batch_size)
            p.optimizer.zero_grad(set_to_none=True)  # backward allocates the gradients in the graph's pool
            loss = batch_loss(p.model, self.pixels[batch], self.targets[batch], p.amp)
            loss.backward()
            for group in p.optimizer.param_groups:
                group["lr"] = self.step_rates[k]  # a 0-d view: the captured update reads its slot at replay
            p.optimizer.step()
            losses.append(loss.detach())
        torch.stack(losses, out=self.losses[:n])

    def _capture(self, n: int) -> torch.cuda.CUDAGraph:
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self._steps(n)
        return graph

    def __call__(self, indices: torch.Tensor, first_step: int, losses: torch.Tensor) -> None:
        n, batch_size = len(losses), self.problem.batch_size
        if n == self.steps_per_call:
            self._replay(self.graphs[n], indices, first_step, losses)
        else:
            for k in range(n):
                batch = indices[k * batch_size : (k + 1) * batch_size]
                self._replay(self.graphs[1], batch, first_step + k, losses[k : k + 1])

    def _replay(
        self, graph: torch.cuda.CUDAGraph, indices: torch.Tensor, first_step: int, losses: torch.Tensor
    ) -> None:
        n = len(losses)
        self.indices[: len(indices)].copy_(indices)
        self.step_rates[:n].copy_(self.rates[first_step : first_step + n])
        graph.replay()
        losses.copy_(self.losses[:n])


def make_stepper(problem: Problem, cuda_graph: bool) -> Stepper:
    """CUDA graphs where they can run, else op by op (augmented batches too: their random draws stay
    outside a captured graph)."""
    graphs = cuda_graph and problem.images.device.type == "cuda" and problem.augment is None
    return GraphSteps(problem) if graphs else EagerSteps(problem)
