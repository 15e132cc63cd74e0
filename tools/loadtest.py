"""Load test: N browser sessions against one loopback server, K of them training, for a bounded time.

    python tools/loadtest.py --sessions 10 --training 3 --seconds 30

On the Sketch pad each session draws a digit, waits for its prediction and the "why" panel under
it, then opens the next of the other "why" tabs in turn.
Then each training session makes two short runs (one epoch on all 60,000 digits), one after the
other, each keeping its snapshots for the time machine.
Reports page response times (navigation until the page is idle), mouse-up to prediction, the
server's RSS, RSS per extra idle session, RSS per training session after its two runs, and every
error seen (console errors, failed requests, exception boxes, server log).
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
    PAGES,
    Server,
    draw,
    in_chromium,
    log_errors,
    reading_shown,
    report,
    wait_for_reading_after,
    wait_idle,
    watch,
)
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

TOUR = ["Architecture", "Sketch_pad", "Train"]


def server_slots(page) -> tuple[int, int]:
    """(training, waiting) as the sidebar of `page` reports them."""
    text = page.get_by_text(re.compile(r"^Server: \d+ of")).inner_text()
    busy, waiting = re.search(r"Server: (\d+) of \d+ training slots busy, (\d+) waiting", text).groups()
    return int(busy), int(waiting)


def open_page(page, url: str, path: str) -> float:
    """A new browser session on `path`: the full load of the app."""
    started = time.perf_counter()
    page.goto(f"{url}/{path}")
    wait_idle(page, PAGES[path])
    return time.perf_counter() - started


def switch_page(page, path: str) -> float:
    """A click in the sidebar's navigation, as a person moves around: the session and its run go on."""
    started = time.perf_counter()
    page.get_by_test_id("stSidebarNav").get_by_text(PAGES[path], exact=True).click()
    wait_idle(page, PAGES[path])
    return time.perf_counter() - started


def spread(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 2), "max": round(max(values), 2)} if values else {}


def draw_and_read(page, digit: str) -> float:
    """Draw `digit` on the Sketch pad: seconds from the last stroke's mouse-up to what the model reads of
    the whole digit (any digit, or "no answer yet": a model training from scratch may not read it yet),
    then waits for the "why" panel under it. The drawing of a visit before is still there: cleared
    first, as a learner would; a reading that came before the last mouse-up is never timed."""
    page.get_by_test_id("sketch-pad").scroll_into_view_if_needed()
    page.wait_for_selector(IDLE)
    reading = page.get_by_test_id("reading")
    if reading.count():
        page.get_by_role("button", name="Clear my drawing").click()
        reading.wait_for(state="detached", timeout=60_000)  # a drawing that stays fails the scenario
        page.wait_for_selector(IDLE, timeout=60_000)
    page.wait_for_timeout(300)
    *first, last = DIGITS[digit]
    draw(page, first)
    if first:  # the first strokes' reading: the last stroke's must replace it
        reading.wait_for(timeout=60_000)
        page.wait_for_selector(IDLE, timeout=60_000)
    before = reading_shown(page)
    draw(page, [last])
    started = time.perf_counter()
    wait_for_reading_after(page, before)
    seconds = time.perf_counter() - started
    page.get_by_test_id("attributions").wait_for(timeout=60_000)
    return seconds


WHY_TABS = {"What it finds alike": "alike", "What if": "whatif-reading", "Fool it": "fooled", "Teach it": "stCode"}


def open_why_tab(page, turn: int) -> None:
    """Each Sketch pad visit opens one more of the "why" tabs, in turn, and waits for what it shows."""
    tab, shows = list(WHY_TABS.items())[turn % len(WHY_TABS)]
    page.get_by_role("tab", name=tab, exact=True).click()
    page.get_by_test_id(shows).wait_for(timeout=60_000)


def two_runs_each(pages: list) -> float:
    """Each page's session trains one epoch twice, the runs queued for the server's slots; seconds it took."""
    started = time.monotonic()
    for page in pages:
        switch_page(page, "Train")
        epochs = page.get_by_label("Epochs", exact=True)
        epochs.fill("1")
        epochs.press("Enter")
    for _ in range(2):
        for page in pages:
            page.get_by_role("button", name="Start", exact=True).click()
            expect(page.get_by_role("button", name="Stop", exact=True)).to_be_enabled(timeout=60_000)
        for page in pages:
            expect(page.get_by_role("button", name="Start", exact=True)).to_be_enabled(timeout=300_000)
    return time.monotonic() - started


def pay_for_the_look_alikes(page) -> None:
    """Draw and wait for "What it finds alike": the process loads MNIST and works out the pretrained
    model's representations once, in the background; then the janitor's round gives back what that
    freed. Measured before the baseline, it is not counted against the sessions that follow."""
    switch_page(page, "Sketch_pad")
    draw_and_read(page, "7")
    open_why_tab(page, 0)
    switch_page(page, "Train")
    time.sleep(6)


def run(browser, sessions: int, training: int, seconds: float) -> dict:
    """The load test on an open Chromium: `sessions` contexts, `training` of them pressing Start."""
    errors: list[str] = []
    timings: list[float] = []
    by_page: dict[str, list[float]] = {}
    draws: list[float] = []

    def visit(page, path: str) -> None:
        timings.append(switch_page(page, path))
        by_page.setdefault(path, []).append(timings[-1])
        if path == "Sketch_pad":
            draws.append(draw_and_read(page, "071"[len(draws) % 3]))
            open_why_tab(page, len(draws))

    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp))
        contexts = []
        try:
            pages = []
            rss = [server.rss_mb()]
            for i in range(sessions):
                contexts.append(browser.new_context(viewport={"width": 1200, "height": 900}))
                page = contexts[-1].new_page()
                watch(page, errors, f"session {i}", strict=False)
                load_seconds = open_page(page, server.url, "Train")
                if i == 0:
                    first_page = load_seconds  # includes the server's one-time import of torch
                else:
                    timings.append(load_seconds)
                if i == 0:  # the first session pays the process's one-time costs before the baseline
                    process_first_visits = {path: round(switch_page(page, path), 2) for path in TOUR}
                    pay_for_the_look_alikes(page)
                pages.append(page)
                rss.append(server.rss_mb())
            per_idle_session = (rss[-1] - rss[1]) / max(1, sessions - 1)
            print(
                f"{sessions} idle sessions: server RSS {rss[-1]:.0f} MB "
                f"({rss[1]:.0f} MB with one, {per_idle_session:.2f} MB per extra session)"
            )

            for page in pages[:training]:
                page.get_by_role("button", name="Start", exact=True).click()
            browse_start = time.monotonic()
            deadline = browse_start + seconds
            while time.monotonic() < deadline:
                for page in pages:
                    for path in TOUR:
                        visit(page, path)
                        if time.monotonic() > deadline:
                            break
            browsed = time.monotonic() - browse_start
            rss_training = server.rss_mb()
            for i, page in enumerate(pages):
                if page.locator('[data-testid="stException"]').count():
                    errors.append(f"session {i}: exception box on {page.url}")
            visit(pages[0], "Train")
            training_now, waiting_now = server_slots(pages[0])
            for page in pages[:training]:
                visit(page, "Train")
                with contextlib.suppress(PlaywrightTimeout):  # disabled: that run had ended by itself
                    page.get_by_role("button", name="Stop", exact=True).click(timeout=5_000)
            two_runs_seconds = two_runs_each(pages[:training])
            time.sleep(6)  # the janitor gives back what the runs freed once none trains
            rss_two_runs = server.rss_mb()
            per_training_session = (rss_two_runs - rss[-1]) / max(1, training)
            print(
                f"after two more runs in each of {training} sessions ({two_runs_seconds:.0f} s): server RSS "
                f"{rss_two_runs:.0f} MB, {per_training_session:.2f} MB per training session over the idle sessions"
            )
        finally:
            for context in contexts:
                context.close()
            log = server.stop()
        errors += log_errors(log)

    summary = {
        "sessions": sessions,
        "training": training,
        "browse_seconds": round(browsed, 1),
        "first_page_seconds": round(first_page, 2),
        "process_first_visits_seconds": process_first_visits,
        "page_loads": len(timings),
        "page_seconds_median": round(statistics.median(timings), 2),
        "page_seconds_max": round(max(timings), 2),
        "page_seconds_max_by_page": {path: round(max(seconds), 2) for path, seconds in by_page.items()},
        "mouse_up_to_prediction_seconds": spread(draws),
        "rss_mb_one_session": round(rss[1], 1),
        "rss_mb_idle_sessions": round(rss[-1], 1),
        "rss_mb_per_extra_idle_session": round(per_idle_session, 2),
        "rss_mb_while_training": round(rss_training, 1),
        "rss_mb_after_two_runs_each": round(rss_two_runs, 1),
        "rss_mb_per_training_session_after_two_runs": round(per_training_session, 2),
        "slots_at_the_end": {"training": training_now, "waiting": waiting_now},
        "errors": errors,
    }
    return report(
        summary,
        f"{len(timings)} page loads in {browsed:.0f} s of browsing: "
        f"median {summary['page_seconds_median']} s, max {summary['page_seconds_max']} s; "
        f"mouse-up to prediction {summary['mouse_up_to_prediction_seconds']}; "
        f"RSS while {training} sessions train: {rss_training:.0f} MB; {len(errors)} errors",
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--training", type=int, default=3, help="sessions that press Start")
    parser.add_argument("--seconds", type=float, default=30, help="how long the sessions keep browsing")
    args = parser.parse_args(argv)
    return in_chromium(run, args.sessions, args.training, args.seconds)


if __name__ == "__main__":
    sys.exit(1 if main()["errors"] else 0)
