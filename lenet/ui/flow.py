"""Every step of forward() on one digit as a picture of its numbers: the stages the Architecture page
shows, laid out to fit a phone, made once per digit and model (the pick of a unit reuses them)."""

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lenet.network.anatomy import ACTIVATIONS, ForwardStep, forward_steps
from lenet.ui import pictures, session

WIDTH_PX = 340  # every picture fits a 390 px phone's column


@dataclass(frozen=True)
class Stage:
    """One step of forward() for one digit, laid out as tiles of cells."""

    kind: str  # input, conv, linear, activation (relu, tanh or sigmoid), pool, flatten, softmax
    module: str | None  # conv/linear: the module; activation: the module whose output it takes
    line: str  # its line of forward()
    call: str
    shape: list[int]  # the tensor's real shape, batch first
    tiles: torch.Tensor  # (tiles, rows, cols): a map per tile, or one strip of numbers
    columns: int  # tiles a row
    cell: int  # px a number

    @property
    def count(self) -> int:
        return math.prod(self.shape[1:])


def _strip(values: torch.Tensor, most: int = 24) -> torch.Tensor:
    """A vector as rows of at most `most` numbers, the longest row that divides it evenly (120 as 5 x 24)."""
    n = len(values)
    columns = next((c for c in range(min(n, most), most // 2 - 1, -1) if n % c == 0), min(n, most))
    padded = torch.full((-(-n // columns) * columns,), float("nan"))
    padded[:n] = values
    return padded.reshape(1, -1, columns)


HEIGHT_PX = 400  # a step's picture: at most about half a phone's screen


def _grid(count: int, rows: int, cols: int) -> tuple[int, int]:
    """(tiles a row, px a number) for `count` maps of rows x cols: the largest numbers that fit a phone's
    width in at most `HEIGHT_PX` (a pixel each when nothing else does); a strip's up to 28 px, to tap."""
    gap, most = pictures.GAP_PX, 8 if count > 1 else 28
    best = (min(count, 8), 1)
    for columns in range(1, count + 1):
        cell = min(most, (WIDTH_PX - gap * (columns - 1)) // (columns * cols))
        height = -(-count // columns) * (rows * cell + gap) - gap
        if cell >= 1 and height <= HEIGHT_PX and cell > best[1]:
            best = (columns, cell)
    return best


def _stage(kind: str, module: str | None, line: str, call: str, output: torch.Tensor) -> Stage:
    values = output[0].detach().float()
    tiles = values if values.dim() == 3 else _strip(values)
    columns, cell = _grid(*tiles.shape)
    return Stage(kind, module, line, call, list(output.shape), tiles, columns, cell)


def _flatten(step: ForwardStep, maps: torch.Tensor) -> Stage:
    """The flatten as a row per map (16 x 36 for the tutorial's network), or, where a map's numbers would not
    fit a phone's row, as one strip of them all, a pixel each."""
    rows, cols = maps.shape[2:]
    if rows * cols <= WIDTH_PX // 2:
        tiles, cell = maps.detach().flatten(2), min(8, WIDTH_PX // (rows * cols))
    else:
        tiles, cell = _strip(step.output[0].detach().float(), most=WIDTH_PX), 1
    return Stage("flatten", None, step.source, step.call, list(step.output.shape), tiles, 1, cell)


def stages(model: nn.Module, x: torch.Tensor) -> tuple[list[Stage], list[ForwardStep]]:
    """The input, every step forward() records, and the softmax the Sketch pad applies; and the steps."""
    steps = forward_steps(model, x)
    shown = [_stage("input", None, "def forward(self, x):", "input x", x)]
    for before, step in zip([None, *steps], steps, strict=False):
        if step.operation == "conv2d":
            kind, module = "conv", step.module
        elif step.operation == "linear":
            kind, module = "linear", step.module
        elif step.operation in ACTIVATIONS:
            kind, module = "activation", before.module
        elif step.operation == "flatten":
            shown.append(_flatten(step, before.output))
            continue
        else:
            kind, module = "pool", None
        shown.append(_stage(kind, module, step.source, step.call, step.output))
    probabilities = torch.softmax(steps[-1].output, dim=1)
    shown.append(_stage("softmax", None, "F.softmax(net(x), dim=1)", "the Sketch pad's probabilities", probabilities))
    return shown, steps


def png(stage: Stage, cell: int, tile: int | None = None) -> str:
    tiles = stage.tiles if tile is None else stage.tiles[tile : tile + 1]
    blank = tiles.isnan()
    grid = pictures.picture(
        tiles.nan_to_num(0.0),
        columns=1 if tile is not None else stage.columns,
        diverging=True,
        cell_px=cell,
        scale=pictures.full_scale(stage.tiles.nan_to_num(0.0)),
    )
    if blank.any():  # cells past the end of a strip: grey, not white (white is zero)
        grid[np.kron(blank[0].numpy(), np.ones((cell, cell), dtype=bool))] = (200, 200, 200)
    return pictures.data_url(grid)


@dataclass(frozen=True)
class Flow:
    """One digit through one model: the stages and their pictures, made once per digit and model."""

    stages: list[Stage]
    steps: list[ForwardStep]
    urls: list[str]
    x: torch.Tensor
    ink: torch.Tensor | None  # the (28, 28) digit, for a pixel's arithmetic


def flow(model: nn.Module, x: torch.Tensor, ink: torch.Tensor | None) -> Flow:
    def make() -> Flow:
        shown, steps = stages(model, x)
        return Flow(shown, steps, [png(stage, stage.cell) for stage in shown], x, ink)

    # keyed by the model itself, as the replay's cache is: the published copy and a snapshot's model are
    # replaced whole, never changed in place, so no digest of up to 6 MB of weights on every pick
    return session.last("forward_flow", (model, hashlib.sha1(x.numpy().tobytes()).hexdigest()), make)


def _note(stage: Stage) -> str:
    """How to read a picture whose layout is not one map per tile."""
    if stage.kind == "flatten":
        _, rows, cols = stage.tiles.shape
        return f"a row per map ({rows} maps of {cols} numbers)" if stage.cell > 1 else "one strip, a pixel a number"
    if stage.tiles.shape[0] == 1 and stage.kind != "input":
        return f"{stage.count} numbers, {stage.tiles.shape[2]} a row"
    return ""


def layout(stage: Stage, url: str) -> dict:
    count, rows, cols = stage.tiles.shape
    columns = min(stage.columns, count)
    digits = stage.count == 10 and stage.kind in ("linear", "activation", "softmax")  # a score or chance per digit
    return {
        "digits": digits,
        "note": _note(stage),
        "line": stage.line,
        "call": stage.call,
        "shape": str(stage.shape),
        "url": url,
        "count": count,
        "rows": rows,
        "cols": cols,
        "columns": columns,
        "cell": stage.cell,
        "gap": pictures.GAP_PX,
        "scale": f"{pictures.full_scale(stage.tiles.nan_to_num(0.0)):.3g}",
        "width": columns * (cols * stage.cell + pictures.GAP_PX) - pictures.GAP_PX,
        "height": -(-count // columns) * (rows * stage.cell + pictures.GAP_PX) - pictures.GAP_PX,
    }
