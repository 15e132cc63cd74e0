"""The time machine in a real browser: how long a scrub takes, and whether Play reaches now on time.

    python tools/play.py [--busy]

Trains a short run from scratch (2 epochs on 10,000 digits: 11 snapshots), draws a 7 on the Sketch
pad, moves the "model at step" slider between its ends with the keyboard (key press until the page
is idle again: the server's time plus the round trip and the browser's drawing), then presses the
replay's Play ("your digit through training", animated in the browser) and records, in the page,
every frame it shows. Play fails unless it shows every snapshot in order and then now, within
frames / 4 fps + 3 s. `--busy` keeps one core busy meanwhile, as a shared server's neighbours do.
The last line of stdout is one JSON object. Traffic goes to 127.0.0.1 only.
"""

import argparse
import contextlib
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from browser import (
    DIGITS,
    IDLE,
    Server,
    busy_core,
    draw_digit,
    in_chromium,
    log_errors,
    play_replay,
    report,
    set_training,
    wait_idle,
    watch,
)

# The snapshots of 2 epochs of 78 steps (10,000 digits at the fast preset's batch of 128): 0 and the
# powers of two, and each epoch's end (lenet.training.snapshots.plan); Play shows each in turn, then now.
FRAMES = ["0", "1", "2", "4", "8", "16", "32", "64", "78", "128", "156", "now"]
FRAMES_PER_S = 4
SLACK_S = 3.0


def deadline_s(frames: list[str]) -> float:
    """How long Play may take from its first frame to now."""
    return (len(frames) - 1) / FRAMES_PER_S + SLACK_S


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


def play_errors(frames: list[str], seconds: float | None, expected: list[str] = FRAMES) -> list[str]:
    """What went wrong with Play: it shows every snapshot in order, then now, in time; or it failed."""
    errors = []
    if frames != expected:
        shown = " ".join(frames) or "nothing"
        errors.append(f"Play showed {shown}, not every snapshot and then now ({' '.join(expected)})")
    if seconds is None:
        errors.append(f"Play did not reach now within {deadline_s(expected):.1f} s")
    elif seconds > deadline_s(expected):
        errors.append(f"Play took {seconds:.2f} s to reach now, more than {deadline_s(expected):.1f} s")
    return errors


def run(browser, scrubs: int, busy: bool) -> dict:
    errors: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp))
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        try:
            page = context.new_page()
            watch(page, errors)
            page.goto(f"{server.url}/Sketch_pad")
            wait_idle(page, "Sketch pad")
            draw_digit(page, DIGITS["7"])  # drawn first: the drawing stays through the run
            page.get_by_test_id("reading").wait_for(timeout=30_000)
            page.wait_for_selector(IDLE)
            page.get_by_test_id("stSidebarNav").get_by_text("Train", exact=True).click()
            wait_idle(page, "Train")
            train_a_short_run(page)
            page.get_by_test_id("stSidebarNav").get_by_text("Sketch pad", exact=True).click()
            wait_idle(page, "Sketch pad")
            page.locator(".st-key-journey .gtitle").wait_for(timeout=30_000)
            page.wait_for_selector(IDLE)
            with busy_core() if busy else contextlib.nullcontext():
                scrubs_s = scrub_seconds(page, scrubs)
                page.locator(".st-key-journey .gtitle").wait_for(timeout=30_000)
                page.wait_for_selector(IDLE)
                frames, seconds = play_replay(page, timeout_s=deadline_s(FRAMES) + 10)
            errors += play_errors(frames, seconds)
        finally:
            context.close()  # before the server stops: a page left open polls a server that is gone
            log = server.stop()
    errors += log_errors(log)
    summary = {
        "busy_core": busy,
        "scrub_seconds_median": round(statistics.median(scrubs_s), 3),
        "scrub_seconds_max": round(max(scrubs_s), 3),
        "play": {"frames": frames, "seconds_to_now": None if seconds is None else round(seconds, 2)},
        "errors": errors,
    }
    pace = f"{len(frames) - 1} frames to now in {seconds:.2f} s" if seconds is not None else "never reached now"
    return report(
        summary,
        f"scrub (key to idle page) median {summary['scrub_seconds_median']} s, "
        f"slowest {summary['scrub_seconds_max']} s; "
        f"Play{' with a busy core' if busy else ''}: {pace} (at most {deadline_s(FRAMES):.1f} s): {' '.join(frames)}; "
        f"{len(errors)} errors",
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scrubs", type=int, default=10)
    parser.add_argument("--busy", action="store_true", help="keep one core busy while scrubbing and playing")
    args = parser.parse_args(argv)
    return in_chromium(run, args.scrubs, args.busy)


if __name__ == "__main__":
    sys.exit(1 if main()["errors"] else 0)
