"""HTML pieces for `st.markdown`: they show with the page's own message, no script to wait for."""

from html import escape

BAR_PX = 150  # the height of a 100 % bar


def probability_bars(probabilities: list[float], testid: str = "probabilities") -> str:
    """Ten bars, the likeliest digit's in red: no plotly chart, so the first prediction of a session
    does not wait for plotly's script."""
    best = max(range(10), key=lambda digit: probabilities[digit])
    bars = []
    for digit, probability in enumerate(probabilities):
        label = "<1%" if 0 < probability < 0.005 else f"{probability:.0%}"
        colour = "rgb(239,85,59)" if digit == best else "rgb(99,110,250)"
        bars.append(
            "<div style='flex:1;display:flex;flex-direction:column;align-items:center;justify-content:flex-end'>"
            f"<div style='font-size:0.75rem;color:gray'>{label}</div>"
            f"<div data-testid='bar' title='{digit}: {probability:.2%}' "
            f"style='width:70%;height:{max(1, round(probability * BAR_PX))}px;background:{colour}'></div>"
            f"<div style='border-top:1px solid lightgray;width:100%;text-align:center'>{digit}</div></div>"
        )
    return f"<div data-testid='{testid}' style='display:flex;gap:2px;height:{BAR_PX + 50}px'>{''.join(bars)}</div>"


def reading(digit_url: str, prediction: int, verdict: str, prefix: str = "") -> str:
    """The digit as the network sees it beside the predicted digit, wrapping onto two lines where the
    column is narrow (side by side in fixed-width columns they overlapped at 768-1280 px).
    `prefix` sets it apart from another such block on the page, in its test ids."""
    return (
        f"<div data-testid='{prefix}reading' style='display:flex;flex-wrap:wrap;align-items:center;gap:0.5rem 1.5rem'>"
        "<figure style='margin:0'>"
        f"<img src='{digit_url}' alt='the digit as the network sees it' "
        "style='display:block;width:140px;height:140px;max-width:none;object-fit:fill;image-rendering:pixelated'>"
        "<figcaption style='font-size:0.875rem;color:gray'>What the network sees (28 x 28)</figcaption></figure>"
        f"<div><div data-testid='{prefix}prediction' style='font-size:6rem;line-height:1;font-weight:700'>"
        f"{prediction}</div>"
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
