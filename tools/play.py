"""The time machine in a real browser: how long a scrub takes, and how fast Play goes.

    python tools/play.py

Trains a short run from scratch (2 epochs on 10,000 digits: 11 snapshots), draws a 7 on the Sketch
pad (or opens the Architecture page), then moves the "model at step" slider between its ends with
the keyboard (key press until the page is idle again: the server's time plus the round trip and
the browser's drawing), and presses Play, reading the slider 50 times a second to count the frames
shown. The last line of stdout is one JSON object. Traffic goes to 127.0.0.1 only.
"""

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from browser import (
    DIGITS,
    IDLE,
    PAGES,
    Server,
    draw,
    in_chromium,
    log_errors,
    record_slider,
    recorded_slider,
    report,
    set_training,
    wait_idle,
    watch,
)

# The snapshots of 2 epochs of 78 steps (10,000 digits at the fast preset's batch of 128): 0 and the
# powers of two, and each epoch's end (lenet.training.snapshots.plan); Play shows each in turn, then now.
FRAMES = ["0", "1", "2", "4", "8", "16", "32", "64", "78", "128", "156", "now"]


def train_a_short_run(page) -> None:
    set_training(page, images="10,000", epochs=2)
    page.get_by_role("button", name="Start", exact=True).click()
    page.get_by_text(re.compile(r"^Last run: completed")).wait_for(timeout=300_000)


def scrub_seconds(page, times: int) -> list[float]:
    slider = page.get_by_role("slider", name="Model at step")
    seconds = []
    for key in ["Home", "End"] * (times // 2):
        slider.focus()
        started = time.perf_counter()
        slider.press(key)
        page.wait_for_timeout(50)  # the rerun it asks for starts
        page.wait_for_selector(IDLE)
        seconds.append(time.perf_counter() - started)
    return seconds


def play(page) -> dict:
    """Press Play at step 0; the frames the slider shows (recorded in the page) until it is back at now."""
    slider = page.get_by_role("slider", name="Model at step")
    slider.focus()
    slider.press("Home")
    page.wait_for_selector(IDLE)
    record_slider(page)
    page.get_by_role("button", name="▶ Play").click()
    started = time.perf_counter()
    while (shown := recorded_slider(page))[-1:] != ["now"] and time.perf_counter() - started < 30:
        page.wait_for_timeout(20)
    seconds = time.perf_counter() - started
    frames = len(shown) - 1  # the steps after 0, and now
    return {"frames": shown, "seconds": round(seconds, 2),
            "frames_per_second": round(frames / seconds, 2) if frames else 0.0}  # fmt: skip


def play_errors(frames: list[str]) -> list[str]:
    """What went wrong with Play: it shows every snapshot in order, then now, or it failed."""
    if frames == FRAMES:
        return []
    return [f"Play showed {' '.join(frames)}, not every snapshot and then now ({' '.join(FRAMES)})"]


def run(browser, scrubs: int, path: str) -> dict:
    errors: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp))
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        try:
            page = context.new_page()
            watch(page, errors)
            page.goto(f"{server.url}/Train")
            wait_idle(page, "Train")
            train_a_short_run(page)
            page.get_by_test_id("stSidebarNav").get_by_text(PAGES[path], exact=True).click()
            wait_idle(page, PAGES[path])
            if path == "Sketch_pad":
                draw(page, DIGITS["7"])
                page.get_by_test_id("prediction").wait_for(timeout=30_000)
                page.wait_for_selector(IDLE)
            scrubs_s = scrub_seconds(page, scrubs)
            played = play(page)
            errors += play_errors(played["frames"])
        finally:
            context.close()  # before the server stops: a page left open polls a server that is gone
            log = server.stop()
    errors += log_errors(log)
    summary = {
        "page": path,
        "scrub_seconds_median": round(statistics.median(scrubs_s), 3),
        "scrub_seconds_max": round(max(scrubs_s), 3),
        "play": played,
        "errors": errors,
    }
    return report(
        summary,
        f"{path}: scrub (key to idle page) median {summary['scrub_seconds_median']} s, slowest "
        f"{summary['scrub_seconds_max']} s; Play: {len(played['frames']) - 1} frames in {played['seconds']} s "
        f"({played['frames_per_second']} a second): {' '.join(played['frames'])}; {len(errors)} errors",
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scrubs", type=int, default=10)
    parser.add_argument("--page", choices=["Sketch_pad", "Architecture"], default="Sketch_pad")
    args = parser.parse_args(argv)
    return in_chromium(run, args.scrubs, args.page)


if __name__ == "__main__":
    sys.exit(1 if main()["errors"] else 0)
