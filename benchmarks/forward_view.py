"""Benchmark of "your digit through forward()" (the Architecture page): the server's work for the pictures
and for one pick, and a pick's round trip in Chromium, alone and with another process keeping a core busy.

    python -m benchmarks.forward_view [--picks 20]

Server: the pictures of every step for one digit (made once per digit and model), then per pick what the
page's fragment does again: the digest that finds the pictures, the unit's arithmetic, the enlarged map
and the message to the browser, for a unit of every step. Browser: a real server, the page at 1280 px,
`--picks` clicks on conv1 and fc3 units; from the click to the new arithmetic on screen. The budget
is 0.15 s of server time per pick. The last line of stdout is one JSON object.
"""

import argparse
import contextlib
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from lenet.network.data import load_mnist, to_network_input
from lenet.network.model import Net
from lenet.store.checkpoint import pretrained
from lenet.ui import flow, forward_view

sys.path.insert(0, str(Path(__file__).parents[1] / "tools"))


def timed(make, repeats: int = 20) -> tuple[float, object]:
    seconds, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = make()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def server_work() -> dict:
    model = Net()
    model.load_state_dict(pretrained().weights)
    model.eval()
    ink = load_mnist().test_images[0, 0, 2:-2, 2:-2]
    x = to_network_input(ink[None])

    def pictures() -> flow.Flow:
        shown, steps = flow.stages(model, x)
        return flow.Flow(shown, steps, [flow.png(stage, stage.cell) for stage in shown], x, ink)

    cold, made = timed(pictures)
    digest, _ = timed(lambda: flow._digest(model, x))
    picks = {}
    for s, stage in enumerate(made.stages):
        count, rows, cols = stage.tiles.shape
        pick = (s, count - 1, rows // 2, cols // 2)

        def one(stage: flow.Stage = stage, pick: tuple[int, int, int, int] = pick) -> str:
            html, marks = forward_view.explain(model, made, pick)
            zoom = flow.png(stage, 10, pick[1]) if stage.cell < 12 else ""
            layouts = [flow.layout(st, url) for st, url in zip(made.stages, made.urls, strict=True)]
            return json.dumps({"stages": layouts, "zoom": zoom, "marks": [vars(m) for m in marks], "detail": html})

        seconds, message = timed(one)
        picks[stage.call if stage.kind != "relu" else f"relu after {stage.module}"] = (seconds, len(message))
    slowest = max(seconds for seconds, _ in picks.values())
    print(f"pictures of every step, once per digit and model: {cold * 1000:.1f} ms")
    print(f"per pick: digest {digest * 1000:.2f} ms; then, by step (arithmetic, enlarged map, message):")
    for name, (seconds, size) in picks.items():
        print(f"  {name:<28} {seconds * 1000:6.2f} ms, message {size / 1024:.0f} KB")
    print(f"slowest pick: {(digest + slowest) * 1000:.1f} ms of the 150 ms budget")
    return {
        "pictures_ms": round(cold * 1000, 1),
        "pick_ms_slowest": round((digest + slowest) * 1000, 2),
        "message_kb": round(max(size for _, size in picks.values()) / 1024),
    }


def round_trips(picks: int, busy: bool) -> list[float]:
    from browser import busy_core, page_of_a_fresh_server

    seconds = []
    with page_of_a_fresh_server("Architecture") as page:
        view = page.get_by_test_id("forward-view")
        detail = "v => v.querySelector('[data-testid=unit-arithmetic] .detail').innerText"
        with busy_core() if busy else contextlib.nullcontext():
            for i in range(picks):
                stage, x_frac = (1, 0.1 + 0.8 * (i % 10) / 10) if i % 2 == 0 else (12, (i % 10 + 0.5) / 10)
                picture = view.locator("section.stage").nth(stage).locator(".picture")
                picture.scroll_into_view_if_needed()
                box = picture.bounding_box()
                before = view.evaluate(detail)
                started = time.perf_counter()
                picture.click(position={"x": box["width"] * x_frac, "y": box["height"] * 0.3})
                while view.evaluate(detail) == before:
                    if time.perf_counter() - started > 30:
                        raise RuntimeError(f"pick {i} was never answered: the measure failed")
                    time.sleep(0.005)
                seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--picks", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    figures = server_work()
    for busy in (False, True):
        trips = round_trips(args.picks, busy)
        name = "with a busy core" if busy else "alone"
        print(
            f"click to arithmetic on screen, {name}: median {statistics.median(trips) * 1000:.0f} ms, "
            f"slowest {max(trips) * 1000:.0f} ms ({len(trips)} picks)"
        )
        figures[f"round_trip_ms_{'busy' if busy else 'alone'}"] = [
            round(statistics.median(trips) * 1000),
            round(max(trips) * 1000),
        ]
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
