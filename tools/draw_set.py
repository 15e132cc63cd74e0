"""Draws the project's own set of handwritten digits in a real browser and saves it as a digit set.

    python tools/draw_set.py --out tests/data/drawn_digits.npz

Each digit 0-9 is drawn on the Sketch pad's canvas with the mouse, as strokes, in several hands:
as written, small, off-centre, slanted, thick (each stroke twice, side by side), large, and the
European 1, 4 and 7; each is labelled with "This is a" and added with "Add to my digits", then the
set is downloaded with "Download my digits": the digits are what the network saw of each drawing.
"""

import argparse
import itertools
import math
import sys
import tempfile
from pathlib import Path

from browser import IDLE, Server, draw, in_chromium, log_errors, report, wait_idle, watch

Stroke = list[tuple[float, float]]


def arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, points: int = 24) -> Stroke:
    """Degrees clockwise from the top, as a clock's hand turns on the screen."""
    return [
        (cx + rx * math.sin(math.radians(start + (end - start) * i / points)),
         cy - ry * math.cos(math.radians(start + (end - start) * i / points)))
        for i in range(points + 1)
    ]  # fmt: skip


def line(*corners: tuple[float, float], points: int = 8) -> Stroke:
    path = [corners[0]]
    for (x0, y0), (x1, y1) in itertools.pairwise(corners):
        path += [(x0 + (x1 - x0) * i / points, y0 + (y1 - y0) * i / points) for i in range(1, points + 1)]
    return path


# Strokes on the 280 x 280 canvas, the digit in the middle.
SHAPES: dict[str, list[Stroke]] = {
    "0": [arc(140, 140, 55, 90, 0, 360, 40)],
    "1": [line((140, 50), (140, 230))],
    "2": [arc(140, 105, 50, 50, -70, 100, 16) + line((185, 125), (90, 228), (195, 228))],
    "3": [arc(140, 92, 45, 42, -60, 180, 18), arc(140, 180, 50, 48, 0, 220, 18)],
    "4": [line((165, 50), (85, 170), (200, 170)), line((165, 95), (165, 235))],
    "5": [line((190, 55), (100, 55), (95, 130)) + arc(140, 175, 50, 52, -40, 230, 20)],
    "6": [line((175, 55), (120, 95), (96, 165)) + arc(140, 182, 45, 45, 270, 630, 28)],
    "7": [line((75, 60), (210, 60)), line((210, 60), (125, 230))],
    "8": [arc(140, 95, 40, 42, 0, 360, 28), arc(140, 185, 48, 46, 0, 360, 30)],
    "9": [arc(140, 100, 45, 45, 90, 450, 28), line((185, 100), (170, 232))],
}
EUROPEAN: dict[str, list[Stroke]] = {
    "1": [line((105, 95), (145, 50), (145, 230)), line((110, 230), (180, 230))],
    "4": [line((160, 50), (95, 165), (205, 165)), line((165, 120), (165, 235))],
    "7": [line((75, 60), (210, 60), (125, 230)), line((110, 145), (185, 145))],
}


def changed(strokes: list[Stroke], scale: float = 1, dx: float = 0, dy: float = 0, slant: float = 0) -> list[Stroke]:
    """Scaled about the centre, moved, and slanted (x leans right as y goes up)."""
    return [
        [(140 + (x - 140) * scale + slant * (140 - y) * scale + dx, 140 + (y - 140) * scale + dy) for x, y in stroke]
        for stroke in strokes
    ]


def thick(strokes: list[Stroke]) -> list[Stroke]:
    return strokes + changed(strokes, dx=9, dy=3)


HANDS = {
    "as written": lambda s: s,
    "small": lambda s: changed(s, scale=0.5),
    "off-centre": lambda s: changed(s, scale=0.7, dx=-45, dy=35),
    "slanted": lambda s: changed(s, scale=0.85, slant=0.35),
    "thick": thick,
    "large and slanted back": lambda s: changed(s, scale=1.1, slant=-0.2),
}


def drawings() -> list[tuple[str, str, list[Stroke]]]:
    """(label, hand, strokes) of every digit the set holds."""
    found = [(digit, hand, make(shape)) for hand, make in HANDS.items() for digit, shape in SHAPES.items()]
    return found + [(digit, "European", shape) for digit, shape in EUROPEAN.items()]


def choose(page, label: str, option: str) -> None:
    """Pick `option` in a Streamlit select box by typing it, as a keyboard user does."""
    box = page.get_by_role("combobox", name=label)
    box.click()
    box.fill(option)
    box.press("Enter")
    page.wait_for_selector(IDLE)


def run(browser, out: Path) -> dict:
    errors: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp))
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        try:
            page = context.new_page()
            watch(page, errors)
            page.goto(f"{server.url}/Sketch_pad")
            wait_idle(page, "Sketch pad")
            made = drawings()
            for number, (digit, _, strokes) in enumerate(made, start=1):
                clear = page.get_by_role("button", name="Clear my drawing")
                if clear.is_enabled():  # the digit before
                    clear.click()
                page.get_by_text("Nothing drawn yet: draw a digit.").wait_for(timeout=30_000)
                page.wait_for_selector(IDLE)
                draw(page, strokes)
                page.get_by_test_id("prediction").wait_for(timeout=30_000)
                page.wait_for_timeout(300)  # the last stroke's reading, not the first's
                page.wait_for_selector(IDLE)
                choose(page, "This is a", digit)
                page.get_by_role("button", name="Add to my digits").click()
                page.get_by_text(f"#{number}: a {digit}, read ").wait_for(timeout=30_000)
                page.wait_for_selector(IDLE)
            with page.expect_download() as download:
                page.get_by_role("button", name="Download my digits").click()
            download.value.save_as(out)
            accuracy = page.get_by_test_id("stMetricValue").first.inner_text()
        finally:
            context.close()
            log = server.stop()
    errors += log_errors(log)
    summary = {"digits": len(made), "pretrained_reads": accuracy, "out": str(out), "errors": errors}
    return report(summary, f"{len(made)} digits drawn into {out}; the pretrained model reads {accuracy} of them")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("tests/data/drawn_digits.npz"))
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    return in_chromium(run, args.out.resolve())


if __name__ == "__main__":
    sys.exit(1 if main()["errors"] else 0)
