"""HTML pieces for `st.markdown`: they show with the page's own message, no script to wait for."""

from html import escape

from lenet.network.inference import NO_ANSWER_BELOW

BAR_PX = 150  # the height of a 100 % bar
ANSWER, OTHERS = "rgb(33,102,172)", "rgb(146,197,222)"  # ColorBrewer's RdBu blues, as the pictures' "more"


def answer(probabilities: list[float]) -> int | None:
    """The digit the model answers, None while its likeliest is near chance (`NO_ANSWER_BELOW`)."""
    best = max(range(len(probabilities)), key=probabilities.__getitem__)
    return best if probabilities[best] >= NO_ANSWER_BELOW else None


def probability_bars(probabilities: list[float], testid: str = "probabilities") -> str:
    """Ten bars, the answer's dark blue, the others pale (no answer: all pale): red means less on every
    picture of the app, never "the answer". No plotly chart, so the first prediction of a session does
    not wait for plotly's script."""
    best = answer(probabilities)
    bars = []
    for digit, probability in enumerate(probabilities):
        label = "<1%" if 0 < probability < 0.005 else f"{probability:.0%}"
        colour = ANSWER if digit == best else OTHERS
        bars.append(
            "<div style='flex:1;display:flex;flex-direction:column;align-items:center;justify-content:flex-end'>"
            f"<div style='font-size:0.75rem;color:gray'>{label}</div>"
            f"<div data-testid='bar' title='{digit}: {probability:.2%}' "
            f"style='width:70%;height:{max(1, round(probability * BAR_PX))}px;background:{colour}'></div>"
            f"<div style='border-top:1px solid lightgray;width:100%;text-align:center'>{digit}</div></div>"
        )
    return f"<div data-testid='{testid}' style='display:flex;gap:2px;height:{BAR_PX + 50}px'>{''.join(bars)}</div>"


def under_pad(probabilities: list[float]) -> str:
    """The answer in one line under the drawing pad, shown only where the columns stack (a phone): the
    reading itself is then a screen further down, out of sight of the finger that drew."""
    best = answer(probabilities)
    said = (
        "No answer yet: every digit near 10%"
        if best is None
        else f"It reads <b>{best}</b>, {probabilities[best]:.0%} sure"
    )
    return f"<div class='under-pad' data-testid='under-pad'>{said}; below, what it sees and why.</div>"


def reading(digit_url: str, probabilities: list[float], whose: str, prefix: str = "") -> str:
    """The digit as the network sees it beside the predicted digit, wrapping onto two lines where the
    column is narrow (side by side in fixed-width columns they overlapped at 768-1280 px); a model with
    no answer yet (its likeliest digit near chance) says so instead of showing a big digit.
    `prefix` sets it apart from another such block on the page, in its test ids."""
    best = answer(probabilities)
    if best is not None:
        shown = (
            f"<div data-testid='{prefix}prediction' style='font-size:6rem;line-height:1;font-weight:700'>{best}</div>"
        )
        verdict = f"Prediction, {probabilities[best]:.0%} sure ({escape(whose)})"
    else:
        shown = (
            f"<div data-testid='{prefix}no-answer' style='font-size:1.5rem;line-height:1.2;font-weight:600'>"
            "No answer yet</div>"
        )
        verdict = (
            f"every digit between {min(probabilities):.0%} and {max(probabilities):.0%}, chance is 10 % "
            f"({escape(whose)})"
        )
    return (
        f"<div data-testid='{prefix}reading' style='display:flex;flex-wrap:wrap;align-items:center;gap:0.5rem 1.5rem'>"
        "<figure style='margin:0'>"
        f"<img src='{digit_url}' alt='the digit as the network sees it' "
        "style='display:block;width:140px;height:140px;max-width:none;object-fit:fill;image-rendering:pixelated'>"
        "<figcaption style='font-size:0.875rem;color:gray'>What the network sees (28 x 28)</figcaption></figure>"
        f"<div>{shown}"
        f"<div data-testid='{prefix}verdict' style='font-size:0.875rem;color:gray'>{verdict}</div></div></div>"
    )


def gallery(pictures: list[tuple[str, str]], size_px: int, testid: str) -> str:
    """Pictures (data URL, caption) in a row that wraps, each `size_px` square, pixels kept sharp."""
    figures = "".join(
        "<figure style='margin:0;text-align:center'>"
        f"<img src='{url}' alt='{escape(caption)}' style='display:block;width:{size_px}px;height:{size_px}px;"
        "max-width:none;object-fit:fill;image-rendering:pixelated'>"
        f"<figcaption style='font-size:0.8rem;color:gray;max-width:{max(size_px, 120)}px'>"
        f"{escape(caption)}</figcaption>"
        "</figure>"
        for url, caption in pictures
    )
    return f"<div data-testid='{testid}' style='display:flex;flex-wrap:wrap;gap:0.75rem 1rem'>{figures}</div>"


def comparison_table(columns: list[str], rows: list[tuple[str, list[str], bool]], testid: str) -> str:
    """Runs side by side, a column each; the rows where they differ marked and shaded, so the
    setting that changed stands out."""
    head = "".join(f"<th style='text-align:left;padding:2px 10px'>{escape(c)}</th>" for c in columns)
    body = []
    for what, values, differs in rows:
        style = "background:rgba(255,200,0,0.25);font-weight:600" if differs else ""
        mark = " ≠" if differs else ""
        cells = "".join(f"<td style='padding:2px 10px'>{escape(value)}</td>" for value in values)
        body.append(
            f"<tr data-differs='{str(differs).lower()}' style='{style}'>"
            f"<td style='padding:2px 10px;color:gray'>{escape(what)}{mark}</td>{cells}</tr>"
        )
    return (
        f"<div style='overflow-x:auto'><table data-testid='{testid}' style='border-collapse:collapse;font-size:0.9rem'>"
        f"<thead><tr><th></th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def confusion_table(confusion: list[list[int]], testid: str) -> str:
    """Counts of true digit (a row for each that occurs) against prediction; the right ones in bold."""
    head = "".join(f"<th style='padding:1px 6px'>{d}</th>" for d in range(10))
    rows = []
    for label, counts in enumerate(confusion):
        if not sum(counts):
            continue
        cells = "".join(
            f"<td style='padding:1px 6px;text-align:center;{'font-weight:700' if d == label else 'color:#d62728'}'>"
            f"{count or ''}</td>"
            for d, count in enumerate(counts)
        )
        rows.append(f"<tr><th style='padding:1px 6px'>{label}</th>{cells}</tr>")
    return (
        f"<table data-testid='{testid}' style='border-collapse:collapse;font-size:0.85rem'>"
        "<caption style='caption-side:top;text-align:left;color:gray'>"
        "a row per digit you drew, a column per answer</caption>"
        f"<thead><tr><th></th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


# Ten distinct colours (D3's, gold for its grey: grey is for the digits that never count; black vanished on a
# dark page), one per digit.
DIGIT_COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#d4a017", "#bcbd22", "#17becf",
)  # fmt: skip
STRONG = 0.05  # a digit whose probability passes this somewhere gets its colour and a legend entry
SWEEP_W, SWEEP_H, LEFT, RIGHT, TOP, BOTTOM = 480, 220, 40, 14, 28, 38  # drawn at most 640 px wide


def sweep_chart(values: list[float], probabilities: list[list[float]], current: float, label: str, unit: str) -> str:
    """Each digit's probability along one knob's range, as an inline SVG: no chart library to load
    (plotly's script delayed the first prediction of a browser tab by 0.8 s). A line per digit, those
    that never pass 5 % thin and grey, a dashed line where the knob is now."""
    low, high = values[0], values[-1]

    def x(value: float) -> float:
        return LEFT + (value - low) / ((high - low) or 1) * (SWEEP_W - LEFT - RIGHT)

    def y(probability: float) -> float:
        return SWEEP_H - BOTTOM - probability * (SWEEP_H - TOP - BOTTOM)

    parts = []
    for level in (0, 0.25, 0.5, 0.75, 1):
        parts.append(
            f"<line x1='{LEFT}' x2='{SWEEP_W - RIGHT}' y1='{y(level):.1f}' y2='{y(level):.1f}' stroke='#eee'/>"
            f"<text x='{LEFT - 6}' y='{y(level) + 4:.1f}' text-anchor='end' font-size='12' fill='gray'>"
            f"{level:.0%}</text>"
        )
    for i in range(5):
        value = low + i * (high - low) / 4
        parts.append(
            f"<text x='{x(value):.1f}' y='{SWEEP_H - BOTTOM + 16}' text-anchor='middle' font-size='12' fill='gray'>"
            f"{value:g}{escape(unit)}</text>"
        )
    parts.append(
        f"<text x='{(LEFT + SWEEP_W - RIGHT) / 2}' y='{SWEEP_H - 6}' text-anchor='middle' font-size='12' fill='gray'>"
        f"{escape(label)}</text>"
    )
    columns = list(zip(*probabilities, strict=True))
    strong = [digit for digit, column in enumerate(columns) if max(column) >= STRONG]
    for digit in sorted(range(len(columns)), key=lambda d: d in strong):  # the coloured lines on top
        points = " ".join(f"{x(v):.1f},{y(p):.1f}" for v, p in zip(values, columns[digit], strict=True))
        colour, width = (DIGIT_COLOURS[digit], 2.5) if digit in strong else ("lightgray", 1)
        parts.append(
            f"<polyline data-digit='{digit}' points='{points}' fill='none' stroke='{colour}' stroke-width='{width}'>"
            f"<title>{digit}</title></polyline>"
        )
    parts.append(
        f"<line data-testid='sweep-now' x1='{x(current):.1f}' x2='{x(current):.1f}' y1='{TOP}' y2='{SWEEP_H - BOTTOM}' "
        "stroke='gray' stroke-dasharray='4 3'/>"
    )
    above = 16 * ((len(strong) - 1) // 5)  # five to a row: the rows before the last go above the chart
    for n, digit in enumerate(strong):  # "▬ 1" read as "-1": a line, then the word
        at, y, colour = LEFT + 8 + 84 * (n % 5), 16 + 16 * (n // 5) - above, DIGIT_COLOURS[digit]
        parts.append(
            f"<line x1='{at}' x2='{at + 16}' y1='{y - 5}' y2='{y - 5}' stroke='{colour}' stroke-width='3'/>"
            f"<text x='{at + 21}' y='{y}' font-size='13' font-weight='bold' fill='{colour}'>digit {digit}</text>"
        )
    return (
        f"<div data-testid='sweep'><svg viewBox='0 {-above} {SWEEP_W} {SWEEP_H + above}' width='100%' "
        "style='max-width:640px' "
        f"role='img' aria-label='each digit&#39;s probability across {escape(label)}'>{''.join(parts)}</svg></div>"
    )


def colour_key(full_scale: float, less: str, more: str, diverging: bool = True) -> str:
    """The scale under a picture: what its colours mean and the value of full colour. One language on
    every page: blue is more (positive, for the digit, brighter), red is less, white nothing; a map of
    responses runs from black (none) to white (the strongest)."""
    ends = "rgb(178,24,43), #fff, rgb(33,102,172)" if diverging else "#000, #fff"
    low, high = (f"&minus;{full_scale:.3g}", f"+{full_scale:.3g}") if diverging else ("0", f"{full_scale:.3g}")
    return (
        "<div data-testid='colour-key' style='display:flex;flex-wrap:wrap;align-items:center;gap:4px 8px;"
        "font-size:0.8rem;color:gray;margin:0.25rem 0 0.75rem'>"
        f"<span>{low} {escape(less)}</span>"
        f"<span style='width:96px;height:10px;border:1px solid rgba(128,128,128,.5);background:linear-gradient("
        f"to right, {ends})'></span><span>{high} {escape(more)}</span></div>"
    )
