"""The arithmetic of one unit as a person reads it: every number to 3 decimals, so the sums add up on
screen (to the last digit, give or take the rounding of each number shown)."""

from collections.abc import Callable
from html import escape

import torch

from lenet.arithmetic import PoolArithmetic, SoftmaxArithmetic, UnitArithmetic

LISTED = 8  # a linear unit's products listed one by one; the rest are summed in one line


def number(value: float) -> str:
    """To 3 decimals, with a true minus sign; a number that rounds to zero is 0.000, never "&minus;0.000"."""
    return f"{value + 0.0 if round(value, 3) else 0.0:.3f}".replace("-", "&minus;")


def term(value: float) -> str:
    """A number as a term of a sum: a negative one in brackets, so "+ (&minus;0.066)" reads as adding it."""
    return number(value) if value >= 0 else f"({number(value)})"


def _grid(values: torch.Tensor, title: str, marked: tuple[int, int] | None = None) -> str:
    """A small table of numbers: a window, a filter, their products."""
    rows = []
    for r, row in enumerate(values.tolist()):
        cells = "".join(f"<td{' class=won' if (r, c) == marked else ''}>{number(v)}</td>" for c, v in enumerate(row))
        rows.append(f"<tr>{cells}</tr>")
    return f"<figure class=grid><figcaption>{escape(title)}</figcaption><table>{''.join(rows)}</table></figure>"


ACTIVATION_WORDS = {
    "relu": ("F.relu", "max(0, {x})"),
    "tanh": ("torch.tanh", "tanh({x}), squashed into &minus;1..1"),
    "sigmoid": ("torch.sigmoid", "1 / (1 + e<sup>&minus;{x}</sup>), squashed into 0..1"),  # x as a term
}


def shown_sum(values: list[float]) -> float:
    """What a person gets adding the numbers as shown, each rounded to 3 decimals."""
    return sum(round(value, 3) for value in values)


def _result(name: str, value: float, activated: tuple[str, float] | None, terms: list[float] = ()) -> str:
    """The unit's total, and what its activation makes of it (`activated`: its name and the value it passed on).
    With `terms`, the numbers shown that add up to it: where their rounding does not, it says so."""
    line = f"<p class=total>{escape(name)} = <b data-testid=unit-total>{number(value)}</b></p>"
    if terms and number(shown_sum(terms)) != number(value):
        line += (
            f"<p class=note>The numbers above, each rounded to 3 decimals, add up to {number(shown_sum(terms))}; "
            f"unrounded, as <code>forward()</code> adds them, they make {value:.5f}.</p>".replace("-", "&minus;")
        )
    if activated is not None:
        function, after = activated
        call, formula = ACTIVATION_WORDS[function]
        line += (
            f"<p>then <code>{call}</code>: {formula.format(x=term(value))} = <b data-testid=unit-relu>"
            f"{number(after)}</b>{': below zero, so it passes nothing on' if function == 'relu' and value <= 0 else ''}"
            "</p>"
        )
    return line


def span(first: int, length: int) -> str:
    """Rows or columns `first`.. as a person reads them: "2 to 4", "&minus;1 to 1"."""
    return f"{first} to {first + length - 1}".replace("-", "&minus;")


def convolution(sum_: UnitArithmetic, activated: tuple[str, float] | None) -> str:
    """A convolution unit: per input channel its window, the filter, the products and their sum."""
    channel, row, col = sum_.index
    top, left = sum_.window
    rows, cols = sum_.inputs.shape[1:]
    blocks, sums = [], []
    for i in range(sum_.inputs.shape[0]):
        products = sum_.products[i]
        sums.append(float(products.sum()))
        about = "" if number(shown_sum(products.flatten().tolist())) == number(sums[-1]) else "&asymp; "
        blocks.append(
            f"<div class=channel data-testid=unit-channel><span class=which>input channel {i}</span>"
            + _grid(sum_.inputs[i], f"window, rows {span(top, rows)}, cols {span(left, cols)}")
            + "<span class=op>&times;</span>"
            + _grid(sum_.weights[i], f"filter {channel}, channel {i}")
            + "<span class=op>=</span>"
            + _grid(products, "products")
            + f"<span class=op>sum {about}<b data-testid=unit-part>{number(sums[-1])}</b></span></div>"
        )
    adding = " + ".join(term(s) for s in sums)
    edge = (
        " Where the window reaches past the map's edge, its inputs are the padding's zeros."
        if sum_.over_the_edge
        else ""
    )
    return (
        f"<p>Unit ({channel}, {row}, {col}) of <code>self.{sum_.layer}</code>: filter {channel} laid on the "
        f"window under it, each input times the weight on it, all summed, plus the filter's bias."
        f"{edge if sum_.over_the_edge else ''}</p>"
        + "".join(blocks)
        + f"<p class=sum>{adding} + bias <b data-testid=unit-bias>{term(sum_.bias)}</b></p>"
        + _result(f"{sum_.layer}[{channel}, {row}, {col}]", sum_.total, activated, [*sums, sum_.bias])
    )


def linear(sum_: UnitArithmetic, activated: tuple[str, float] | None, source: Callable[[int], str]) -> str:
    """A linear unit: its largest products one by one, the rest in one sum, plus the bias."""
    (unit,) = sum_.index
    top, rest = sum_.largest(LISTED)
    rows = "".join(
        f"<tr data-testid=unit-product><td>{escape(source(i))}</td><td>{number(x)}</td><td>{number(w)}</td>"
        f"<td>{number(p)}</td></tr>"
        for i, x, w, p in top
    )
    others = len(sum_.inputs) - len(top)
    rows += (
        f"<tr data-testid=unit-product><td>the other {others:,} inputs</td><td></td><td></td>"
        f"<td>{number(rest)}</td></tr>"
        f"<tr data-testid=unit-product><td>bias</td><td></td><td></td><td>{number(sum_.bias)}</td></tr>"
    )
    return (
        f"<p>Unit {unit} of <code>self.{sum_.layer}</code>: each of its {len(sum_.inputs):,} inputs times its own "
        f"weight, all summed, plus a bias. The {len(top)} largest products, then the rest:</p>"
        f"<table class=products><tr><th>input</th><th>value</th><th>weight</th><th>product</th></tr>{rows}</table>"
        + _result(f"{sum_.layer}[{unit}]", sum_.total, activated, [*(p for *_, p in top), rest, sum_.bias])
    )


def pool(arith: PoolArithmetic, index: tuple[int, int, int], source: str) -> str:
    channel, row, col = index
    top, left = arith.origin
    where = f"of {escape(source)}'s map {channel}, rows {top}-{top + 1}, cols {left}-{left + 1}"
    if arith.winner is None:
        adding = " + ".join(term(v) for v in arith.window.flatten().tolist())
        return (
            f"<p>Unit ({channel}, {row}, {col}) of <code>F.avg_pool2d(..., 2)</code>: the mean of a 2 x 2 window "
            f"{where}: the map halves in each direction.</p>"
            + _grid(arith.window, "window")
            + f"<p class=sum>({adding}) / 4</p>"
            + _result("the mean of the four", arith.value, None)
        )
    return (
        f"<p>Unit ({channel}, {row}, {col}) of <code>F.max_pool2d(..., 2)</code>: the largest of a 2 x 2 window "
        f"{where}. The other three are dropped: the map halves in each direction.</p>"
        + _grid(arith.window, "window", arith.winner)
        + _result(f"max of the four, at ({top + arith.winner[0]}, {left + arith.winner[1]})", arith.value, None)
    )


def flatten(unit: int, came_from: tuple[int, int, int], shape: tuple[int, int, int], value: float) -> str:
    channel, row, col = came_from
    channels, rows, cols = shape
    return (
        f"<p>Number {unit} of the {channels * rows * cols:,}: <code>torch.flatten(x, 1)</code> lays the "
        f"{channels} maps of {rows} x {cols} end to end, each row by row, so {channels} x {rows} x {cols} = "
        f"{channels * rows * cols:,}. Nothing is computed: it only moves.</p>"
        f"<p data-testid=unit-flatten>{unit} = {channel} x {rows * cols} + {row} x {cols} + {col}: map {channel}, "
        f"row {row}, col {col}</p>" + _result(f"x[{unit}]", value, None)
    )


def small(value: float) -> str:
    """A positive number too small for 4 decimals in powers of ten (2.1e&minus;06), not as 0.0000."""
    return f"{value:.4f}" if value >= 0.001 else f"{value:.1e}".replace("-", "&minus;")


def softmax(arith: SoftmaxArithmetic, picked: int) -> str:
    largest = float(arith.scores.max())
    rows = "".join(
        f"<tr{' class=won' if d == picked else ''} data-testid=unit-softmax><td>{d}</td><td>{number(s)}</td>"
        f"<td>{e:.4f}</td><td>{p:.2%}</td></tr>".replace(f"<td>{e:.4f}</td>", f"<td>{small(e)}</td>")
        for d, (s, e, p) in enumerate(
            zip(arith.scores.tolist(), arith.exps.tolist(), arith.probabilities.tolist(), strict=True)
        )
    )
    return (
        "<p>Softmax turns the ten scores into probabilities that add up to 100 %: e to the power of each score "
        f"(less the largest, {number(largest)}, so nothing overflows), each divided by their sum, "
        f"<b data-testid=unit-exp-sum>{arith.total:.4f}</b>. These are the Sketch pad's probabilities.</p>"
        "<table class=products><tr><th>digit</th><th>score</th><th>e^(score &minus; largest)</th>"
        f"<th>probability</th></tr>{rows}</table>"
    )


def pixel(row: int, col: int, value: float, ink: int | None, mean: float, std: float) -> str:
    if ink is None:
        return (
            f"<p>Pixel ({row}, {col}) of the input is in the 2-pixel border added around MNIST's 28 x 28: black, "
            f"0, normalised to (0 &minus; {mean}) / {std} = <b data-testid=unit-total>{number(value)}</b>.</p>"
        )
    return (
        f"<p>Pixel ({row}, {col}): ink {ink} of 255, normalised as MNIST's digits were: ({ink} / 255 &minus; "
        f"{mean}) / {std} = <b data-testid=unit-total>{number(value)}</b>. The background is negative, the "
        "ink up to +2.821.</p>"
    )
