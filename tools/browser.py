"""What the browser tests and the load test share: a real `streamlit run` server and Chromium's settings."""

import contextlib
import json
import math
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "artifacts" / "screenshots"
DOCS_SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
PAGES = {
    "": "Learn how a convolutional network is trained",
    "Train": "Train",
    "Architecture": "Architecture",
    "Sketch_pad": "Sketch pad",
}
# On a deep link Streamlit's frontend first asks for its endpoints below the page's path, gets a 404,
# then asks at the root. Those two probes are Streamlit's own; every other failed request counts.
STREAMLIT_PROBE = re.compile(r"/[A-Za-z_]+/_stcore/(health|host-config)$")


class Server:
    """`streamlit run app.py` on a free loopback port, stopped by its own pid; the learners' work is kept
    in `tmp`/store unless `env` says otherwise."""

    def __init__(self, tmp: Path, env: dict[str, str] | None = None):
        self.store = tmp / "store" / "learners.sqlite"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"streamlit-{self.port}.log"
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.headless",
                "true",
                "--server.address",
                "127.0.0.1",
                "--server.port",
                str(self.port),
            ],
            cwd=ROOT,
            env={**os.environ, "LENET_STORE_DIR": str(self.store.parent), **(env or {})},
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not start:\n{self.log.read_text()}") from None
                time.sleep(0.1)

    def rss_mb(self) -> float:
        """The server's resident memory, from /proc."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024

    def stop(self) -> str:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.log.read_text()


def assert_clean_log(log: str) -> None:
    problems = [line for line in log.splitlines() if re.search(r"Traceback|Error|Exception|Examining the path", line)]
    assert not problems, "server log:\n" + log


def watch(page, problems: list[str], name: str = "", strict: bool = True) -> "Requests":
    """Collect console errors, page errors and failed requests of `page` into `problems`; returns its
    requests in flight, to settle before the page is closed (closing aborts a lazy script on its way).

    `strict` also counts HTTP error responses and requests aborted by a navigation; the load test,
    which moves on before lazy scripts arrive, is not strict.
    """
    prefix = f"{name} " if name else ""

    def on_console(message) -> None:
        if message.type == "error" and not STREAMLIT_PROBE.search(message.location.get("url", "")):
            problems.append(f"{prefix}console: {message.text} ({message.location.get('url')})")

    def on_response(response) -> None:
        if response.status >= 400 and not (response.status == 404 and STREAMLIT_PROBE.search(response.url)):
            problems.append(f"{prefix}HTTP {response.status} {response.url}")

    def on_request_failed(request) -> None:
        if strict or request.failure != "net::ERR_ABORTED":
            problems.append(f"{prefix}request failed: {request.url} ({request.failure})")

    page.on("console", on_console)
    if strict:
        page.on("response", on_response)
    page.on("requestfailed", on_request_failed)
    page.on("pageerror", lambda error: problems.append(f"{prefix}page error: {error}"))
    return Requests(page)


def wait_idle(page, title: str) -> None:
    page.get_by_role("heading", name=title, level=1, exact=True).wait_for(timeout=60_000)
    page.wait_for_selector(IDLE, timeout=60_000)


# Strokes in canvas pixels (280 x 280): each a list of points drawn with the mouse button down.
DIGITS = {
    "1": [[(140, 40 + 10 * i) for i in range(21)]],
    "0": [[(140 + 55 * math.sin(2 * math.pi * i / 40), 140 - 90 * math.cos(2 * math.pi * i / 40)) for i in range(41)]],
    "7": [[(70 + 14 * i, 60) for i in range(11)], [(210 - 6 * i, 60 + 13 * i) for i in range(16)]],
}


def draw(page, strokes) -> None:
    box = page.get_by_test_id("sketch-pad").bounding_box()
    for stroke in strokes:
        page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y)
        page.mouse.up()


def draw_digit(page, strokes) -> None:
    """Draw `strokes` one by one, each read before the next, as a person draws: the page then shows what the
    model reads of them all (the pad sends each stroke as it ends, so a page idle after the first stroke's
    rerun may not have had the last one yet)."""
    for stroke in strokes:
        before = reading_shown(page)
        draw(page, [stroke])
        wait_for_reading_after(page, before)
        page.wait_for_selector(IDLE, timeout=60_000)


def reading_shown(page) -> str | None:
    """The picture of the digit as the network sees it, as the page shows it now (None before any)."""
    reading = page.locator('[data-testid="reading"] img')
    return reading.get_attribute("src") if reading.count() else None


def wait_for_reading_after(page, before: str | None) -> None:
    """Until the page shows a reading other than `before`: polled every 10 ms, for timing it."""
    page.wait_for_function(
        """before => {
            const img = document.querySelector('[data-testid="reading"] img');
            return img !== null && img.getAttribute('src') !== before;
        }""",
        arg=before,
        timeout=60_000,
        polling=10,
    )


class Requests:
    """The requests of a page still in flight, so a test can let lazily loaded scripts arrive before it
    navigates on (a navigation aborts them, and the browser tests count aborted requests as failures)."""

    def __init__(self, page):
        self.page, self.in_flight = page, 0
        page.on("request", lambda _: self._count(1))
        page.on("requestfinished", lambda _: self._count(-1))
        page.on("requestfailed", lambda _: self._count(-1))

    def _count(self, change: int) -> None:
        self.in_flight += change

    def settle(self, quiet_ms: int = 300, timeout_s: float = 15) -> None:
        deadline, quiet_since = time.monotonic() + timeout_s, None
        while time.monotonic() < deadline:
            if self.in_flight > 0:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= quiet_ms / 1000:
                return
            self.page.wait_for_timeout(50)
        raise AssertionError(f"{self.in_flight} requests still in flight after {timeout_s} s")


def in_chromium(scenario, *args) -> dict:
    """Run `scenario(browser, *args)` on a fresh Chromium; print its summary as the last line of stdout."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        summary = scenario(browser, *args)
        browser.close()
    print(json.dumps(summary))
    return summary


@contextlib.contextmanager
def page_of_a_fresh_server(path: str, width: int = 1280, title: str | None = None):
    """A page of a new server in a new Chromium, at `path` once it is idle; both gone afterwards."""
    import tempfile

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        server = Server(Path(tmp))
        try:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(f"{server.url}/{path}")
            wait_idle(page, title or path.replace("_", " "))
            yield page
            browser.close()
        finally:
            server.stop()


def log_errors(log: str) -> list[str]:
    """The lines of a server's log that tell of an error, as a scenario counts them."""
    return [f"server log: {line}" for line in log.splitlines() if "Traceback" in line or "Error" in line]


def report(summary: dict, line: str) -> dict:
    """Print a scenario's one-line result and every error it saw."""
    print(line)
    for error in summary["errors"]:
        print("  ", error)
    return summary


class Proxy:
    """A TCP relay on a free loopback port in front of a server, whose connections can be cut: a dropped
    Wi-Fi or a phone that put its tab to sleep, as the server sees it (the socket goes away)."""

    def __init__(self, port: int):
        self.target = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.down_until = 0.0
        self.lock = threading.Lock()
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def drop(self, seconds: float) -> None:
        """Close every connection now and refuse new ones for `seconds`."""
        with self.lock:
            self.down_until = time.monotonic() + seconds
            for connection in self.open:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            self.open.clear()

    def close(self) -> None:
        self.drop(0)
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            if time.monotonic() < self.down_until:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target))
            with self.lock:
                self.open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.close()


def record_slider(page, label: str = "Model at step") -> None:
    """Record, in the page itself, every value the slider labelled `label` shows, as often as the browser
    can: polling it from here, a round trip a reading, can miss a frame."""
    page.evaluate(
        """label => {
            window.sliderValues = [];
            clearInterval(window.sliderRecorder);
            window.sliderRecorder = setInterval(() => {
                const slider = [...document.querySelectorAll('[data-testid="stSlider"]')]
                    .find(element => element.innerText.includes(label))?.querySelector('input[type="range"]');
                const value = slider?.getAttribute('aria-valuetext');
                if (value && value !== window.sliderValues.at(-1)) window.sliderValues.push(value);
            }, 5);
        }""",
        label,
    )


def recorded_slider(page) -> list[str]:
    return page.evaluate("() => window.sliderValues")


def record_replay(page) -> None:
    """Record, in the page itself, every frame the Sketch pad's replay ("your digit through training")
    shows, by its title ("after 64 steps: ...", "now: ..."), as often as the browser can."""
    page.evaluate(
        r"""() => {
            window.replayFrames = [];
            clearInterval(window.replayRecorder);
            window.replayRecorder = setInterval(() => {
                const title = document.querySelector('.st-key-journey .gtitle')?.textContent;
                const frame = title?.match(/^(?:after ([\d,]+) steps|now):/);
                const name = frame && (frame[1] ?? 'now');
                if (name && name !== window.replayFrames.at(-1)) window.replayFrames.push(name);
            }, 5);
        }"""
    )


def recorded_replay(page) -> list[str]:
    return page.evaluate("() => window.replayFrames")


def play_replay(page, timeout_s: float) -> tuple[list[str], float]:
    """Press the replay's Play from its first frame: the frames shown until now (or `timeout_s`), and when
    now was reached (None if it was not)."""
    record_replay(page)
    page.locator(".st-key-journey").get_by_text("▶ Play").click()
    started = time.perf_counter()
    while (shown := recorded_replay(page))[-1:] != ["now"] and time.perf_counter() - started < timeout_s:
        page.wait_for_timeout(20)
    return shown, (time.perf_counter() - started) if shown[-1:] == ["now"] else None


@contextlib.contextmanager
def busy_core():
    """Another process keeping one core busy the whole time, as a shared server's neighbours do."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        spinner.kill()
        spinner.wait()


def set_training(page, images: str | None = None, epochs: int | None = None, batch_size: int | None = None) -> None:
    """Fill in the Train page's form as a person does: the choices picked, the epochs typed."""
    choices = [("Training images", images), ("Batch size", None if batch_size is None else str(batch_size))]
    for name, option in choices:
        if option is not None:
            page.get_by_role("combobox", name=name).click()
            page.get_by_role("option", name=option, exact=True).click()
            page.wait_for_selector(IDLE)
    if epochs is not None:
        field = page.get_by_label("Epochs", exact=True)
        field.fill(str(epochs))
        field.press("Enter")
        page.wait_for_selector(IDLE)
