"""A class on one server: N learners open the shared link, visit every page and draw; K press Start.

    python tools/classroom.py --sessions 30 --starters 5

Every session opens the home page (the shared link), moves to Train, Architecture and the Sketch
pad through the sidebar and draws a digit; then K of them press Start within a few seconds while
the others keep moving between pages until every run has ended. Reports page times, the time from
mouse-up to prediction, each run's wait in line and training time, the server's RSS (idle, with
every session open, its peak, and after the sessions have closed and Streamlit's session TTL has
passed, against the idle server after one small run has paid the one-time costs of training) and
every error. The last line of stdout is one JSON object. Traffic goes to 127.0.0.1 only.
"""

import argparse
import itertools
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

from browser import IDLE, Server, in_chromium, log_errors, report, watch
from loadtest import TOUR, draw_and_read, open_page, spread, switch_page

RUN_LIMIT_S = 900  # the most the scenario waits for its runs to end


class RssSampler(threading.Thread):
    """The server's resident memory four times a second, for its peak."""

    def __init__(self, server: Server):
        super().__init__(daemon=True)
        self.server, self.peak, self.stopped = server, 0.0, threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.25):
            self.peak = max(self.peak, self.server.rss_mb())


def train_once(page) -> None:
    """A 1,000-image run, so the process pays its one-time costs of training (MNIST held in memory,
    torch's set-up) before the class: the server's RSS after it is the baseline for memory returned."""
    switch_page(page, "Train")
    choose_training_images(page, "1,000")
    page.get_by_role("button", name="Start", exact=True).click()
    page.get_by_text(re.compile(r"^trained \d+ epochs$")).wait_for(timeout=120_000)
    switch_page(page, "Sketch_pad")


def choose_training_images(page, choice: str) -> None:
    page.get_by_role("combobox", name="Training images").click()
    page.get_by_role("option", name=choice, exact=True).click()
    page.wait_for_selector(IDLE)


def run_state(page) -> str:
    """queued, training or ended, as the Train page of a starter shows it."""
    if page.get_by_text(re.compile(r"^trained \d+ epochs$")).count():
        return "ended"
    if page.get_by_text(re.compile(r"^training: epoch")).count():
        return "training"
    return "queued"


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time of these processes so far (/proc: clock ticks of 1/100 s)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended
        total += int(fields[11]) + int(fields[12])
    return total / 100


def chromium_pids() -> list[int]:
    """Chromium's processes on this machine: in this scenario they share the server's cores."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if "chrom" in (entry / "comm").read_text():
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def classroom(browser, sessions: int, starters: int, train_images: str, ttl: int) -> dict:
    errors: list[str] = []
    by_page: dict[str, list[float]] = {}
    draws: list[float] = []
    runs: list[dict] = []

    def visit(page, path: str) -> None:
        by_page.setdefault(path, []).append(switch_page(page, path))

    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp), env={"STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": str(ttl)})
        sampler = RssSampler(server)
        sampler.start()
        contexts, pages = [], []
        try:
            for i in range(sessions):
                contexts.append(browser.new_context(viewport={"width": 1200, "height": 900}))
                page = contexts[-1].new_page()
                watch(page, errors, f"session {i}", strict=False)
                by_page.setdefault("shared link", []).append(open_page(page, server.url, ""))
                for path in ("Train", "Architecture", "Sketch_pad"):  # the sidebar's order
                    visit(page, path)
                draws.append(draw_and_read(page, "071"[i % 3]))
                pages.append(page)
                if i == 0:
                    first_visits = {path: values.pop() for path, values in by_page.items()}  # torch's import...
                    draws.pop()
                    rss_idle = server.rss_mb()
                    train_once(page)
                    rss_idle_trained = server.rss_mb()
            rss_all_open = server.rss_mb()
            print(f"{sessions} sessions open: RSS {rss_all_open:.0f} MB ({rss_idle:.0f} MB with one)", flush=True)

            cpu_before = cpu_seconds([server.process.pid]), cpu_seconds(chromium_pids())
            for page in pages[:starters]:
                visit(page, "Train")
                choose_training_images(page, train_images)
                page.get_by_role("button", name="Start", exact=True).click()
                runs.append({"pressed": time.monotonic(), "training": None, "ended": None})
            others = itertools.cycle([(page, path) for page in pages[starters:] for path in TOUR] or [None])
            deadline = time.monotonic() + RUN_LIMIT_S
            while any(run["ended"] is None for run in runs) and time.monotonic() < deadline:
                for page, run in zip(pages, runs, strict=False):
                    state = run_state(page) if run["ended"] is None else "ended"
                    if state != "queued" and run["training"] is None:  # noticed within a round of visits
                        run["training"] = time.monotonic()
                    if state == "ended" and run["ended"] is None:
                        run["ended"] = time.monotonic()
                if (other := next(others)) is not None:
                    visit(*other)
                else:
                    time.sleep(0.5)
            rss_peak_open = sampler.peak
            cpu_server, cpu_chromium = cpu_seconds([server.process.pid]), cpu_seconds(chromium_pids())
            for i, page in enumerate(pages):
                if page.locator('[data-testid="stException"]').count():
                    errors.append(f"session {i}: exception box on {page.url}")
        finally:
            for context in contexts:
                context.close()
            closed = time.monotonic()
            time.sleep(ttl + 15)  # past the TTL, and the janitor's round after it
            rss_after = server.rss_mb()
            sampler.stopped.set()
            log = server.stop()
            store_bytes = sum(f.stat().st_size for f in server.store.parent.glob("learners.sqlite*"))
        errors += log_errors(log)

    summary = {
        "sessions": sessions,
        "starters": starters,
        "train_images": train_images,
        "session_ttl_s": ttl,
        "process_first_visits_seconds": {path: round(s, 2) for path, s in first_visits.items()},
        "page_seconds": {path: spread(values) for path, values in by_page.items()},
        "page_seconds_all": spread([s for values in by_page.values() for s in values]),
        "page_loads": sum(len(values) for values in by_page.values()),
        "mouse_up_to_prediction_seconds": spread(draws),
        "runs": [
            {
                "waited_s": round(run["training"] - run["pressed"], 1) if run["training"] else None,
                "trained_s": round(run["ended"] - run["training"], 1) if run["ended"] and run["training"] else None,
            }
            for run in runs
        ],
        # the class's throughput: from the first Start to the last run's end (the same work, however shared)
        "all_runs_ended_s": (
            round(max(run["ended"] for run in runs) - min(run["pressed"] for run in runs), 1)
            if runs and all(run["ended"] for run in runs)
            else None
        ),
        # CPU while the runs went on: the server's, and the 30 sessions' Chromium on the same cores
        "cpu_s_server_during_runs": round(cpu_server - cpu_before[0], 1),
        "cpu_s_chromium_during_runs": round(cpu_chromium - cpu_before[1], 1),
        "rss_mb_idle_one_session": round(rss_idle, 1),
        "rss_mb_idle_after_one_small_run": round(rss_idle_trained, 1),
        "rss_mb_all_sessions_open": round(rss_all_open, 1),
        "rss_mb_peak": round(max(sampler.peak, rss_peak_open), 1),
        "rss_mb_after_close": round(rss_after, 1),
        "seconds_after_close": round(time.monotonic() - closed, 1),
        "store_mb": round(store_bytes / 1e6, 1),  # the learners' work kept on disk, once the server has stopped
        "errors": errors,
    }
    return report(
        summary,
        f"{summary['page_loads']} page loads: {summary['page_seconds_all']}; draw -> prediction "
        f"{summary['mouse_up_to_prediction_seconds']}; runs {summary['runs']}, all ended after "
        f"{summary['all_runs_ended_s']} s (CPU: server {summary['cpu_s_server_during_runs']} s, Chromium "
        f"{summary['cpu_s_chromium_during_runs']} s); RSS idle {rss_idle:.0f} MB "
        f"({rss_idle_trained:.0f} MB once it has trained), "
        f"peak {summary['rss_mb_peak']:.0f} MB, after close {rss_after:.0f} MB; store {summary['store_mb']} MB; "
        f"{len(errors)} errors",
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--starters", type=int, default=5, help="sessions that press Start")
    parser.add_argument("--train-images", default="all 60,000", help="the Train page's choice: all 60,000, 10,000")
    parser.add_argument("--ttl", type=int, default=120, help="Streamlit's disconnected-session TTL, in seconds")
    args = parser.parse_args(argv)
    return in_chromium(classroom, args.sessions, args.starters, args.train_images, args.ttl)


if __name__ == "__main__":
    sys.exit(1 if main()["errors"] else 0)
